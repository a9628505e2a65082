// Element-wise kernels for activations and biases, each with a naive twin.
// Fast versions are hand-written Vector512/Vector256 loops (TensorPrimitives 11.0 was several times slower here);
// Sigmoid's exp is our own too (Cody-Waite reduction and Cephes' polynomial), the same bits on every machine.
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AeMnist.Tensors;

public static class Elementwise
{
    // x (L) -> destination (L)
    /// <summary>Effectively computes destination[i] = max(x[i], 0); NaN stays NaN, -0 becomes +0 (as MathF.Max).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Relu(ReadOnlySpan<float> x, Span<float> destination)
    {
        CheckSameLength(x, destination, nameof(destination));
        int i = 0, length = x.Length;
        fixed (float* px = x, py = destination)
        {
            if (Vector512.IsHardwareAccelerated)
                for (; i + Vector512<float>.Count <= length; i += Vector512<float>.Count)
                {
                    Vector512<float> v = Vector512.Load(px + i);
                    Vector512.ConditionalSelect(Vector512.LessThanOrEqual(v, Vector512<float>.Zero), Vector512<float>.Zero, v).Store(py + i);
                }
            if (Vector256.IsHardwareAccelerated)
                for (; i + Vector256<float>.Count <= length; i += Vector256<float>.Count)
                {
                    Vector256<float> v = Vector256.Load(px + i);
                    Vector256.ConditionalSelect(Vector256.LessThanOrEqual(v, Vector256<float>.Zero), Vector256<float>.Zero, v).Store(py + i);
                }
            for (; i < length; i++) py[i] = px[i] <= 0f ? 0f : px[i];
        }
    }

    /// <summary>Naive twin of <see cref="Relu"/>.</summary>
    public static void ReluNaive(ReadOnlySpan<float> x, Span<float> destination)
    {
        CheckSameLength(x, destination, nameof(destination));
        for (int i = 0; i < x.Length; i++) destination[i] = MathF.Max(x[i], 0f);
    }

