// Views each sample as (C, H, W), as nn.Unflatten(1, (C, H, W)); on rows the data is passed through untouched. In the
// lanes layout it moves the rows from PyTorch's (C, H, W) order into the layout's (H*W, C).
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, any with C*H*W elements) -> output (N, C, H, W); lanes: input (C*H*W, L) -> output (H*W, C, L)
public sealed class Unflatten : Module
{
    private readonly bool _lanes;
    private TensorShape? _inputShape;
    private float[] _output = [];
    private float[] _dInput = [];
    private int[] _order = [];        // lanes: the destination row of each input row
    private int[] _inverse = [];

    public Unflatten(int channels, int height, int width, bool lanes = false)
    {
        if (channels < 1 || height < 1 || width < 1)
            throw new ArgumentOutOfRangeException(nameof(channels), $"Unflatten(1, ({channels}, {height}, {width})) needs positive sizes.");
        Channels = channels;
        Height = height;
        Width = width;
        _lanes = lanes;
    }

    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>
    /// Lanes only: the batch norm before this layer already writes its rows in this layer's order (and reads the gradient
    /// in it), so this layer passes its data through.
    /// </summary>
    internal bool OrderFolded { get; set; }

    public override TensorShape OutputShape(TensorShape input)
    {
        var output = new TensorShape(input.N, Channels, Height, Width);
        if (output.SampleLength != input.SampleLength)
            throw new ArgumentException($"Cannot reshape {input} to {output}: {input.SampleLength} != {output.SampleLength} elements per sample.");
        return output;
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        OutputShape(shape);
        _inputShape = shape;
        if (!_lanes)
        {
            CheckInput(input, shape);
            return input;
        }
        int l = CheckLanes(input, shape);
        if (OrderFolded) return input;
        if (_order.Length == 0)
        {
            _inverse = Lanes.ChannelsFirstOrder(Channels, Height * Width);
            _order = Lanes.Inverse(_inverse);
        }
        Span<float> output = RentOutput(ref _output, input, input.Length);
        Lanes.PermuteRows(input, _order, output, l);
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        if (!_lanes)
        {
            CheckBackward(dOutput, _inputShape);
            return computeInputGradient ? dOutput : [];
        }
        TensorShape shape = _inputShape ?? throw new InvalidOperationException("Unflatten.Backward called before Forward.");
        int l = Lanes.Padded(shape.N);
        if (dOutput.Length != shape.SampleLength * l) throw new ArgumentException($"dOutput has {dOutput.Length} elements, expected {shape.SampleLength * l}.", nameof(dOutput));
        if (!computeInputGradient) return [];
        if (OrderFolded) return dOutput;
        Span<float> dInput = RentInputGradient(ref _dInput, dOutput, dOutput.Length);
        Lanes.PermuteRows(dOutput, _inverse, dInput, l);
        return dInput;
    }
}
