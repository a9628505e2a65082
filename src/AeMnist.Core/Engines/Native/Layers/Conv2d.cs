// A 2-D convolution as nn.Conv2d (square kernel, one stride and padding, no dilation or groups) on NCHW tensors,
// via im2col + GEMM over the whole batch at once: the columns of every image sit side by side, so one GEMM of
// (Cout, Cin*K*K) x (Cin*K*K, N*Ho*Wo) convolves the batch (the shape where a GEMM runs near the FMA peak).
// The engine uses InterleavedConv2d instead where the layout allows it (stride 1, no padding).
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, Cin, H, W), weight (Cout, Cin, K, K), bias (Cout) -> output (N, Cout, Ho, Wo), Ho = (H + 2P - K)/S + 1
public sealed class Conv2d : ConvModule
{
    private float[] _columns = [];   // Forward's im2col of the batch (Cin*K*K, N*Ho*Wo), kept for dWeight
    private float[] _product = [];   // W·columns (Cout, N*Ho*Wo); in Backward dOutput in that layout
    private float[] _output = [];
    private float[] _dColumns = [];  // (Cin*K*K, N*Ho*Wo)
    private float[] _dInput = [];
    private TensorShape? _inputShape;

    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0)
        : base(transposed: false, inChannels, outChannels, kernelSize, stride, padding, outputPadding: 0)
    {
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        CheckInput(input, shape);
        ConvGeometry g = Geometry(shape);
        int n = shape.N, positions = n * g.ColumnCols;
        Span<float> columns = Rent(ref _columns, g.ColumnRows * positions);
        Span<float> product = Rent(ref _product, OutChannels * positions);
        Span<float> output = RentOutput(ref _output, input, OutChannels * positions);
        Im2Col.UnfoldBatch(input, n, columns, g);
        Gemm.MatMul(Weight.Data, columns, product, OutChannels, g.ColumnRows, positions);
        Im2Col.SwapLeadingAxes(product, output, OutChannels, n, g.ColumnCols);
        Elementwise.AddChannelBias(Bias.Data, output, n, g.ColumnCols);
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        TensorShape shape = CheckBackward(dOutput, _inputShape);
        ConvGeometry g = Geometry(shape);
        int n = shape.N, positions = n * g.ColumnCols;
        Span<float> dProduct = Rent(ref _product, OutChannels * positions);
        Im2Col.SwapLeadingAxes(dOutput, dProduct, n, OutChannels, g.ColumnCols);
        Gemm.RowDots(dProduct, Buffers.View(_columns, g.ColumnRows * positions), Weight.Grad, OutChannels, positions, g.ColumnRows, accumulate: true);
        Reductions.SumChannels(dOutput, Bias.Grad, n, g.ColumnCols);
        if (!computeInputGradient) return [];
        Span<float> dColumns = Rent(ref _dColumns, g.ColumnRows * positions);
        Span<float> dInput = RentInputGradient(ref _dInput, dOutput, n * g.ImageLength);
        Gemm.MatMulTransposeA(Weight.Data, dProduct, dColumns, g.ColumnRows, OutChannels, positions);
        Im2Col.FoldBatch(dColumns, n, dInput, g);
        return dInput;
    }
}
