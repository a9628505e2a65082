// A transposed 2-D convolution as nn.ConvTranspose2d (square kernel, no dilation or groups) on NCHW tensors: the
// adjoint of Conv2d, computed as GEMM + col2im. The engine uses InterleavedConvTranspose2d where the layout allows it.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, Cin, H, W), weight (Cin, Cout, K, K), bias (Cout) -> output (N, Cout, Ho, Wo), Ho = (H - 1)*S - 2P + K + OutputPadding
public sealed class ConvTranspose2d : Module
{
    private float[] _input = [];     // Forward's input, kept for dWeight
    private float[] _columns = [];   // one image's columns (Cout*K*K, H*W), scratch for Forward and Backward
    private float[] _output = [];
    private float[] _dInput = [];
    private TensorShape? _inputShape;

    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0)
    {
        if (inChannels < 1 || outChannels < 1 || kernelSize < 1 || stride < 1 || padding < 0 || outputPadding < 0 || outputPadding >= stride)
            throw new ArgumentOutOfRangeException(nameof(kernelSize),
                $"ConvTranspose2d({inChannels}, {outChannels}, kernel_size={kernelSize}, stride={stride}, padding={padding}, " +
                $"output_padding={outputPadding}) has an invalid size (output_padding must be smaller than stride).");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        OutputPadding = outputPadding;
        Weight = new Parameter("weight", inChannels, outChannels, kernelSize, kernelSize);
        Bias = new Parameter("bias", outChannels);
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int KernelSize { get; }
    public int Stride { get; }
    public int Padding { get; }
    public int OutputPadding { get; }
    public Parameter Weight { get; }
    public Parameter Bias { get; }

    public override IReadOnlyList<Parameter> LocalParameters => [Weight, Bias];

    // The geometry of the output image, whose windows land on the H x W input positions.
    private ConvGeometry Geometry(TensorShape input)
    {
        if (input.C != InChannels)
            throw new ArgumentException($"ConvTranspose2d expects {InChannels} input channels, got shape {input}.");
        int outHeight = (input.H - 1) * Stride - 2 * Padding + KernelSize + OutputPadding;
        int outWidth = (input.W - 1) * Stride - 2 * Padding + KernelSize + OutputPadding;
        if (outHeight < 1 || outWidth < 1)
            throw new ArgumentException($"ConvTranspose2d on input {input} gives an empty output ({outHeight} x {outWidth}).");
        var g = new ConvGeometry(OutChannels, outHeight, outWidth, KernelSize, Stride, Padding, input.H, input.W);
        g.Validate();
        return g;
    }

    public override TensorShape OutputShape(TensorShape input)
    {
        ConvGeometry g = Geometry(input);
        return new TensorShape(input.N, OutChannels, g.Height, g.Width);
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        CheckInput(input, shape);
        ConvGeometry g = Geometry(shape);
        int n = shape.N, inLength = shape.SampleLength;
        input.CopyTo(Rent(ref _input, input.Length));
        Span<float> columns = Rent(ref _columns, g.ColumnRows * g.ColumnCols);
        Span<float> output = Rent(ref _output, n * g.ImageLength);
        for (int b = 0; b < n; b++)
        {
            Gemm.MatMulTransposeA(Weight.Data, input.Slice(b * inLength, inLength), columns, g.ColumnRows, InChannels, g.ColumnCols);
            Im2Col.Fold(columns, output.Slice(b * g.ImageLength, g.ImageLength), g);
        }
        Elementwise.AddChannelBias(Bias.Data, output, n, g.Height * g.Width);
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        TensorShape shape = CheckBackward(dOutput, _inputShape);
        ConvGeometry g = Geometry(shape);
        int n = shape.N, inLength = shape.SampleLength;
        Span<float> dColumns = Rent(ref _columns, g.ColumnRows * g.ColumnCols);
        Span<float> dInput = computeInputGradient ? Rent(ref _dInput, n * inLength) : [];
        for (int b = 0; b < n; b++)
        {
            Im2Col.Unfold(dOutput.Slice(b * g.ImageLength, g.ImageLength), dColumns, g);
            Gemm.RowDots(Buffers.View(_input, n * inLength).Slice(b * inLength, inLength), dColumns, Weight.Grad, InChannels, g.ColumnCols, g.ColumnRows, accumulate: true);
            if (computeInputGradient)
                Gemm.MatMul(Weight.Data, dColumns, dInput.Slice(b * inLength, inLength), InChannels, g.ColumnRows, g.ColumnCols);
        }
        Reductions.SumChannels(dOutput, Bias.Grad, n, g.Height * g.Width);
        return dInput;
    }
}
