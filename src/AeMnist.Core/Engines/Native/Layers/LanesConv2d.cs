// nn.Conv2d (square kernel, any stride and padding, no dilation or groups) on lanes tensors with the kernels of LanesConv:
// each window position a GEMM over whole vectors of images, no im2col buffer. The engine uses it for models whose
// convolutions the interleaved kernels cannot run (a stride or padding), with every layer around them in the lanes layout
// (see Network). Same results as Conv2d up to the summation order.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (H*W, Cin, L), weight (Cout, Cin, K, K), bias (Cout) -> output (Ho*Wo, Cout, L); a shape's N is the batch, L = Lanes.Padded(N)
public sealed unsafe class LanesConv2d : ConvModule
{
    private float* _input;            // Forward's input, kept for dWeight (borrowed, or a copy in _inputCopy)
    private float[] _inputCopy = [];
    private float[] _output = [];
    private float[] _dInput = [];
    private TensorShape? _inputShape;

    public LanesConv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0)
        : base(transposed: false, inChannels, outChannels, kernelSize, stride, padding, outputPadding: 0)
    {
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        int lanes = CheckLanes(input, shape);
        ConvGeometry g = Geometry(shape);
        Span<float> output = RentOutput(ref _output, input, g.ColumnCols * OutChannels * lanes);
        LanesConv.Conv2d(input, Weight.Data, Bias.Data, output, g, OutChannels, lanes, TakeFold());
        _input = Keep(input, ref _inputCopy);
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        TensorShape shape = _inputShape ?? throw new InvalidOperationException("LanesConv2d.Backward called before Forward.");
        ConvGeometry g = Geometry(shape);
        int lanes = Lanes.Padded(shape.N), inputLength = g.ImageLength * lanes;
        if (dOutput.Length != g.ColumnCols * OutChannels * lanes)
            throw new ArgumentException($"dOutput has {dOutput.Length} elements, expected {g.ColumnCols * OutChannels * lanes} for the last Forward.", nameof(dOutput));
        LanesConv.WeightGradient(dOutput, new ReadOnlySpan<float>(_input, inputLength), Weight.Grad, g, OutChannels, lanes);
        AddBiasGradient(Bias, BiasGradientFrom, dOutput, g.ColumnCols, lanes);
        if (!computeInputGradient) return [];
        Span<float> dInput = RentInputGradient(ref _dInput, dOutput, inputLength);
        LanesConv.ConvTranspose2d(dOutput, Weight.Data, [], dInput, g, OutChannels, lanes);
        return dInput;
    }
}
