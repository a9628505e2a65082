// The shared Forward/Backward of element-wise activations whose gradient depends only on their output
// (ReLU, Sigmoid): the output is cached and handed to the derivative kernel.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, C, H, W) -> output (N, C, H, W)
public abstract class Activation : Module
{
    private float[] _output = [];  // Forward's output, kept for Backward
    private float[] _dInput = [];
    private TensorShape? _inputShape;

    /// <summary>output = f(input), element-wise.</summary>
    protected abstract void Apply(ReadOnlySpan<float> input, Span<float> output);

    /// <summary>dInput = dOutput * f'(input), written in terms of output = f(input).</summary>
    protected abstract void ApplyBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput);

    public override TensorShape OutputShape(TensorShape input) => input;

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        CheckInput(input, shape);
        Span<float> output = RentOutput(ref _output, input, input.Length);
        Apply(input, output);
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        CheckBackward(dOutput, _inputShape);
        if (!computeInputGradient) return [];
        Span<float> dInput = RentInputGradient(ref _dInput, dOutput, dOutput.Length);
        ApplyBackward(Buffers.View(_output, dOutput.Length), dOutput, dInput);
        return dInput;
    }
}
