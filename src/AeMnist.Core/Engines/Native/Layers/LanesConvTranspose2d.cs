// nn.ConvTranspose2d (square kernel, any stride, padding and output padding) on lanes tensors with the kernels of LanesConv:
// the adjoint of LanesConv2d, each output position gathering the window positions that reach it. Same results as
// ConvTranspose2d up to the summation order.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (H*W, Cin, L), weight (Cin, Cout, K, K), bias (Cout) -> output (Ho*Wo, Cout, L), Ho = (H - 1)*S - 2P + K + OutputPadding
public sealed unsafe class LanesConvTranspose2d : ConvModule
{
    private float* _input;            // Forward's input, kept for dWeight (borrowed, or a copy in _inputCopy)
    private float[] _inputCopy = [];
    private float[] _output = [];
    private float[] _dInput = [];
    private TensorShape? _inputShape;

    public LanesConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0)
        : base(transposed: true, inChannels, outChannels, kernelSize, stride, padding, outputPadding)
    {
    }

    // The output is the image side of the geometry, the input its grid of window positions.
    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        int lanes = CheckLanes(input, shape);
        ConvGeometry g = Geometry(shape);
        Span<float> output = RentOutput(ref _output, input, g.ImageLength * lanes);
        LanesConv.ConvTranspose2d(input, Weight.Data, Bias.Data, output, g, InChannels, lanes, TakeFold());
        _input = Keep(input, ref _inputCopy);
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        TensorShape shape = _inputShape ?? throw new InvalidOperationException("LanesConvTranspose2d.Backward called before Forward.");
        ConvGeometry g = Geometry(shape);
        int lanes = Lanes.Padded(shape.N), inputLength = shape.SampleLength * lanes;
        if (dOutput.Length != g.ImageLength * lanes)
            throw new ArgumentException($"dOutput has {dOutput.Length} elements, expected {g.ImageLength * lanes} for the last Forward.", nameof(dOutput));
        LanesConv.WeightGradient(new ReadOnlySpan<float>(_input, inputLength), dOutput, Weight.Grad, g, InChannels, lanes);
        AddBiasGradient(Bias, BiasGradientFrom, dOutput, g.Height * g.Width, lanes);
        if (!computeInputGradient) return [];
        Span<float> dInput = RentInputGradient(ref _dInput, dOutput, inputLength);
        LanesConv.Conv2d(dOutput, Weight.Data, [], dInput, g, InChannels, lanes);
        return dInput;
    }
}
