// Matrix products for every layer: C = A·B, C = Aᵀ·B and C = A·Bᵀ on row-major float32, each with a naive twin.
// Every element of C is one fused multiply-add chain over k in increasing order, starting from zero, then
// added to C when accumulating. All code paths (Vector512, Vector<T>, scalar) keep that order, so a fast
// kernel equals its naive twin bit for bit, and a row's result never depends on which rows share the call
// (a batch of one image and a batch of 512 give that image the same output).
// Hot methods are marked AggressiveOptimization so short runs and tests do not spend their time in tier-0 code.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AeMnist.Tensors;

public static unsafe partial class Gemm
{
    // Register block: 4 rows of C by 4 vectors of columns (16 accumulators), then 4x1, 1x4, 1x1 edges.
    private const int BlockRows = 4;
    private const int BlockVectors = 4;

    [ThreadStatic] private static float[]? t_packedB;

    // a (m, k), b (k, n) -> destination (m, n)
    /// <summary>Effectively computes destination = a·b (or destination += a·b when <paramref name="accumulate"/>).</summary>
    public static void MatMul(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination, int m, int k, int n, bool accumulate = false)
    {
        CheckSizes(a, b, destination, m, k, n);
        fixed (float* pa = a, pb = b, pc = destination)
            Run(pa, k, 1, pb, pc, m, k, n, accumulate);
    }

    // a (m, k), b (k, n), bias (n) -> destination (m, n)
    /// <summary>
    /// Effectively computes destination = a·b, then adds bias[j] to every element of column j as it stores it: the same
    /// bits as <see cref="MatMul"/> followed by Elementwise.AddRowBias, in one pass over destination (a Linear layer).
    /// </summary>
    public static void MatMulAddBias(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> bias, Span<float> destination, int m, int k, int n)
    {
        CheckSizes(a, b, destination, m, k, n);
        if (bias.Length != n) throw new ArgumentException($"bias has {bias.Length} elements, expected n = {n}.", nameof(bias));
        fixed (float* pa = a, pb = b, pc = destination, pBias = bias)
            Run(pa, k, 1, pb, pc, m, k, n, accumulate: false, n == 0 ? null : pBias);
    }

    // a (k, m), b (k, n) -> destination (m, n)
    /// <summary>Effectively computes destination = aᵀ·b (or +=), where <paramref name="a"/> is stored (k, m).</summary>
    public static void MatMulTransposeA(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination, int m, int k, int n, bool accumulate = false)
    {
        CheckSizes(a, b, destination, m, k, n);
        fixed (float* pa = a, pb = b, pc = destination)
            Run(pa, 1, m, pb, pc, m, k, n, accumulate);
    }

    // a (m, k), b (n, k) -> destination (m, n)
    /// <summary>Effectively computes destination = a·bᵀ (or +=), where <paramref name="b"/> is stored (n, k).</summary>
    /// <remarks>b is first transposed into a per-thread scratch buffer that grows once and is then reused.</remarks>
    public static void MatMulTransposeB(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination, int m, int k, int n, bool accumulate = false)
    {
        CheckSizes(a, b, destination, m, k, n);
        int length = k * n;
        float[] packed = t_packedB is { } existing && existing.Length >= length ? existing : (t_packedB = new float[length]);
        Transpose(b, packed, n, k);
        fixed (float* pa = a, pb = packed, pc = destination)
            Run(pa, k, 1, pb, pc, m, k, n, accumulate);
    }

    // a (m, k), b (k, n) -> destination (m, n)
    /// <summary>Naive twin of <see cref="MatMul"/>.</summary>
    public static void MatMulNaive(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination, int m, int k, int n, bool accumulate = false) =>
        Naive(a, k, 1, b, n, 1, destination, m, k, n, accumulate);

    // a (k, m), b (k, n) -> destination (m, n)
    /// <summary>Naive twin of <see cref="MatMulTransposeA"/>.</summary>
    public static void MatMulTransposeANaive(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination, int m, int k, int n, bool accumulate = false) =>
        Naive(a, 1, m, b, n, 1, destination, m, k, n, accumulate);

