// nn.Conv2d with stride 1 and no padding on batch-interleaved tensors ([N/16][C][H][W][16], one image per Vector512
// lane) with the direct kernels of DirectConv: no im2col buffer, plain vertical FMAs. Same results as Conv2d up to
// the summation order; the engine picks it for runs of such layers (see Network).
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input [N/16][Cin][H][W][16], weight (Cout, Cin, K, K), bias (Cout) -> output [N/16][Cout][H-K+1][W-K+1][16]
public sealed unsafe class InterleavedConv2d : ConvModule
{
    private float[] _input = [];      // a copy of Forward's input for dWeight, unless the layer borrows it (Module.Keep)
    private float* _x;                // Forward's input as Backward reads it
    private float[] _output = [];
    private float[] _dInput = [];
    private float[] _padded = [];     // dOutput padded by K-1 zeros, scratch
    private float[] _flipped = [];    // the weight flipped for the input gradient, scratch
    private TensorShape? _inputShape;

    public InterleavedConv2d(int inChannels, int outChannels, int kernelSize)
        : base(transposed: false, inChannels, outChannels, kernelSize, stride: 1, padding: 0, outputPadding: 0)
    {
    }

    public override TensorShape OutputShape(TensorShape input)
    {
        if (input.C != InChannels || input.H < KernelSize || input.W < KernelSize)
            throw new ArgumentException($"Conv2d({InChannels}, {OutChannels}, kernel_size={KernelSize}) does not fit input {input}.");
        return new TensorShape(input.N, OutChannels, input.H - KernelSize + 1, input.W - KernelSize + 1);
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        CheckInput(input, shape);
        TensorShape outShape = OutputShape(shape);
        int groups = DirectConv.GroupsOf(shape);
        if (!Inference) _x = Keep(input, ref _input);
        Span<float> output = RentOutput(ref _output, input, outShape.Length);
        DirectConv.Forward(input, Weight.Data, output, groups, InChannels, shape.H, shape.W, OutChannels, KernelSize);
        Elementwise.AddChannelBias(Bias.Data, output, groups, outShape.H * outShape.W * DirectConv.Lanes);
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        TensorShape shape = CheckBackward(dOutput, _inputShape);
        TensorShape outShape = OutputShape(shape);
        int groups = DirectConv.GroupsOf(shape), k = KernelSize;
        DirectConv.WeightGradient(dOutput, new ReadOnlySpan<float>(_x, shape.Length), Weight.Grad, groups, OutChannels, InChannels, shape.H, shape.W, k);
        Reductions.SumChannels(dOutput, Bias.Grad, groups, outShape.H * outShape.W * DirectConv.Lanes);
        if (!computeInputGradient) return [];
        Span<float> dInput = RentInputGradient(ref _dInput, dOutput, shape.Length);
        DirectConv.Transposed(dOutput, Weight.Data, dInput,
            Rent(ref _padded, groups * OutChannels * outShape.H * (outShape.W + 2 * k - 2) * DirectConv.Lanes),
            Rent(ref _flipped, Weight.Length), groups, OutChannels, outShape.H, outShape.W, InChannels, k);
        return dInput;
    }
}
