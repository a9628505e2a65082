// BenchmarkDotNet benchmarks of the engine's kernels on the shapes the two models use for one shard of 64 images,
// on 64-byte aligned buffers as the engine's own (Layers/Buffers.cs).
//   dotnet run -c Release --project tests/AeMnist.Benchmarks -- --filter '*Kernel*'
using System.Runtime.InteropServices;
using AeMnist.Tensors;
using BenchmarkDotNet.Attributes;

namespace AeMnist.Benchmarks;

[MemoryDiagnoser]
public class KernelBenchmarks
{
    private const int Shard = 64, Groups = Shard / DirectConv.Lanes;
    private readonly Aligned _x784 = Aligned.Of(Inputs.Random(Shard * 784)), _w784x64 = Aligned.Of(Inputs.Random(784 * 64)), _y64 = new Aligned(Shard * 64);
    private readonly Aligned _x64 = Aligned.Of(Inputs.Random(Shard * 64)), _w64x784 = Aligned.Of(Inputs.Random(64 * 784)), _y784 = new Aligned(Shard * 784);
    private readonly Aligned _conv1In = Aligned.Of(Inputs.Random(Groups * 1 * 28 * 28 * 16)), _conv1W = Aligned.Of(Inputs.Random(3 * 25)), _conv1Out = new Aligned(Groups * 3 * 24 * 24 * 16);
    private readonly Aligned _conv2In = Aligned.Of(Inputs.Random(Groups * 3 * 24 * 24 * 16)), _conv2W = Aligned.Of(Inputs.Random(5 * 3 * 25)), _conv2Out = new Aligned(Groups * 5 * 20 * 20 * 16);
    private readonly Aligned _dW = new Aligned(5 * 3 * 25);
    private readonly Aligned _padded = new Aligned(Groups * 5 * 20 * 28 * 16), _flipped = new Aligned(5 * 3 * 25);

    /// <summary>Linear(784, 64) forward: 6.4 MFLOP.</summary>
    [Benchmark] public void Gemm_64x784x64() => Gemm.MatMul(_x784, _w784x64, _y64, Shard, 784, 64);

    /// <summary>Linear(64, 784) forward: 6.4 MFLOP.</summary>
    [Benchmark] public void Gemm_64x64x784() => Gemm.MatMul(_x64, _w64x784, _y784, Shard, 64, 784);

    /// <summary>Conv2d(1, 3, 5) forward on 28x28: 5.5 MFLOP.</summary>
    [Benchmark] public void DirectConv_1to3() => DirectConv.Forward(_conv1In, _conv1W, _conv1Out, Groups, 1, 28, 28, 3, 5);

    /// <summary>Conv2d(3, 5, 5) forward on 24x24: 19.2 MFLOP.</summary>
    [Benchmark] public void DirectConv_3to5() => DirectConv.Forward(_conv2In, _conv2W, _conv2Out, Groups, 3, 24, 24, 5, 5);

    /// <summary>Conv2d(3, 5, 5) weight gradient: 19.2 MFLOP.</summary>
    [Benchmark] public void DirectConv_3to5_WeightGradient() => DirectConv.WeightGradient(_conv2Out, _conv2In, _dW, Groups, 5, 3, 24, 24, 5);

    /// <summary>ConvTranspose2d(5, 3, 5) forward on 20x20 (padded direct: 27.6 MFLOP computed, 19.2 useful).</summary>
    [Benchmark] public void DirectConv_5to3_Transposed() => DirectConv.Transposed(_conv2Out, _conv2W, _conv2In, _padded, _flipped, Groups, 5, 20, 20, 3, 5);

    private readonly Aligned _target = Aligned.Of(Inputs.Images(Shard)), _difference = new Aligned(Shard * 784), _rowSums = new Aligned(Shard);

    /// <summary>The MSE loss's forward over one shard: differences and per-image sums of squares.</summary>
    [Benchmark] public void SquaredErrorRows_64x784() => Reductions.SquaredErrorRows(_y784, _target, _difference, _rowSums);

    /// <summary>ReLU over one shard's 64x784 floats.</summary>
    [Benchmark] public void Relu_50k() => Elementwise.Relu(_y784, _y784);
}

/// <summary>A 64-byte aligned native buffer, implicitly a span, for the kernel benchmarks.</summary>
internal sealed unsafe class Aligned
{
    private readonly float* _data;
    private readonly int _length;

    public Aligned(int length)
    {
        _length = length;
        _data = (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(length, 1) * sizeof(float)), 64);
        Span.Clear();
    }

    public Span<float> Span => new(_data, _length);

    public static Aligned Of(float[] values)
    {
        var buffer = new Aligned(values.Length);
        values.CopyTo(buffer.Span);
        return buffer;
    }

    public static implicit operator Span<float>(Aligned buffer) => buffer.Span;
    public static implicit operator ReadOnlySpan<float>(Aligned buffer) => buffer.Span;
}
