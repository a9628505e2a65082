// 1 / (1 + exp(-x)) as nn.Sigmoid; Backward uses the cached output, y(1 - y).
using AeMnist.Tensors;

namespace AeMnist.Layers;

// input (N, C, H, W) -> output (N, C, H, W)
public sealed class Sigmoid : Module
{
    private float[] _output = [];  // Forward's output, kept for dInput = dOutput * (1 - output) * output
    private float[] _dInput = [];
    private TensorShape? _inputShape;

    public override TensorShape OutputShape(TensorShape input) => input;

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        CheckInput(input, shape);
        Span<float> output = Rent(ref _output, input.Length);
        Elementwise.Sigmoid(input, output);
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        CheckBackward(dOutput, _inputShape);
        if (!computeInputGradient) return [];
        Span<float> dInput = Rent(ref _dInput, dOutput.Length);
        Elementwise.SigmoidBackward(_output.AsSpan(0, dOutput.Length), dOutput, dInput);
        return dInput;
    }
}
