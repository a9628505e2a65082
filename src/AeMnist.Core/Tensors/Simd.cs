// One vector vocabulary for the hand-written kernels, so each kernel is written once and specialised by
// the JIT for Vector512, Vector<T> (Vector256 on AVX2, Vector128 on Arm) and plain float.
// Every operation here is exactly rounded per lane, so all three widths give identical results.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AeMnist.Tensors;

/// <summary>Which code path a kernel takes: the widest the machine runs, Vector&lt;T&gt;, or plain floats (tests compare them).</summary>
internal enum SimdPath { Widest, Vector, Scalar }

internal unsafe interface ISimd<TVector> where TVector : unmanaged
{
    static abstract int Count { get; }
    static abstract TVector Zero { get; }
    static abstract TVector Broadcast(float value);
    static abstract TVector Load(float* source);
    static abstract void Store(TVector value, float* destination);
    static abstract TVector Add(TVector left, TVector right);

    /// <summary>left * right + addend with a single rounding.</summary>
    static abstract TVector MultiplyAdd(TVector left, TVector right, TVector addend);

    /// <summary>
    /// Batch norm in evaluation mode, then ReLU when <paramref name="relu"/>: fma((x − mean)·invStd, weight, bias), and 0
    /// where that is ≤ 0 (LanesBatchNorm.Normalize's arithmetic, lane by lane).
    /// </summary>
    static abstract TVector Normalize(TVector x, float mean, float invStd, float weight, float bias, bool relu);
}

internal readonly unsafe struct Simd512 : ISimd<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* source) => Vector512.Load(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> value, float* destination) => value.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> left, Vector512<float> right) => left + right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> left, Vector512<float> right, Vector512<float> addend) =>
        Vector512.FusedMultiplyAdd(left, right, addend);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Normalize(Vector512<float> x, float mean, float invStd, float weight, float bias, bool relu)
    {
        Vector512<float> o = Vector512.FusedMultiplyAdd((x - Vector512.Create(mean)) * Vector512.Create(invStd), Vector512.Create(weight), Vector512.Create(bias));
        return relu ? Vector512.ConditionalSelect(Vector512.LessThanOrEqual(o, Vector512<float>.Zero), Vector512<float>.Zero, o) : o;
    }
}

internal readonly unsafe struct SimdVector : ISimd<Vector<float>>
{
    public static int Count => Vector<float>.Count;
    public static Vector<float> Zero => Vector<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<float> Broadcast(float value) => new(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<float> Load(float* source) => Vector.Load(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector<float> value, float* destination) => value.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<float> Add(Vector<float> left, Vector<float> right) => left + right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> MultiplyAdd(Vector<float> left, Vector<float> right, Vector<float> addend) =>
        Vector.FusedMultiplyAdd(left, right, addend);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Normalize(Vector<float> x, float mean, float invStd, float weight, float bias, bool relu)
    {
        Vector<float> o = Vector.FusedMultiplyAdd((x - new Vector<float>(mean)) * new Vector<float>(invStd), new Vector<float>(weight), new Vector<float>(bias));
        return relu ? Vector.ConditionalSelect(Vector.LessThanOrEqual(o, Vector<float>.Zero), Vector<float>.Zero, o) : o;
    }
}

internal readonly unsafe struct SimdScalar : ISimd<float>
{
    public static int Count => 1;
    public static float Zero => 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Broadcast(float value) => value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(float* source) => *source;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float value, float* destination) => *destination = value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Add(float left, float right) => left + right;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float left, float right, float addend) => MathF.FusedMultiplyAdd(left, right, addend);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Normalize(float x, float mean, float invStd, float weight, float bias, bool relu)
    {
        float o = MathF.FusedMultiplyAdd((x - mean) * invStd, weight, bias);
        return relu && o <= 0f ? 0f : o;
    }
}
