// nn.ConvTranspose2d with stride 1 and no padding on batch-interleaved tensors ([N/16][C][H][W][16]). Its forward
// is Conv2d's input gradient (DirectConv.Transposed) and its input gradient is Conv2d's forward, so the same three
// direct kernels serve both layers.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input [N/16][Cin][H][W][16], weight (Cin, Cout, K, K), bias (Cout) -> output [N/16][Cout][H+K-1][W+K-1][16]
public sealed unsafe class InterleavedConvTranspose2d : ConvModule
{
    private float[] _input = [];      // a copy of Forward's input for dWeight, unless the layer borrows it (Module.Keep)
    private float* _x;                // Forward's input as Backward reads it
    private float[] _output = [];
    private float[] _dInput = [];
    private float[] _padded = [];     // the input padded by K-1 zeros, scratch
    private float[] _flipped = [];    // the weight flipped, scratch
    private TensorShape? _inputShape;

    public InterleavedConvTranspose2d(int inChannels, int outChannels, int kernelSize)
        : base(transposed: true, inChannels, outChannels, kernelSize, stride: 1, padding: 0, outputPadding: 0)
    {
    }

    public override TensorShape OutputShape(TensorShape input) => input.C == InChannels
        ? new TensorShape(input.N, OutChannels, input.H + KernelSize - 1, input.W + KernelSize - 1)
        : throw new ArgumentException($"ConvTranspose2d expects {InChannels} input channels, got shape {input}.");

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        CheckInput(input, shape);
        TensorShape outShape = OutputShape(shape);
        int groups = DirectConv.GroupsOf(shape), k = KernelSize;
        if (!Inference) _x = Keep(input, ref _input);
        Span<float> output = RentOutput(ref _output, input, outShape.Length);
        DirectConv.Transposed(input, Weight.Data, output,
            Rent(ref _padded, groups * InChannels * shape.H * (shape.W + 2 * k - 2) * DirectConv.Lanes),
            Rent(ref _flipped, Weight.Length), groups, InChannels, shape.H, shape.W, OutChannels, k);
        Elementwise.AddChannelBias(Bias.Data, output, groups, outShape.H * outShape.W * DirectConv.Lanes);
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        TensorShape shape = CheckBackward(dOutput, _inputShape);
        TensorShape outShape = OutputShape(shape);
        int groups = DirectConv.GroupsOf(shape);
        // dWeight[i, o, ki, kj] = Σ input[i, y, x] * dOutput[o, y+ki, x+kj]: the input plays dOutput's part of a Conv2d.
        DirectConv.WeightGradient(new ReadOnlySpan<float>(_x, shape.Length), dOutput, Weight.Grad, groups, InChannels, OutChannels, outShape.H, outShape.W, KernelSize);
        Reductions.SumChannels(dOutput, Bias.Grad, groups, outShape.H * outShape.W * DirectConv.Lanes);
        if (!computeInputGradient) return [];
        Span<float> dInput = RentInputGradient(ref _dInput, dOutput, shape.Length);
        DirectConv.Forward(dOutput, Weight.Data, dInput, groups, OutChannels, outShape.H, outShape.W, InChannels, KernelSize);
        return dInput;
    }
}
