// A transposed 2-D convolution as nn.ConvTranspose2d (square kernel, no dilation or groups) on NCHW tensors: the
// adjoint of Conv2d, computed as one GEMM over the whole batch + col2im. The engine uses InterleavedConvTranspose2d where the layout allows it.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, Cin, H, W), weight (Cin, Cout, K, K), bias (Cout) -> output (N, Cout, Ho, Wo), Ho = (H - 1)*S - 2P + K + OutputPadding
public sealed class ConvTranspose2d : ConvModule
{
    private float[] _input = [];     // Forward's input as (Cin, N*H*W), kept for dWeight
    private float[] _columns = [];   // the batch's columns (Cout*K*K, N*H*W), scratch for Forward and Backward
    private float[] _dInputT = [];   // dInput as (Cin, N*H*W)
    private float[] _output = [];
    private float[] _dInput = [];
    private TensorShape? _inputShape;

    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0)
        : base(transposed: true, inChannels, outChannels, kernelSize, stride, padding, outputPadding)
    {
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        CheckInput(input, shape);
        ConvGeometry g = Geometry(shape);
        int n = shape.N, positions = n * g.ColumnCols;
        Span<float> inputT = Rent(ref _input, input.Length);
        Im2Col.SwapLeadingAxes(input, inputT, n, InChannels, g.ColumnCols);
        Span<float> columns = Rent(ref _columns, g.ColumnRows * positions);
        Span<float> output = RentOutput(ref _output, input, n * g.ImageLength);
        Gemm.MatMulTransposeA(Weight.Data, inputT, columns, g.ColumnRows, InChannels, positions);
        Im2Col.FoldBatch(columns, n, output, g);
        Elementwise.AddChannelBias(Bias.Data, output, n, g.Height * g.Width);
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        TensorShape shape = CheckBackward(dOutput, _inputShape);
        ConvGeometry g = Geometry(shape);
        int n = shape.N, positions = n * g.ColumnCols;
        Span<float> dColumns = Rent(ref _columns, g.ColumnRows * positions);
        Im2Col.UnfoldBatch(dOutput, n, dColumns, g);
        Gemm.RowDots(Buffers.View(_input, InChannels * positions), dColumns, Weight.Grad, InChannels, positions, g.ColumnRows, accumulate: true);
        Reductions.SumChannels(dOutput, Bias.Grad, n, g.Height * g.Width);
        if (!computeInputGradient) return [];
        Span<float> dInputT = Rent(ref _dInputT, InChannels * positions);
        Span<float> dInput = RentInputGradient(ref _dInput, dOutput, InChannels * positions);
        Gemm.MatMul(Weight.Data, dColumns, dInputT, InChannels, g.ColumnRows, positions);
        Im2Col.SwapLeadingAxes(dInputT, dInput, InChannels, n, g.ColumnCols);
        return dInput;
    }
}
