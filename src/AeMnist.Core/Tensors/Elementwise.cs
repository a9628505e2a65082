// Element-wise kernels for activations and biases, each with a naive twin.
// Fast versions are hand-written Vector512/Vector256 loops (TensorPrimitives 11.0 was several times slower here);
// only Sigmoid, which the tutorial's models do not use, still calls TensorPrimitives for its exp.
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
    /// <summary>Effectively computes destination[i] = 1 / (1 + exp(-x[i])).</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> destination)
    {
        CheckSameLength(x, destination, nameof(destination));
        if (x.IsEmpty) return;  // TensorPrimitives.Sigmoid rejects empty spans
        TensorPrimitives.Sigmoid(x, destination);
    }

    /// <summary>Naive twin of <see cref="Sigmoid"/> (agrees to a few ulps, not bit for bit: exp differs).</summary>
    public static void SigmoidNaive(ReadOnlySpan<float> x, Span<float> destination)
    {
        CheckSameLength(x, destination, nameof(destination));
        for (int i = 0; i < x.Length; i++) destination[i] = 1f / (1f + MathF.Exp(-x[i]));
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
