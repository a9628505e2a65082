// What a layer is, not how it is computed: its PyTorch hyper-parameters, its parameters' names and shapes, the
// fan-in its default initialisation uses, and the shape it maps a sample to. Engines build their own layers from these.
namespace AeMnist.Models;

/// <summary>One sample's shape (C, H, W); a dense feature vector of F values is (F, 1, 1).</summary>
public readonly record struct SampleShape(int C, int H, int W)
{
    /// <summary>A vector of <paramref name="features"/> values, stored as (features, 1, 1).</summary>
    public static SampleShape Vector(int features) => new(features, 1, 1);

    /// <summary>Floats in one sample: C*H*W.</summary>
    public int Length => checked(C * H * W);

    public bool IsVector => H == 1 && W == 1;

    public override string ToString() => IsVector ? $"({C})" : $"({C}, {H}, {W})";
}

/// <summary>
/// One parameter of a layer under its PyTorch name ("weight", "bias") and shape. Its default initialisation is
/// PyTorch's: U(±1/sqrt(<see cref="FanIn"/>)), the weight's fan-in for the bias too; or, when
/// <see cref="Constant"/> is set, that value everywhere (batch norm's weight 1 and bias 0), drawing nothing.
/// </summary>
public sealed record ParameterSpec(string Name, int[] Shape, int FanIn, float? Constant = null)
{
    public int Length => Shape.Aggregate(1, (product, size) => checked(product * size));
}

/// <summary>
/// A buffer of a layer (PyTorch's register_buffer: batch norm's running_mean, running_var, num_batches_tracked):
/// saved in the state dict after the layer's parameters, never trained. It starts at <see cref="Initial"/>.
/// A shape of [] is a scalar, as PyTorch's num_batches_tracked.
/// </summary>
public sealed record BufferSpec(string Name, int[] Shape, float Initial)
{
    public int Length => Shape.Aggregate(1, (product, size) => checked(product * size));
}

/// <summary>A layer of an architecture, as its PyTorch module would be constructed.</summary>
public abstract record LayerSpec
{
    /// <summary>The layer's parameters in PyTorch's registration order.</summary>
    public virtual IReadOnlyList<ParameterSpec> Parameters => [];

    /// <summary>The layer's buffers in PyTorch's registration order (state-dict entries after the parameters).</summary>
    public virtual IReadOnlyList<BufferSpec> Buffers => [];

    /// <summary>The output shape for <paramref name="input"/>; throws <see cref="ArgumentException"/> when the input does not fit.</summary>
    public abstract SampleShape OutputShape(SampleShape input);

    /// <summary>The layer as PyTorch prints it, e.g. "Conv2d(1, 3, kernel_size=5)".</summary>
    public abstract override string ToString();
}

// input (In), weight (Out, In), bias (Out) -> output (Out)
public sealed record LinearSpec(int InFeatures, int OutFeatures) : LayerSpec
{
    public override IReadOnlyList<ParameterSpec> Parameters =>
        [new("weight", [OutFeatures, InFeatures], InFeatures), new("bias", [OutFeatures], InFeatures)];

    public override SampleShape OutputShape(SampleShape input) => input.IsVector && input.C == InFeatures
        ? SampleShape.Vector(OutFeatures)
        : throw new ArgumentException($"{this} needs an input of {InFeatures} features, got {input}; flatten it first.");

    public override string ToString() => $"Linear({InFeatures}, {OutFeatures})";
}

// input (Cin, H, W), weight (Cout, Cin, K, K), bias (Cout) -> output (Cout, Ho, Wo), Ho = (H + 2P - K)/S + 1
public sealed record Conv2dSpec(int InChannels, int OutChannels, int KernelSize, int Stride = 1, int Padding = 0) : LayerSpec
{
    // PyTorch's fan_in: weight.size(1) * kernel area.
    public override IReadOnlyList<ParameterSpec> Parameters =>
    [
        new("weight", [OutChannels, InChannels, KernelSize, KernelSize], InChannels * KernelSize * KernelSize),
        new("bias", [OutChannels], InChannels * KernelSize * KernelSize),
    ];

    public override SampleShape OutputShape(SampleShape input)
    {
        int h = (input.H + 2 * Padding - KernelSize) / Stride + 1, w = (input.W + 2 * Padding - KernelSize) / Stride + 1;
        if (input.C != InChannels || input.H + 2 * Padding < KernelSize || input.W + 2 * Padding < KernelSize)
            throw new ArgumentException($"{this} does not fit an input of shape {input}.");
        return new SampleShape(OutChannels, h, w);
    }

