// Views (N, C, H, W) as (N, C*H*W), as nn.Flatten(); on rows the data is passed through untouched. In the lanes layout,
// whose image rows are (H*W, C), it moves the rows into PyTorch's (C, H, W) order, so Linear's weight needs no permuting.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, C, H, W) -> output (N, C*H*W); lanes: input (H*W, C, L) -> output (C*H*W, L)
public sealed class Flatten(bool lanes = false) : Module
{
    private TensorShape? _inputShape;
    private float[] _output = [];
    private float[] _dInput = [];
    private int[] _order = [];        // lanes: the destination row of each input row
    private int[] _inverse = [];
    private (int C, int P) _orderShape;

    /// <summary>
    /// Lanes only: the batch norm before this layer already writes its rows in this layer's order (and reads the gradient
    /// in it), so this layer passes its data through.
    /// </summary>
    internal bool OrderFolded { get; set; }

    public override TensorShape OutputShape(TensorShape input) => TensorShape.Dense(input.N, input.SampleLength);

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        _inputShape = shape;
        if (!lanes)
        {
            CheckInput(input, shape);
            return input;
        }
        int l = CheckLanes(input, shape);
        if (OrderFolded) return input;
        if (_orderShape != (shape.C, shape.H * shape.W))
        {
            _order = Lanes.ChannelsFirstOrder(shape.C, shape.H * shape.W);
            _inverse = Lanes.Inverse(_order);
            _orderShape = (shape.C, shape.H * shape.W);
        }
        Span<float> output = RentOutput(ref _output, input, input.Length);
        Lanes.PermuteRows(input, _order, output, l);
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        if (!lanes)
        {
            CheckBackward(dOutput, _inputShape);
            return computeInputGradient ? dOutput : [];
        }
        TensorShape shape = _inputShape ?? throw new InvalidOperationException("Flatten.Backward called before Forward.");
        int l = Lanes.Padded(shape.N);
        if (dOutput.Length != shape.SampleLength * l) throw new ArgumentException($"dOutput has {dOutput.Length} elements, expected {shape.SampleLength * l}.", nameof(dOutput));
        if (!computeInputGradient) return [];
        if (OrderFolded) return dOutput;
        Span<float> dInput = RentInputGradient(ref _dInput, dOutput, dOutput.Length);
        Lanes.PermuteRows(dOutput, _inverse, dInput, l);
        return dInput;
    }
}
