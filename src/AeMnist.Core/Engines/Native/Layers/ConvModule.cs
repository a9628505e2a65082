// What the four convolution layers share: nn.Conv2d's and nn.ConvTranspose2d's hyper-parameters (square kernel, one
// stride and padding, no dilation or groups), checked once, and their parameters under PyTorch's names: weight
// (Cout, Cin, K, K) for a convolution, (Cin, Cout, K, K) for a transposed one, and bias (Cout). The layers differ only
// in layout and kernels.
namespace AeMnist.Engines.Native.Layers;

public abstract class ConvModule : Module
{
    protected ConvModule(bool transposed, int inChannels, int outChannels, int kernelSize, int stride, int padding, int outputPadding)
    {
        string name = transposed ? "ConvTranspose2d" : "Conv2d";
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
}
