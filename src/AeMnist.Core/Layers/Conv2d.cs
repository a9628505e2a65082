// A 2-D convolution as nn.Conv2d (square kernel, one stride and padding, no dilation or groups), via im2col + GEMM.
using AeMnist.Tensors;

namespace AeMnist.Layers;

// input (N, Cin, H, W), weight (Cout, Cin, K, K), bias (Cout) -> output (N, Cout, Ho, Wo), Ho = (H + 2P - K)/S + 1
public sealed class Conv2d : Module
{
    private float[] _columns = [];  // Forward's im2col of every image (N, Cin*K*K, Ho*Wo), kept for dWeight
    private float[] _output = [];
    private float[] _dColumns = [];  // one image's dColumns, scratch
    private float[] _dInput = [];
    private TensorShape? _inputShape;
    private float[] _input = [];      // interleaved layout: Forward's input, kept for dWeight
    private float[] _padded = [];     // interleaved layout: dOutput padded by K-1 zeros, scratch
    private float[] _flipped = [];    // interleaved layout: the weight flipped for the input gradient, scratch
    private bool _interleaved;

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

    /// <summary>
    /// When true, Forward and Backward take batch-interleaved tensors ([N/16][C][H][W][16], N a multiple of 16) and use
    /// the direct kernels of <see cref="DirectConv"/>. Only for stride 1 and no padding.
    /// </summary>
    public bool Interleaved
    {
        get => _interleaved;
        set => _interleaved = !value || (Stride == 1 && Padding == 0)
            ? value : throw new InvalidOperationException("The interleaved layout needs stride 1 and no padding.");
    }

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
        if (_interleaved) return ForwardInterleaved(input, shape, g);
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
        if (_interleaved) return BackwardInterleaved(dOutput, shape, g, computeInputGradient);
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

    private ReadOnlySpan<float> ForwardInterleaved(ReadOnlySpan<float> input, TensorShape shape, ConvGeometry g)
    {
        int groups = Groups(shape);
        input.CopyTo(Rent(ref _input, input.Length));
        Span<float> output = Rent(ref _output, shape.N * OutChannels * g.ColumnCols);
        DirectConv.Forward(input, Weight.Data, output, groups, InChannels, shape.H, shape.W, OutChannels, KernelSize);
        Elementwise.AddChannelBias(Bias.Data, output, groups, g.ColumnCols * DirectConv.Lanes);
        _inputShape = shape;
        return output;
    }

    private ReadOnlySpan<float> BackwardInterleaved(ReadOnlySpan<float> dOutput, TensorShape shape, ConvGeometry g, bool computeInputGradient)
    {
        int groups = Groups(shape);
        DirectConv.WeightGradient(dOutput, Buffers.View(_input, shape.Length), Weight.Grad, groups, OutChannels, InChannels, shape.H, shape.W, KernelSize);
        Reductions.SumChannels(dOutput, Bias.Grad, groups, g.ColumnCols * DirectConv.Lanes);
        if (!computeInputGradient) return [];
        Span<float> dInput = Rent(ref _dInput, shape.Length);
        int k = KernelSize;
        DirectConv.Transposed(dOutput, Weight.Data, dInput,
            Rent(ref _padded, groups * OutChannels * g.OutHeight * (g.OutWidth + 2 * k - 2) * DirectConv.Lanes),
            Rent(ref _flipped, Weight.Length), groups, OutChannels, g.OutHeight, g.OutWidth, InChannels, k);
        return dInput;
    }

    internal static int Groups(TensorShape shape) => shape.N % DirectConv.Lanes == 0
        ? shape.N / DirectConv.Lanes
        : throw new ArgumentException($"The interleaved layout needs a batch that is a multiple of {DirectConv.Lanes}, got {shape}.");

    public override void ResetParameters(Rng rng) => Init.WeightAndBias(Weight, Bias, InChannels * KernelSize * KernelSize, rng);
}
