// max(x, 0) as nn.ReLU; its own output doubles as the mask Backward needs.
using AeMnist.Tensors;

namespace AeMnist.Layers;

// input (N, C, H, W) -> output (N, C, H, W)
public sealed class ReLU : Module
{
    private float[] _output = [];  // Forward's output, kept as the mask (output > 0) for Backward
    private float[] _dInput = [];
    private TensorShape? _inputShape;

    public override TensorShape OutputShape(TensorShape input) => input;

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        CheckInput(input, shape);
        Span<float> output = Rent(ref _output, input.Length);
        Elementwise.Relu(input, output);
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        CheckBackward(dOutput, _inputShape);
        if (!computeInputGradient) return [];
        Span<float> dInput = Rent(ref _dInput, dOutput.Length);
        Elementwise.ReluBackward(_output.AsSpan(0, dOutput.Length), dOutput, dInput);
        return dInput;
    }
}
