// A·Bᵀ as dot products of rows, for long k and few outputs (the weight gradients of convolutions), with a naive twin.
// Each dot product runs in 16 interleaved lanes (lane l sums p ≡ l mod 16 with fused multiply-adds), reduced by a
// fixed tree ((l, l+8), then (l, l+4), (l, l+2), (0, 1)), then the last k mod 16 terms are chained on. The order is
// the same on every code path, so the result does not depend on the vector width of the machine.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AeMnist.Tensors;

public static unsafe partial class Gemm
{
    private const int Lanes = 16;

    // a (m, k), b (n, k) -> destination (m, n)
    /// <summary>
    /// Effectively computes destination = a·bᵀ (or +=) like <see cref="MatMulTransposeB"/>, but reads both operands
    /// along k without packing; best when k is long and m*n small.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RowDots(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination, int m, int k, int n, bool accumulate = false)
    {
        CheckSizes(a, b, destination, m, k, n);
        fixed (float* pa = a, pb = b, pc = destination)
        {
            if (Vector512.IsHardwareAccelerated) RowDots<Lanes512, Vector512<float>>(pa, pb, pc, m, k, n, accumulate);
            else if (Vector256.IsHardwareAccelerated) RowDots<Lanes256, (Vector256<float>, Vector256<float>)>(pa, pb, pc, m, k, n, accumulate);
            else RowDots<LanesScalar, LaneArray>(pa, pb, pc, m, k, n, accumulate);
        }
    }