    // output (L), dOutput (L) -> dInput (L)
    /// <summary>Effectively computes dInput[i] = output[i] &gt; 0 ? dOutput[i] : 0 (PyTorch's threshold_backward).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void ReluBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        CheckSameLength(output, dOutput, nameof(dOutput));
        CheckSameLength(output, dInput, nameof(dInput));
        int i = 0, length = output.Length;
        fixed (float* y = output, dy = dOutput, dx = dInput)
        {
            if (Vector512.IsHardwareAccelerated)
                for (; i + Vector512<float>.Count <= length; i += Vector512<float>.Count)
                    Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.Load(y + i), Vector512<float>.Zero), Vector512.Load(dy + i), Vector512<float>.Zero)
                        .Store(dx + i);
            if (Vector256.IsHardwareAccelerated)
                for (; i + Vector256<float>.Count <= length; i += Vector256<float>.Count)
                    Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Load(y + i), Vector256<float>.Zero), Vector256.Load(dy + i), Vector256<float>.Zero)
                        .Store(dx + i);
            for (; i < length; i++) dx[i] = y[i] > 0f ? dy[i] : 0f;
        }
    }

    /// <summary>Naive twin of <see cref="ReluBackward"/>.</summary>
    public static void ReluBackwardNaive(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        CheckSameLength(output, dOutput, nameof(dOutput));
        CheckSameLength(output, dInput, nameof(dInput));
        for (int i = 0; i < output.Length; i++) dInput[i] = output[i] > 0f ? dOutput[i] : 0f;
    }

    // x (L) -> destination (L)
    /// <summary>
    /// Effectively computes destination[i] = 1 / (1 + exp(−x[i])), with our own exp (ExpForSigmoid, below): within 2.5 ulps
    /// of the exact sigmoid where it is a normal float (x ≥ −87.3; below, within 2^−126, and 0 past −88), NaN stays NaN, and
    /// the same bits on every machine and vector width.
    /// </summary>
    /// <remarks>
    /// TensorPrimitives.Sigmoid computed exp in double (the runtime's VectorMath.ExpSingle): 109 µs of a 64-image shard's
    /// 8.6 ms bottleneck step, more than the Linear layers' forward passes, and its bits may change with the .NET version.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Sigmoid(ReadOnlySpan<float> x, Span<float> destination)
    {
        CheckSameLength(x, destination, nameof(destination));
        int i = 0, length = x.Length;
        fixed (float* px = x, py = destination)
        {
            // Vector512 on every machine (as two Vector256 halves without AVX-512: 41 µs a shard's sigmoid with AVX2 alone,
            // against 226 µs one float at a time and 53 µs for TensorPrimitives'), the same bits either way.
            for (; i + Vector512<float>.Count <= length; i += Vector512<float>.Count)
                SigmoidVector(Vector512.Load(px + i)).Store(py + i);
            for (; i < length; i++) py[i] = SigmoidScalar(px[i]);
        }
    }

    /// <summary>Naive twin of <see cref="Sigmoid"/>: the same operations one float at a time, so equal bit for bit.</summary>
    public static void SigmoidNaive(ReadOnlySpan<float> x, Span<float> destination)
    {
        CheckSameLength(x, destination, nameof(destination));
        for (int i = 0; i < x.Length; i++) destination[i] = SigmoidScalar(x[i]);
    }

    // exp(z) = 2^k · exp(r), k = round(z·log2 e), r = z − k·ln 2 in two parts (Cody and Waite), exp(r) on |r| ≤ ln 2 / 2 by
    // Cephes' expf polynomial (relative error under 2e-7), 2^k from its exponent bits. z is clamped to [−87, 88], where
    // 2^k is a normal float: below −87, 1 + exp(z) is 1 in float anyway; above 88 the sigmoid is under 6e-39 and is 0.
    private const float ExpLow = -87f, ExpHigh = 88f;
    private const float Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> SigmoidVector(Vector512<float> x)
    {
        Vector512<float> z = -x;
        Vector512<float> e = ExpForSigmoid(Vector512.Min(Vector512.Max(z, Vector512.Create(ExpLow)), Vector512.Create(ExpHigh)));
        Vector512<float> y = Vector512<float>.One / (Vector512<float>.One + e);
        y = Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512.Create(ExpHigh)), Vector512<float>.Zero, y);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), y, x);  // NaN stays NaN
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpForSigmoid(Vector512<float> z)
    {
        Vector512<float> k = Vector512.Round(z * Vector512.Create(Log2E));
        Vector512<float> r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-Ln2Hi), z);
        r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-Ln2Lo), r);
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        Vector512<float> e = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        Vector512<float> scale = ((Vector512.ConvertToInt32(k) + Vector512.Create(127)) << 23).AsSingle();
        return e * scale;
    }

    private static float SigmoidScalar(float x)
    {
        float z = -x;
        if (float.IsNaN(x)) return x;
        if (z > ExpHigh) return 0f;
        return 1f / (1f + ExpForSigmoid(MathF.Min(MathF.Max(z, ExpLow), ExpHigh)));
    }

    private static float ExpForSigmoid(float z)
    {
        float k = MathF.Round(z * Log2E);
        float r = MathF.FusedMultiplyAdd(k, -Ln2Hi, z);
        r = MathF.FusedMultiplyAdd(k, -Ln2Lo, r);
        float p = MathF.FusedMultiplyAdd(P0, r, P1);
        p = MathF.FusedMultiplyAdd(p, r, P2);
        p = MathF.FusedMultiplyAdd(p, r, P3);
        p = MathF.FusedMultiplyAdd(p, r, P4);
        p = MathF.FusedMultiplyAdd(p, r, P5);
        float e = MathF.FusedMultiplyAdd(p, r * r, r) + 1f;
        return e * BitConverter.Int32BitsToSingle(((int)k + 127) << 23);
    }

    // output (L), dOutput (L) -> dInput (L)
    /// <summary>Effectively computes dInput[i] = dOutput[i] * (1 - output[i]) * output[i], in PyTorch's order.</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        CheckSameLength(output, dOutput, nameof(dOutput));
        CheckSameLength(output, dInput, nameof(dInput));
        if (dInput.Overlaps(output) || dInput.Overlaps(dOutput))
            throw new ArgumentException("dInput must not overlap output or dOutput.", nameof(dInput));
        TensorPrimitives.Subtract(1f, output, dInput);
        TensorPrimitives.Multiply(dOutput, dInput, dInput);
        TensorPrimitives.Multiply(dInput, output, dInput);
    }

    /// <summary>Naive twin of <see cref="SigmoidBackward"/>.</summary>
    public static void SigmoidBackwardNaive(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        CheckSameLength(output, dOutput, nameof(dOutput));
        CheckSameLength(output, dInput, nameof(dInput));
        for (int i = 0; i < output.Length; i++) dInput[i] = dOutput[i] * (1f - output[i]) * output[i];
    }

    // bias (cols) -> destination (rows, cols)
    /// <summary>Effectively computes destination[i, j] += bias[j] (a Linear layer's bias).</summary>
    public static void AddRowBias(ReadOnlySpan<float> bias, Span<float> destination, int rows)
    {
        CheckBlocks(destination, rows, bias.Length);
        for (int i = 0; i < rows; i++)
        {
            Span<float> row = destination.Slice(i * bias.Length, bias.Length);
            AddInPlace(row, bias);
        }
    }

    /// <summary>Naive twin of <see cref="AddRowBias"/>.</summary>
    public static void AddRowBiasNaive(ReadOnlySpan<float> bias, Span<float> destination, int rows)
    {
        CheckBlocks(destination, rows, bias.Length);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < bias.Length; j++) destination[i * bias.Length + j] += bias[j];
    }

    // bias (C) -> destination (N, C, S)
    /// <summary>Effectively computes destination[n, c, s] += bias[c] (a convolution's bias over S = H*W positions).</summary>
    public static void AddChannelBias(ReadOnlySpan<float> bias, Span<float> destination, int n, int spatial)
    {
        CheckBlocks(destination, n * bias.Length, spatial);
        for (int b = 0; b < n; b++)
            for (int c = 0; c < bias.Length; c++)
            {
                Span<float> plane = destination.Slice((b * bias.Length + c) * spatial, spatial);
                AddInPlace(plane, bias[c]);
            }
    }

    /// <summary>Naive twin of <see cref="AddChannelBias"/>.</summary>
    public static void AddChannelBiasNaive(ReadOnlySpan<float> bias, Span<float> destination, int n, int spatial)
    {
        CheckBlocks(destination, n * bias.Length, spatial);
        for (int b = 0; b < n; b++)
            for (int c = 0; c < bias.Length; c++)
                for (int s = 0; s < spatial; s++) destination[(b * bias.Length + c) * spatial + s] += bias[c];
    }

    // x (L) -> destination (L)
    /// <summary>Effectively computes destination[i] = x[i] * factor (each product exactly rounded, any width).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Scale(ReadOnlySpan<float> x, float factor, Span<float> destination)
    {
        CheckSameLength(x, destination, nameof(destination));
        int i = 0, length = x.Length;
        fixed (float* px = x, py = destination)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> f = Vector512.Create(factor);
                for (; i + Vector512<float>.Count <= length; i += Vector512<float>.Count) (Vector512.Load(px + i) * f).Store(py + i);
            }
            if (Vector256.IsHardwareAccelerated)
            {
                Vector256<float> f = Vector256.Create(factor);
                for (; i + Vector256<float>.Count <= length; i += Vector256<float>.Count) (Vector256.Load(px + i) * f).Store(py + i);
            }
            for (; i < length; i++) py[i] = px[i] * factor;
        }
    }

    // destination (L), x (L) -> destination (L)
    /// <summary>Effectively computes destination[i] += x[i] (each sum exactly rounded, any width).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void AddInPlace(Span<float> destination, ReadOnlySpan<float> x)
    {
        CheckSameLength(destination, x, nameof(x));
        int i = 0, length = x.Length;
        fixed (float* px = x, py = destination)
        {
            if (Vector512.IsHardwareAccelerated)
                for (; i + Vector512<float>.Count <= length; i += Vector512<float>.Count) (Vector512.Load(py + i) + Vector512.Load(px + i)).Store(py + i);
            if (Vector256.IsHardwareAccelerated)
                for (; i + Vector256<float>.Count <= length; i += Vector256<float>.Count) (Vector256.Load(py + i) + Vector256.Load(px + i)).Store(py + i);
            for (; i < length; i++) py[i] += px[i];
        }
    }

    // destination (L) -> destination (L)
    /// <summary>Effectively computes destination[i] += value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void AddInPlace(Span<float> destination, float value)
    {
        int i = 0, length = destination.Length;
        fixed (float* py = destination)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> v = Vector512.Create(value);
                for (; i + Vector512<float>.Count <= length; i += Vector512<float>.Count) (Vector512.Load(py + i) + v).Store(py + i);
            }
            if (Vector256.IsHardwareAccelerated)
            {
                Vector256<float> v = Vector256.Create(value);
                for (; i + Vector256<float>.Count <= length; i += Vector256<float>.Count) (Vector256.Load(py + i) + v).Store(py + i);
            }
            for (; i < length; i++) py[i] += value;
        }
    }

    internal static void CheckSameLength(ReadOnlySpan<float> x, ReadOnlySpan<float> other, string otherName)
    {
        if (other.Length != x.Length)
            throw new ArgumentException($"{otherName} has {other.Length} elements, expected {x.Length}.", otherName);
    }

    internal static void CheckBlocks(ReadOnlySpan<float> x, int blocks, int blockLength, string name = "destination")
    {
        if (blocks < 0 || blockLength < 0)
            throw new ArgumentException($"Sizes must not be negative ({blocks} x {blockLength}).", name);
        if (x.Length != blocks * blockLength)
            throw new ArgumentException($"{name} has {x.Length} elements, expected {blocks}*{blockLength} = {blocks * blockLength}.", name);
    }
}