    // a (m, k), b (n, k) -> destination (m, n)
    /// <summary>Naive twin of <see cref="MatMulTransposeB"/>.</summary>
    public static void MatMulTransposeBNaive(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination, int m, int k, int n, bool accumulate = false) =>
        Naive(a, k, 1, b, 1, k, destination, m, k, n, accumulate);

    // A element (i, p) at a[i*aRow + p*aCol], B element (p, j) at b[p*bRow + j*bCol]; destination (m, n) row-major.
    private static void Naive(ReadOnlySpan<float> a, int aRow, int aCol, ReadOnlySpan<float> b, int bRow, int bCol,
        Span<float> destination, int m, int k, int n, bool accumulate)
    {
        CheckSizes(a, b, destination, m, k, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++) sum = MathF.FusedMultiplyAdd(a[i * aRow + p * aCol], b[p * bRow + j * bCol], sum);
                destination[i * n + j] = accumulate ? destination[i * n + j] + sum : sum;
            }
    }

    // source (rows, cols) -> destination (cols, rows)
    /// <summary>destination[c, r] = source[r, c]: 8 x 8 tiles in registers (AVX), the edges element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(ReadOnlySpan<float> source, Span<float> destination, int rows, int cols)
    {
        if (rows < 0 || cols < 0 || source.Length < rows * cols || destination.Length < rows * cols)
            throw new ArgumentException($"Transpose of ({rows}, {cols}) needs {rows * cols} elements on each side.");
        int tiledRows = 0, tiledCols = 0;
        fixed (float* s = source, d = destination)
        {
            if (Avx.IsSupported)
            {
                tiledRows = rows - rows % 8;
                tiledCols = cols - cols % 8;
                for (int r0 = 0; r0 < tiledRows; r0 += 8)
                    for (int c0 = 0; c0 < tiledCols; c0 += 8)
                        Transpose8x8(s + (nint)r0 * cols + c0, cols, d + (nint)c0 * rows + r0, rows);
            }
            // The edges: the columns right of the tiles in every row, then the rows below them.
            for (int r = 0; r < rows; r++)
            {
                float* row = s + (nint)r * cols;
                for (int c = r < tiledRows ? tiledCols : 0; c < cols; c++) d[(nint)c * rows + r] = row[c];
            }
        }
    }

    // An 8 x 8 block at s (row stride sStride) written transposed at d (row stride dStride).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, nint sStride, float* d, nint dStride)
    {
        Vector256<float> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + sStride), r2 = Avx.LoadVector256(s + 2 * sStride), r3 = Avx.LoadVector256(s + 3 * sStride);
        Vector256<float> r4 = Avx.LoadVector256(s + 4 * sStride), r5 = Avx.LoadVector256(s + 5 * sStride), r6 = Avx.LoadVector256(s + 6 * sStride), r7 = Avx.LoadVector256(s + 7 * sStride);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + dStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * dStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * dStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * dStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * dStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * dStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * dStride, Avx.Permute2x128(u3, u7, 0x31));
    }

    private static void CheckSizes(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> destination, int m, int k, int n)
    {
        if (m < 0 || k < 0 || n < 0)
            throw new ArgumentException($"Matrix sizes must not be negative (m={m}, k={k}, n={n}).");
        if (a.Length != m * k)
            throw new ArgumentException($"a has {a.Length} elements, expected m*k = {m}*{k} = {m * k}.", nameof(a));
        if (b.Length != k * n)
            throw new ArgumentException($"b has {b.Length} elements, expected k*n = {k}*{n} = {k * n}.", nameof(b));
        if (destination.Length != m * n)
            throw new ArgumentException($"destination has {destination.Length} elements, expected m*n = {m}*{n} = {m * n}.", nameof(destination));
    }

    // A element (i, p) is at a[i*rowStride + p*colStride]; b is (k, n) row-major; c is (m, n) row-major.
    // Columns are taken in panels of PanelColumns (a multiple of every block width), and every row block sweeps one
    // panel before the next: the panel of B (k x PanelColumns) then stays in L2 for all of A's rows. Each element of C
    // is still one chain over k, so the panels change no bit.
    private const int PanelColumns = 512;

    // With enough rows to share it, each 64-column block of B is first copied into a contiguous (k, 64) buffer, which
    // every row block then streams with unit stride (the hardware prefetcher's case) instead of one 256-byte piece per
    // row n floats apart. Same multiply-adds in the same order, so the same bits.
    private const int PackMinRows = 8;
    private const int PackedColumns = BlockVectors * 16;

    [ThreadStatic] private static float[]? t_packedPanel;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run(float* a, nint rowStride, nint colStride, float* b, float* c, int m, int k, int n, bool accumulate, float* bias = null)
    {
        int packedEnd = 0;
        if (Vector512.IsHardwareAccelerated && m >= PackMinRows && n >= PackedColumns && k > 0)
        {
            packedEnd = n - n % PackedColumns;
            int length = k * PackedColumns;
            float[] panel = t_packedPanel is { } existing && existing.Length >= length ? existing : (t_packedPanel = GC.AllocateArray<float>(length, pinned: true));
            fixed (float* copy = panel)
                for (int j = 0; j < packedEnd; j += PackedColumns)
                {
                    // A B of exactly 64 columns (a lanes tensor) is its own packed block.
                    float* packed = n == PackedColumns ? b : copy;
                    if (n != PackedColumns)
                        for (int p = 0; p < k; p++)
                            new ReadOnlySpan<float>(b + (nint)p * n + j, PackedColumns).CopyTo(new Span<float>(packed + (nint)p * PackedColumns, PackedColumns));
                    int i = 0;
                    for (; i + BlockRows <= m; i += BlockRows)
                        Block4x4<Simd512, Vector512<float>>(a + i * rowStride, rowStride, colStride, packed, PackedColumns, c + (nint)i * n + j, k, n, accumulate, Offset(bias, j));
                    for (; i < m; i++)
                        Block1x4<Simd512, Vector512<float>>(a + i * rowStride, colStride, packed, PackedColumns, c + (nint)i * n + j, k, n, accumulate, Offset(bias, j));
                }
            if (packedEnd == n) return;
        }
        for (int j0 = packedEnd; j0 < n; j0 += PanelColumns)
        {
            int end = Math.Min(n, j0 + PanelColumns);
            int i = 0;
            for (; i + BlockRows <= m; i += BlockRows)
                RowBlock<Rows4>(a + i * rowStride, rowStride, colStride, b, c + (nint)i * n, k, n, j0, end, accumulate, bias);
            for (; i < m; i++)
                RowBlock<Rows1>(a + i * rowStride, rowStride, colStride, b, c + (nint)i * n, k, n, j0, end, accumulate, bias);
        }
    }

    // The bias of the columns from j on (null: no bias).
    private static float* Offset(float* bias, int j) => bias == null ? null : bias + j;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowBlock<TRows>(float* a, nint rowStride, nint colStride, float* b, float* c, int k, int n, int start, int end, bool accumulate, float* bias)
        where TRows : struct, IRowCount
    {
        int j = start;
        if (Vector512.IsHardwareAccelerated)
            Columns<TRows, Simd512, Vector512<float>>(a, rowStride, colStride, b, c, k, n, end, accumulate, bias, ref j);
        else if (System.Numerics.Vector.IsHardwareAccelerated)
            Columns<TRows, SimdVector, System.Numerics.Vector<float>>(a, rowStride, colStride, b, c, k, n, end, accumulate, bias, ref j);
        Columns<TRows, SimdScalar, float>(a, rowStride, colStride, b, c, k, n, end, accumulate, bias, ref j);
    }

    // Covers columns from j up to end in blocks of BlockVectors vectors, then single vectors; advances j.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns<TRows, TOps, TVector>(float* a, nint rowStride, nint colStride, float* b, float* c, int k, int n, int end, bool accumulate, float* bias, ref int j)
        where TRows : struct, IRowCount
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        int w = TOps.Count;
        for (; j + BlockVectors * w <= end; j += BlockVectors * w)
        {
            if (TRows.Count == 4) Block4x4<TOps, TVector>(a, rowStride, colStride, b + j, n, c + j, k, n, accumulate, Offset(bias, j));
            else Block1x4<TOps, TVector>(a, colStride, b + j, n, c + j, k, n, accumulate, Offset(bias, j));
        }
        for (; j + w <= end; j += w)
        {
            if (TRows.Count == 4) Block4x1<TOps, TVector>(a, rowStride, colStride, b + j, n, c + j, k, n, accumulate, Offset(bias, j));
            else Block1x1<TOps, TVector>(a, colStride, b + j, n, c + j, k, n, accumulate, Offset(bias, j));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block4x4<TOps, TVector>(float* a, nint rowStride, nint colStride, float* b, nint bStride, float* c, int k, int n, bool accumulate, float* bias)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        int w = TOps.Count;
        TVector c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero;
        TVector c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero;
        TVector c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero;
        TVector c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero;
        float* a0 = a, a1 = a + rowStride, a2 = a + 2 * rowStride, a3 = a + 3 * rowStride;
        for (int p = 0; p < k; p++)
        {
            TVector b0 = TOps.Load(b), b1 = TOps.Load(b + w), b2 = TOps.Load(b + 2 * w), b3 = TOps.Load(b + 3 * w);
            TVector x = TOps.Broadcast(*a0);
            c00 = TOps.MultiplyAdd(x, b0, c00); c01 = TOps.MultiplyAdd(x, b1, c01); c02 = TOps.MultiplyAdd(x, b2, c02); c03 = TOps.MultiplyAdd(x, b3, c03);
            x = TOps.Broadcast(*a1);
            c10 = TOps.MultiplyAdd(x, b0, c10); c11 = TOps.MultiplyAdd(x, b1, c11); c12 = TOps.MultiplyAdd(x, b2, c12); c13 = TOps.MultiplyAdd(x, b3, c13);
            x = TOps.Broadcast(*a2);
            c20 = TOps.MultiplyAdd(x, b0, c20); c21 = TOps.MultiplyAdd(x, b1, c21); c22 = TOps.MultiplyAdd(x, b2, c22); c23 = TOps.MultiplyAdd(x, b3, c23);
            x = TOps.Broadcast(*a3);
            c30 = TOps.MultiplyAdd(x, b0, c30); c31 = TOps.MultiplyAdd(x, b1, c31); c32 = TOps.MultiplyAdd(x, b2, c32); c33 = TOps.MultiplyAdd(x, b3, c33);
            a0 += colStride; a1 += colStride; a2 += colStride; a3 += colStride;
            b += bStride;
        }
        float* r0 = c, r1 = c + n, r2 = c + 2 * (nint)n, r3 = c + 3 * (nint)n;
        Put<TOps, TVector>(c00, r0, accumulate, bias); Put<TOps, TVector>(c01, r0 + w, accumulate, Offset(bias, w)); Put<TOps, TVector>(c02, r0 + 2 * w, accumulate, Offset(bias, 2 * w)); Put<TOps, TVector>(c03, r0 + 3 * w, accumulate, Offset(bias, 3 * w));
        Put<TOps, TVector>(c10, r1, accumulate, bias); Put<TOps, TVector>(c11, r1 + w, accumulate, Offset(bias, w)); Put<TOps, TVector>(c12, r1 + 2 * w, accumulate, Offset(bias, 2 * w)); Put<TOps, TVector>(c13, r1 + 3 * w, accumulate, Offset(bias, 3 * w));
        Put<TOps, TVector>(c20, r2, accumulate, bias); Put<TOps, TVector>(c21, r2 + w, accumulate, Offset(bias, w)); Put<TOps, TVector>(c22, r2 + 2 * w, accumulate, Offset(bias, 2 * w)); Put<TOps, TVector>(c23, r2 + 3 * w, accumulate, Offset(bias, 3 * w));
        Put<TOps, TVector>(c30, r3, accumulate, bias); Put<TOps, TVector>(c31, r3 + w, accumulate, Offset(bias, w)); Put<TOps, TVector>(c32, r3 + 2 * w, accumulate, Offset(bias, 2 * w)); Put<TOps, TVector>(c33, r3 + 3 * w, accumulate, Offset(bias, 3 * w));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block4x1<TOps, TVector>(float* a, nint rowStride, nint colStride, float* b, nint bStride, float* c, int k, int n, bool accumulate, float* bias)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        TVector c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero;
        float* a0 = a, a1 = a + rowStride, a2 = a + 2 * rowStride, a3 = a + 3 * rowStride;
        for (int p = 0; p < k; p++)
        {
            TVector b0 = TOps.Load(b);
            c0 = TOps.MultiplyAdd(TOps.Broadcast(*a0), b0, c0);
            c1 = TOps.MultiplyAdd(TOps.Broadcast(*a1), b0, c1);
            c2 = TOps.MultiplyAdd(TOps.Broadcast(*a2), b0, c2);
            c3 = TOps.MultiplyAdd(TOps.Broadcast(*a3), b0, c3);
            a0 += colStride; a1 += colStride; a2 += colStride; a3 += colStride;
            b += bStride;
        }
        Put<TOps, TVector>(c0, c, accumulate, bias);
        Put<TOps, TVector>(c1, c + n, accumulate, bias);
        Put<TOps, TVector>(c2, c + 2 * (nint)n, accumulate, bias);
        Put<TOps, TVector>(c3, c + 3 * (nint)n, accumulate, bias);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block1x4<TOps, TVector>(float* a, nint colStride, float* b, nint bStride, float* c, int k, int n, bool accumulate, float* bias)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        int w = TOps.Count;
        TVector c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero;
        for (int p = 0; p < k; p++)
        {
            TVector x = TOps.Broadcast(*a);
            c0 = TOps.MultiplyAdd(x, TOps.Load(b), c0);
            c1 = TOps.MultiplyAdd(x, TOps.Load(b + w), c1);
            c2 = TOps.MultiplyAdd(x, TOps.Load(b + 2 * w), c2);
            c3 = TOps.MultiplyAdd(x, TOps.Load(b + 3 * w), c3);
            a += colStride;
            b += bStride;
        }
        Put<TOps, TVector>(c0, c, accumulate, bias);
        Put<TOps, TVector>(c1, c + w, accumulate, Offset(bias, w));
        Put<TOps, TVector>(c2, c + 2 * w, accumulate, Offset(bias, 2 * w));
        Put<TOps, TVector>(c3, c + 3 * w, accumulate, Offset(bias, 3 * w));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block1x1<TOps, TVector>(float* a, nint colStride, float* b, nint bStride, float* c, int k, int n, bool accumulate, float* bias)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        TVector c0 = TOps.Zero;
        for (int p = 0; p < k; p++)
        {
            c0 = TOps.MultiplyAdd(TOps.Broadcast(*a), TOps.Load(b), c0);
            a += colStride;
            b += bStride;
        }
        Put<TOps, TVector>(c0, c, accumulate, bias);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<TOps, TVector>(TVector value, float* destination, bool accumulate, float* bias)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        if (accumulate) value = TOps.Add(TOps.Load(destination), value);
        if (bias != null) value = TOps.Add(value, TOps.Load(bias));
        TOps.Store(value, destination);
    }

    private interface IRowCount { static abstract int Count { get; } }
    private readonly struct Rows4 : IRowCount { public static int Count => 4; }
    private readonly struct Rows1 : IRowCount { public static int Count => 1; }
}