    // a (m, k), b (n, k) -> destination (m, n)
    /// <summary>Naive twin of <see cref="RowDots"/>, with the lanes and the reduction tree written out.</summary>
    public static void RowDotsNaive(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination, int m, int k, int n, bool accumulate = false)
    {
        CheckSizes(a, b, destination, m, k, n);
        Span<float> lanes = stackalloc float[Lanes];
        int k16 = k - k % Lanes;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                lanes.Clear();
                for (int p = 0; p < k16; p++) lanes[p % Lanes] = MathF.FusedMultiplyAdd(a[i * k + p], b[j * k + p], lanes[p % Lanes]);
                for (int width = Lanes / 2; width >= 1; width /= 2)
                    for (int l = 0; l < width; l++) lanes[l] += lanes[l + width];
                float sum = lanes[0];
                for (int p = k16; p < k; p++) sum = MathF.FusedMultiplyAdd(a[i * k + p], b[j * k + p], sum);
                destination[i * n + j] = accumulate ? destination[i * n + j] + sum : sum;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowDots<TLanes, TAcc>(float* a, float* b, float* c, int m, int k, int n, bool accumulate)
        where TLanes : struct, ILanes<TAcc>
        where TAcc : unmanaged
    {
        // Four rows of b at a time against every pair of rows of a: the four b rows stay in cache while a streams
        // (a weight gradient's a is Cout rows, small enough for L2; b is Cin*K*K rows, too many to keep).
        int pairs = m - m % 2, j = 0;
        for (; j + 4 <= n; j += 4)
        {
            float* b0 = b + (nint)j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
            int i = 0;
            // With 32 vector registers (AVX-512), four rows of a at once: 8 loads per 16 multiply-adds.
            if (typeof(TAcc) == typeof(Vector512<float>))
                for (; i + 4 <= pairs; i += 4) Dots4x4<TLanes, TAcc>(a + (nint)i * k, b0, c + (nint)i * n + j, k, n, accumulate);
            for (; i < pairs; i += 2)
            {
                float* a0 = a + (nint)i * k, a1 = a0 + k;
                TAcc s00 = TLanes.Zero, s01 = TLanes.Zero, s02 = TLanes.Zero, s03 = TLanes.Zero;
                TAcc s10 = TLanes.Zero, s11 = TLanes.Zero, s12 = TLanes.Zero, s13 = TLanes.Zero;
                for (int p = 0; p + Lanes <= k; p += Lanes)
                {
                    TAcc x0 = TLanes.Load(a0 + p), x1 = TLanes.Load(a1 + p), y = TLanes.Load(b0 + p);
                    s00 = TLanes.MultiplyAdd(x0, y, s00); s10 = TLanes.MultiplyAdd(x1, y, s10);
                    y = TLanes.Load(b1 + p);
                    s01 = TLanes.MultiplyAdd(x0, y, s01); s11 = TLanes.MultiplyAdd(x1, y, s11);
                    y = TLanes.Load(b2 + p);
                    s02 = TLanes.MultiplyAdd(x0, y, s02); s12 = TLanes.MultiplyAdd(x1, y, s12);
                    y = TLanes.Load(b3 + p);
                    s03 = TLanes.MultiplyAdd(x0, y, s03); s13 = TLanes.MultiplyAdd(x1, y, s13);
                }
                float* c0 = c + (nint)i * n + j, c1 = c0 + n;
                PutDot(TLanes.Reduce(s00), a0, b0, k, c0, accumulate); PutDot(TLanes.Reduce(s01), a0, b1, k, c0 + 1, accumulate);
                PutDot(TLanes.Reduce(s02), a0, b2, k, c0 + 2, accumulate); PutDot(TLanes.Reduce(s03), a0, b3, k, c0 + 3, accumulate);
                PutDot(TLanes.Reduce(s10), a1, b0, k, c1, accumulate); PutDot(TLanes.Reduce(s11), a1, b1, k, c1 + 1, accumulate);
                PutDot(TLanes.Reduce(s12), a1, b2, k, c1 + 2, accumulate); PutDot(TLanes.Reduce(s13), a1, b3, k, c1 + 3, accumulate);
            }
        }
        for (; j < n; j++)
        {
            float* bj = b + (nint)j * k;
            for (int i = 0; i < pairs; i++)
            {
                float* ai = a + (nint)i * k;
                PutDot(Dot<TLanes, TAcc>(ai, bj, k), ai, bj, k, c + (nint)i * n + j, accumulate);
            }
        }
        for (int i = pairs; i < m; i++)
        {
            float* ai = a + (nint)i * k;
            for (int jj = 0; jj < n; jj++)
            {
                float* bj = b + (nint)jj * k;
                PutDot(Dot<TLanes, TAcc>(ai, bj, k), ai, bj, k, c + (nint)i * n + jj, accumulate);
            }
        }
    }

    // Rows a[0..4) against rows b0..b0+3k: sixteen dot products.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dots4x4<TLanes, TAcc>(float* a, float* b, float* c, int k, int n, bool accumulate)
        where TLanes : struct, ILanes<TAcc>
        where TAcc : unmanaged
    {
        float* a0 = a, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
        float* b0 = b, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
        TAcc s00 = TLanes.Zero, s01 = TLanes.Zero, s02 = TLanes.Zero, s03 = TLanes.Zero;
        TAcc s10 = TLanes.Zero, s11 = TLanes.Zero, s12 = TLanes.Zero, s13 = TLanes.Zero;
        TAcc s20 = TLanes.Zero, s21 = TLanes.Zero, s22 = TLanes.Zero, s23 = TLanes.Zero;
        TAcc s30 = TLanes.Zero, s31 = TLanes.Zero, s32 = TLanes.Zero, s33 = TLanes.Zero;
        for (int p = 0; p + Lanes <= k; p += Lanes)
        {
            TAcc y0 = TLanes.Load(b0 + p), y1 = TLanes.Load(b1 + p), y2 = TLanes.Load(b2 + p), y3 = TLanes.Load(b3 + p);
            TAcc x = TLanes.Load(a0 + p);
            s00 = TLanes.MultiplyAdd(x, y0, s00); s01 = TLanes.MultiplyAdd(x, y1, s01); s02 = TLanes.MultiplyAdd(x, y2, s02); s03 = TLanes.MultiplyAdd(x, y3, s03);
            x = TLanes.Load(a1 + p);
            s10 = TLanes.MultiplyAdd(x, y0, s10); s11 = TLanes.MultiplyAdd(x, y1, s11); s12 = TLanes.MultiplyAdd(x, y2, s12); s13 = TLanes.MultiplyAdd(x, y3, s13);
            x = TLanes.Load(a2 + p);
            s20 = TLanes.MultiplyAdd(x, y0, s20); s21 = TLanes.MultiplyAdd(x, y1, s21); s22 = TLanes.MultiplyAdd(x, y2, s22); s23 = TLanes.MultiplyAdd(x, y3, s23);
            x = TLanes.Load(a3 + p);
            s30 = TLanes.MultiplyAdd(x, y0, s30); s31 = TLanes.MultiplyAdd(x, y1, s31); s32 = TLanes.MultiplyAdd(x, y2, s32); s33 = TLanes.MultiplyAdd(x, y3, s33);
        }
        float* c0 = c, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
        PutDot(TLanes.Reduce(s00), a0, b0, k, c0, accumulate); PutDot(TLanes.Reduce(s01), a0, b1, k, c0 + 1, accumulate);
        PutDot(TLanes.Reduce(s02), a0, b2, k, c0 + 2, accumulate); PutDot(TLanes.Reduce(s03), a0, b3, k, c0 + 3, accumulate);
        PutDot(TLanes.Reduce(s10), a1, b0, k, c1, accumulate); PutDot(TLanes.Reduce(s11), a1, b1, k, c1 + 1, accumulate);
        PutDot(TLanes.Reduce(s12), a1, b2, k, c1 + 2, accumulate); PutDot(TLanes.Reduce(s13), a1, b3, k, c1 + 3, accumulate);
        PutDot(TLanes.Reduce(s20), a2, b0, k, c2, accumulate); PutDot(TLanes.Reduce(s21), a2, b1, k, c2 + 1, accumulate);
        PutDot(TLanes.Reduce(s22), a2, b2, k, c2 + 2, accumulate); PutDot(TLanes.Reduce(s23), a2, b3, k, c2 + 3, accumulate);
        PutDot(TLanes.Reduce(s30), a3, b0, k, c3, accumulate); PutDot(TLanes.Reduce(s31), a3, b1, k, c3 + 1, accumulate);
        PutDot(TLanes.Reduce(s32), a3, b2, k, c3 + 2, accumulate); PutDot(TLanes.Reduce(s33), a3, b3, k, c3 + 3, accumulate);
    }

    // The lane part of one dot product, reduced.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot<TLanes, TAcc>(float* a, float* b, int k)
        where TLanes : struct, ILanes<TAcc>
        where TAcc : unmanaged
    {
        TAcc s = TLanes.Zero;
        for (int p = 0; p + Lanes <= k; p += Lanes) s = TLanes.MultiplyAdd(TLanes.Load(a + p), TLanes.Load(b + p), s);
        return TLanes.Reduce(s);
    }

    // Chains the last k mod 16 terms onto the reduced lanes and stores or accumulates the dot product.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutDot(float sum, float* a, float* b, int k, float* destination, bool accumulate)
    {
        for (int p = k - k % Lanes; p < k; p++) sum = MathF.FusedMultiplyAdd(a[p], b[p], sum);
        *destination = accumulate ? *destination + sum : sum;
    }

    internal interface ILanes<TAcc> where TAcc : unmanaged
    {
        static abstract TAcc Zero { get; }
        static abstract TAcc Load(float* source);
        static abstract TAcc MultiplyAdd(TAcc left, TAcc right, TAcc addend);
        static abstract float Reduce(TAcc lanes);
    }

    // Lanes 0..3 after the first two tree levels: (l, l+2) then (0, 1).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce4(Vector128<float> t4)
    {
        Vector128<float> t2 = t4 + Vector128.Shuffle(t4, Vector128.Create(2, 3, 0, 1));
        return t2.GetElement(0) + t2.GetElement(1);
    }

    internal readonly struct Lanes512 : ILanes<Vector512<float>>
    {
        public static Vector512<float> Zero => Vector512<float>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* source) => Vector512.Load(source);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> MultiplyAdd(Vector512<float> left, Vector512<float> right, Vector512<float> addend) =>
            Vector512.FusedMultiplyAdd(left, right, addend);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Reduce(Vector512<float> lanes) => Reductions.ReduceLanes(lanes);
    }