    public override string ToString() =>
        $"Conv2d({InChannels}, {OutChannels}, kernel_size={KernelSize}{(Stride != 1 ? $", stride={Stride}" : "")}{(Padding != 0 ? $", padding={Padding}" : "")})";
}

// input (Cin, H, W), weight (Cin, Cout, K, K), bias (Cout) -> output (Cout, Ho, Wo), Ho = (H - 1)*S - 2P + K + OutputPadding
public sealed record ConvTranspose2dSpec(int InChannels, int OutChannels, int KernelSize, int Stride = 1, int Padding = 0, int OutputPadding = 0) : LayerSpec
{
    // PyTorch stores the weight (Cin, Cout, K, K) and takes fan_in from dimension 1: Cout * kernel area.
    public override IReadOnlyList<ParameterSpec> Parameters =>
    [
        new("weight", [InChannels, OutChannels, KernelSize, KernelSize], OutChannels * KernelSize * KernelSize),
        new("bias", [OutChannels], OutChannels * KernelSize * KernelSize),
    ];

    public override SampleShape OutputShape(SampleShape input)
    {
        int h = (input.H - 1) * Stride - 2 * Padding + KernelSize + OutputPadding;
        int w = (input.W - 1) * Stride - 2 * Padding + KernelSize + OutputPadding;
        if (input.C != InChannels || h < 1 || w < 1)
            throw new ArgumentException($"{this} does not fit an input of shape {input}.");
        return new SampleShape(OutChannels, h, w);
    }

    public override string ToString() =>
        $"ConvTranspose2d({InChannels}, {OutChannels}, kernel_size={KernelSize}{(Stride != 1 ? $", stride={Stride}" : "")}" +
        $"{(Padding != 0 ? $", padding={Padding}" : "")}{(OutputPadding != 0 ? $", output_padding={OutputPadding}" : "")})";
}

// input (C, H, W) -> output (C, H, W)
public sealed record ReLUSpec : LayerSpec
{
    public override SampleShape OutputShape(SampleShape input) => input;

    public override string ToString() => "ReLU()";
}

// input (C, H, W) -> output (C, H, W)
public sealed record SigmoidSpec : LayerSpec
{
    public override SampleShape OutputShape(SampleShape input) => input;

    public override string ToString() => "Sigmoid()";
}

// input (C, H, W) -> output (C*H*W)
public sealed record FlattenSpec : LayerSpec
{
    public override SampleShape OutputShape(SampleShape input) => SampleShape.Vector(input.Length);

    public override string ToString() => "Flatten()";
}

// input (C*H*W) -> output (C, H, W), as nn.Unflatten(1, (C, H, W))
public sealed record UnflattenSpec(int Channels, int Height, int Width) : LayerSpec
{
    public override SampleShape OutputShape(SampleShape input) => input.Length == Channels * Height * Width
        ? new SampleShape(Channels, Height, Width)
        : throw new ArgumentException($"{this} needs {Channels * Height * Width} values per sample, got {input}.");

    public override string ToString() => $"Unflatten(1, ({Channels}, {Height}, {Width}))";
}

/// <summary>
/// Batch normalisation over the channels of (C, H, W) samples (nn.BatchNorm2d) or the features of (F) vectors
/// (nn.BatchNorm1d), with PyTorch's defaults: affine weight 1 and bias 0, eps 1e-5, momentum 0.1, running statistics.
/// Training mode normalises by the batch's mean and biased variance over N (and H, W) and moves the running
/// statistics towards the batch's (the unbiased variance); evaluation mode normalises by the running statistics.
/// </summary>
public abstract record BatchNormSpec(int NumFeatures, double Eps, double Momentum) : LayerSpec
{
    public override IReadOnlyList<ParameterSpec> Parameters =>
        [new("weight", [NumFeatures], 0, Constant: 1f), new("bias", [NumFeatures], 0, Constant: 0f)];

    public override IReadOnlyList<BufferSpec> Buffers =>
        [new("running_mean", [NumFeatures], 0f), new("running_var", [NumFeatures], 1f), new("num_batches_tracked", [], 0f)];

