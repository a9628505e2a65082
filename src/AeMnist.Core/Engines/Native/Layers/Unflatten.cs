// Views each sample as (C, H, W), as nn.Unflatten(1, (C, H, W)); the data is passed through untouched.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, any with C*H*W elements) -> output (N, C, H, W)
public sealed class Unflatten : Module
{
    private TensorShape? _inputShape;

    public Unflatten(int channels, int height, int width)
    {
        if (channels < 1 || height < 1 || width < 1)
            throw new ArgumentOutOfRangeException(nameof(channels), $"Unflatten(1, ({channels}, {height}, {width})) needs positive sizes.");
        Channels = channels;
        Height = height;
        Width = width;
    }

    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }

    public override TensorShape OutputShape(TensorShape input)
    {
        var output = new TensorShape(input.N, Channels, Height, Width);
        if (output.SampleLength != input.SampleLength)
            throw new ArgumentException($"Cannot reshape {input} to {output}: {input.SampleLength} != {output.SampleLength} elements per sample.");
        return output;
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        CheckInput(input, shape);
        OutputShape(shape);
        _inputShape = shape;
        return input;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        CheckBackward(dOutput, _inputShape);
        return computeInputGradient ? dOutput : [];
    }
}
