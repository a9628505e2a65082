// A layer that passes its input through: where the Network has folded a layer into the one before it (a ReLU into
// the batch norm before it, in the lanes layout), this keeps the spec's layer indices and names.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, C, H, W) -> output (N, C, H, W), the same floats
public sealed class Identity : Module
{
    public override TensorShape OutputShape(TensorShape input) => input;

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape) => input;

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient) => computeInputGradient ? dOutput : [];
}
