// The tutorial's ConvAutoEncoder: Conv2d(1,3,5), Conv2d(3,5,5), ConvTranspose2d(5,3,5), ConvTranspose2d(3,1,5),
// stride 1, no padding, ReLU after each. 28x28 -> 24x24 -> 20x20 -> 24x24 -> 28x28.
using AeMnist.Layers;
using AeMnist.Tensors;

namespace AeMnist.Models;

// images (N, 1, 28, 28) -> encoder (N, 5, 20, 20) -> decoder (N, 1, 28, 28)
public sealed class ConvAutoEncoder : AutoEncoder
{
    private const int Side = 28;

    private float[] _packed = [], _output = [], _dPacked = [], _dInput = [];
    private int _lastBatch = -1;

    internal ConvAutoEncoder()
        : base(
            new Sequential(new Conv2d(1, 3, kernelSize: 5), new ReLU(), new Conv2d(3, 5, kernelSize: 5), new ReLU()),
            new Sequential(new ConvTranspose2d(5, 3, kernelSize: 5), new ReLU(), new ConvTranspose2d(3, 1, kernelSize: 5), new ReLU()),
            Side * Side)
    {
    }

    public override string Kind => "conv";

    // Four interleaved groups of 16; the scratch of a shard stays in L2.
    public override int ShardSize => 64;

    public override TensorShape InputShape(int n) => new(n, 1, Side, Side);

    protected override AutoEncoder CreateReplica()
    {
        var replica = new ConvAutoEncoder();
        replica.UseInterleavedLayout();
        return replica;
    }

    /// <summary>True when the layers run on batch-interleaved tensors (the engine's replicas); Forward and Backward still take and give (N, 784).</summary>
    public bool IsInterleaved { get; private set; }

    /// <summary>Switches every convolution to the batch-interleaved layout and its direct kernels.</summary>
    public void UseInterleavedLayout()
    {
        foreach (Module layer in Layers())
        {
            if (layer is Conv2d conv) conv.Interleaved = true;
            else if (layer is ConvTranspose2d transposed) transposed.Interleaved = true;
        }
        IsInterleaved = true;
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        if (!IsInterleaved) return base.Forward(input, shape);
        CheckInput(input, shape);
        int n = shape.N, padded = DirectConv.Groups(n) * DirectConv.Lanes;
        Span<float> packed = Rent(ref _packed, padded * InputSize);
        DirectConv.Interleave(input, n, InputSize, packed);
        ReadOnlySpan<float> y = base.Forward(packed, shape.WithBatch(padded));
        Span<float> output = Rent(ref _output, n * InputSize);
        DirectConv.Deinterleave(y, n, InputSize, output);
        _lastBatch = n;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        if (!IsInterleaved) return base.Backward(dOutput, computeInputGradient);
        int n = _lastBatch, padded = DirectConv.Groups(n) * DirectConv.Lanes;
        if (n < 0 || dOutput.Length != n * InputSize)
            throw new ArgumentException($"dOutput has {dOutput.Length} floats, expected {Math.Max(n, 0)} x {InputSize} from the last Forward.", nameof(dOutput));
        Span<float> dPacked = Rent(ref _dPacked, padded * InputSize);
        DirectConv.Interleave(dOutput, n, InputSize, dPacked);  // padding lanes get zero gradient
        ReadOnlySpan<float> dInput = base.Backward(dPacked, computeInputGradient);
        if (!computeInputGradient) return [];
        Span<float> result = Rent(ref _dInput, n * InputSize);
        DirectConv.Deinterleave(dInput, n, InputSize, result);
        return result;
    }

    private IEnumerable<Module> Layers() =>
        Enumerable.Range(0, Encoder.Count).Select(i => Encoder[i]).Concat(Enumerable.Range(0, Decoder.Count).Select(i => Decoder[i]));
}