    protected string Hyper =>
        $"{NumFeatures}{(Eps != 1e-5 ? $", eps={Eps.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "")}" +
        $"{(Momentum != 0.1 ? $", momentum={Momentum.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "")}";
}

// input (C, H, W), weight (C), bias (C), running_mean (C), running_var (C) -> output (C, H, W)
public sealed record BatchNorm2dSpec(int NumFeatures, double Eps = 1e-5, double Momentum = 0.1) : BatchNormSpec(NumFeatures, Eps, Momentum)
{
    public override SampleShape OutputShape(SampleShape input) => !input.IsVector && input.C == NumFeatures
        ? input
        : throw new ArgumentException($"{this} needs an input of {NumFeatures} channels with height and width, got {input}.");

    public override string ToString() => $"BatchNorm2d({Hyper})";
}

// input (F), weight (F), bias (F), running_mean (F), running_var (F) -> output (F)
public sealed record BatchNorm1dSpec(int NumFeatures, double Eps = 1e-5, double Momentum = 0.1) : BatchNormSpec(NumFeatures, Eps, Momentum)
{
    public override SampleShape OutputShape(SampleShape input) => input.IsVector && input.C == NumFeatures
        ? input
        : throw new ArgumentException($"{this} needs an input of {NumFeatures} features, got {input}.");

    public override string ToString() => $"BatchNorm1d({Hyper})";
}

/// <summary>
/// The layer constructors under PyTorch's names, so that an architecture reads like its nn.Module:
/// <c>using static AeMnist.Models.Layers;</c> then <c>[Conv2d(1, 3, kernelSize: 5), ReLU()]</c>.
/// </summary>
public static class Layers
{
    public static LinearSpec Linear(int inFeatures, int outFeatures) =>
        inFeatures >= 1 && outFeatures >= 1 ? new(inFeatures, outFeatures)
            : throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear({inFeatures}, {outFeatures}) needs positive sizes.");

    public static Conv2dSpec Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0) =>
        inChannels >= 1 && outChannels >= 1 && kernelSize >= 1 && stride >= 1 && padding >= 0
            ? new(inChannels, outChannels, kernelSize, stride, padding)
            : throw new ArgumentOutOfRangeException(nameof(kernelSize),
                $"Conv2d({inChannels}, {outChannels}, kernel_size={kernelSize}, stride={stride}, padding={padding}) has an invalid size.");

    public static ConvTranspose2dSpec ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0) =>
        inChannels >= 1 && outChannels >= 1 && kernelSize >= 1 && stride >= 1 && padding >= 0 && outputPadding >= 0 && outputPadding < stride
            ? new(inChannels, outChannels, kernelSize, stride, padding, outputPadding)
            : throw new ArgumentOutOfRangeException(nameof(kernelSize),
                $"ConvTranspose2d({inChannels}, {outChannels}, kernel_size={kernelSize}, stride={stride}, padding={padding}, " +
                $"output_padding={outputPadding}) has an invalid size (output_padding must be smaller than stride).");

    public static ReLUSpec ReLU() => new();

    public static BatchNorm2dSpec BatchNorm2d(int numFeatures, double eps = 1e-5, double momentum = 0.1) =>
        numFeatures >= 1 && eps > 0 && momentum is > 0 and <= 1 ? new(numFeatures, eps, momentum)
            : throw new ArgumentOutOfRangeException(nameof(numFeatures), $"BatchNorm2d({numFeatures}, eps={eps}, momentum={momentum}) has an invalid setting.");

    public static BatchNorm1dSpec BatchNorm1d(int numFeatures, double eps = 1e-5, double momentum = 0.1) =>
        numFeatures >= 1 && eps > 0 && momentum is > 0 and <= 1 ? new(numFeatures, eps, momentum)
            : throw new ArgumentOutOfRangeException(nameof(numFeatures), $"BatchNorm1d({numFeatures}, eps={eps}, momentum={momentum}) has an invalid setting.");

    public static SigmoidSpec Sigmoid() => new();

    public static FlattenSpec Flatten() => new();

    public static UnflattenSpec Unflatten(int channels, int height, int width) =>
        channels >= 1 && height >= 1 && width >= 1 ? new(channels, height, width)
            : throw new ArgumentOutOfRangeException(nameof(channels), $"Unflatten(1, ({channels}, {height}, {width})) needs positive sizes.");
}
