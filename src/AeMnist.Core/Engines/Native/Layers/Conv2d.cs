// A 2-D convolution as nn.Conv2d (square kernel, one stride and padding, no dilation or groups) on NCHW tensors,
// via im2col + GEMM. The engine uses InterleavedConv2d instead where the layout allows it.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, Cin, H, W), weight (Cout, Cin, K, K), bias (Cout) -> output (N, Cout, Ho, Wo), Ho = (H + 2P - K)/S + 1
public sealed class Conv2d : Module
{
    private float[] _columns = [];  // Forward's im2col of every image (N, Cin*K*K, Ho*Wo), kept for dWeight
    private float[] _output = [];
    private float[] _dColumns = [];  // one image's dColumns, scratch
    private float[] _dInput = [];
    private TensorShape? _inputShape;

    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0)
    {
        if (inChannels < 1 || outChannels < 1 || kernelSize < 1 || stride < 1 || padding < 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize),
                $"Conv2d({inChannels}, {outChannels}, kernel_size={kernelSize}, stride={stride}, padding={padding}) has an invalid size.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Weight = new Parameter("weight", outChannels, inChannels, kernelSize, kernelSize);
        Bias = new Parameter("bias", outChannels);
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int KernelSize { get; }
    public int Stride { get; }
    public int Padding { get; }
    public Parameter Weight { get; }
    public Parameter Bias { get; }

    public override IReadOnlyList<Parameter> LocalParameters => [Weight, Bias];

    private ConvGeometry Geometry(TensorShape input)
    {
        if (input.C != InChannels)
            throw new ArgumentException($"Conv2d expects {InChannels} input channels, got shape {input}.");
        return ConvGeometry.ForConv(InChannels, input.H, input.W, KernelSize, Stride, Padding);
    }

    public override TensorShape OutputShape(TensorShape input)
    {
        ConvGeometry g = Geometry(input);
        return new TensorShape(input.N, OutChannels, g.OutHeight, g.OutWidth);
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        CheckInput(input, shape);
        ConvGeometry g = Geometry(shape);
        int n = shape.N, columnLength = g.ColumnRows * g.ColumnCols, outLength = OutChannels * g.ColumnCols;
        Span<float> columns = Rent(ref _columns, n * columnLength);
        Span<float> output = Rent(ref _output, n * outLength);
        for (int b = 0; b < n; b++)
        {
            Span<float> imageColumns = columns.Slice(b * columnLength, columnLength);
            Im2Col.Unfold(input.Slice(b * g.ImageLength, g.ImageLength), imageColumns, g);
            Gemm.MatMul(Weight.Data, imageColumns, output.Slice(b * outLength, outLength), OutChannels, g.ColumnRows, g.ColumnCols);
        }
        Elementwise.AddChannelBias(Bias.Data, output, n, g.ColumnCols);
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        TensorShape shape = CheckBackward(dOutput, _inputShape);
        ConvGeometry g = Geometry(shape);
        int n = shape.N, columnLength = g.ColumnRows * g.ColumnCols, outLength = OutChannels * g.ColumnCols;
        for (int b = 0; b < n; b++)
            Gemm.RowDots(dOutput.Slice(b * outLength, outLength), Buffers.View(_columns, n * columnLength).Slice(b * columnLength, columnLength),
                Weight.Grad, OutChannels, g.ColumnCols, g.ColumnRows, accumulate: true);
        Reductions.SumChannels(dOutput, Bias.Grad, n, g.ColumnCols);
        if (!computeInputGradient) return [];
        Span<float> dColumns = Rent(ref _dColumns, columnLength);
        Span<float> dInput = Rent(ref _dInput, n * g.ImageLength);
        for (int b = 0; b < n; b++)
        {
            Gemm.MatMulTransposeA(Weight.Data, dOutput.Slice(b * outLength, outLength), dColumns, g.ColumnRows, OutChannels, g.ColumnCols);
            Im2Col.Fold(dColumns, dInput.Slice(b * g.ImageLength, g.ImageLength), g);
        }
        return dInput;
    }
}
