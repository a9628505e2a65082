// What the four convolution layers share: nn.Conv2d's and nn.ConvTranspose2d's hyper-parameters (square kernel, one
// stride and padding, no dilation or groups), checked once, and their parameters under PyTorch's names: weight
// (Cout, Cin, K, K) for a convolution, (Cin, Cout, K, K) for a transposed one, and bias (Cout). The layers differ only
// in layout and kernels.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

public abstract class ConvModule : Module
{
    protected ConvModule(bool transposed, int inChannels, int outChannels, int kernelSize, int stride, int padding, int outputPadding)
    {
        string name = transposed ? "ConvTranspose2d" : "Conv2d";
        _transposed = transposed;
        if (inChannels < 1 || outChannels < 1 || kernelSize < 1 || stride < 1 || padding < 0 || outputPadding < 0 || (outputPadding > 0 && outputPadding >= stride))
            throw new ArgumentOutOfRangeException(nameof(kernelSize),
                $"{name}({inChannels}, {outChannels}, kernel_size={kernelSize}, stride={stride}, padding={padding}" +
                (transposed ? $", output_padding={outputPadding}) has an invalid size (output_padding must be smaller than stride)." : ") has an invalid size."));
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        OutputPadding = outputPadding;
        Weight = transposed
            ? new Parameter("weight", inChannels, outChannels, kernelSize, kernelSize)
            : new Parameter("weight", outChannels, inChannels, kernelSize, kernelSize);
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

    /// <summary>
    /// Lanes only: the batch norm right after this layer (in the same row order), whose evaluation-mode normalisation this
    /// layer can apply as it stores its outputs (<see cref="FoldEvaluationNorm"/>); null when there is none.
    /// </summary>
    internal BatchNorm? EvaluationNorm { get; set; }

    /// <summary>
    /// Set by the network for one Forward: the batch norm after this layer runs next, in evaluation mode, so apply it here
    /// (<see cref="BatchNorm.PrepareFold"/>) and let it pass the output through. Forward clears it.
    /// </summary>
    internal bool FoldEvaluationNorm { get; set; }

    /// <summary>The normalisation this Forward applies to its outputs: the batch norm's after it when the network asked for the fold, else none.</summary>
    private protected Tensors.ChannelNorm TakeFold()
    {
        bool fold = FoldEvaluationNorm;
        FoldEvaluationNorm = false;
        return fold && EvaluationNorm is { Training: false } norm ? norm.PrepareFold() : default;
    }

    private readonly bool _transposed;

    /// <summary>
    /// The layer's geometry on <paramref name="input"/>: for a convolution, the input image's; for a transposed one, the
    /// output image's, whose windows land on the H x W input positions.
    /// </summary>
    protected ConvGeometry Geometry(TensorShape input)
    {
        string name = _transposed ? "ConvTranspose2d" : "Conv2d";
        if (input.C != InChannels)
            throw new ArgumentException($"{name} expects {InChannels} input channels, got shape {input}.");
        if (!_transposed)
            return ConvGeometry.ForConv(InChannels, input.H, input.W, KernelSize, Stride, Padding);
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
        return _transposed ? new TensorShape(input.N, OutChannels, g.Height, g.Width) : new TensorShape(input.N, OutChannels, g.OutHeight, g.OutWidth);
    }
}
