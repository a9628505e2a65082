// Views (N, C, H, W) as (N, C*H*W), as nn.Flatten(); the data is passed through untouched.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, C, H, W) -> output (N, C*H*W)
public sealed class Flatten : Module
{
    private TensorShape? _inputShape;

    public override TensorShape OutputShape(TensorShape input) => TensorShape.Dense(input.N, input.SampleLength);

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        CheckInput(input, shape);
        _inputShape = shape;
        return input;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        CheckBackward(dOutput, _inputShape);
        return computeInputGradient ? dOutput : [];
    }
}