    internal readonly struct Lanes256 : ILanes<(Vector256<float> Low, Vector256<float> High)>
    {
        public static (Vector256<float> Low, Vector256<float> High) Zero => (Vector256<float>.Zero, Vector256<float>.Zero);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector256<float> Low, Vector256<float> High) Load(float* source) => (Vector256.Load(source), Vector256.Load(source + 8));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector256<float> Low, Vector256<float> High) MultiplyAdd(
            (Vector256<float> Low, Vector256<float> High) left, (Vector256<float> Low, Vector256<float> High) right,
            (Vector256<float> Low, Vector256<float> High) addend) =>
            (Vector256.FusedMultiplyAdd(left.Low, right.Low, addend.Low), Vector256.FusedMultiplyAdd(left.High, right.High, addend.High));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Reduce((Vector256<float> Low, Vector256<float> High) lanes)
        {
            Vector256<float> t8 = lanes.Low + lanes.High;
            return Reduce4(t8.GetLower() + t8.GetUpper());
        }
    }

    [InlineArray(Lanes)]
    internal struct LaneArray
    {
        private float _element;
    }

    internal readonly struct LanesScalar : ILanes<LaneArray>
    {
        public static LaneArray Zero => default;

        public static LaneArray Load(float* source)
        {
            LaneArray lanes = default;
            for (int l = 0; l < Lanes; l++) lanes[l] = source[l];
            return lanes;
        }

        public static LaneArray MultiplyAdd(LaneArray left, LaneArray right, LaneArray addend)
        {
            for (int l = 0; l < Lanes; l++) addend[l] = MathF.FusedMultiplyAdd(left[l], right[l], addend[l]);
            return addend;
        }

        public static float Reduce(LaneArray lanes)
        {
            for (int width = Lanes / 2; width >= 1; width /= 2)
                for (int l = 0; l < width; l++) lanes[l] += lanes[l + width];
            return lanes[0];
        }
    }
}
