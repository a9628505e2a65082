// The lanes layout of a batch: n samples of R values stored (R, L), one row of L lanes per value and one sample per lane,
// L = n rounded up to a multiple of 16 (one Vector512) with the lanes past n padding. Images are (H*W, C, L): channels
// innermost within a position, the batch innermost of all, so every kernel of LanesConv and LanesBatchNorm works on
// whole vectors. Conversions from and to rows (n, R), and the row orders of Flatten and Unflatten, each with a naive twin.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AeMnist.Tensors;

public static unsafe class Lanes
{
    /// <summary>Lanes are padded to a multiple of this (one Vector512 of floats).</summary>
    public const int Multiple = 16;

    /// <summary>The lanes a batch of <paramref name="n"/> samples takes: n rounded up to a multiple of 16.</summary>
    public static int Padded(int n) => (n + Multiple - 1) / Multiple * Multiple;

    // rows (n, R) -> lanes (R, L)
    /// <summary>
    /// Effectively computes lanes[d(r), l] = rows[l, r] for l &lt; n and 0 for the padding lanes, where d(r) =
    /// <paramref name="order"/>[r], or r when it is empty (an image's rows move from PyTorch's (C, H, W) order to the
    /// lanes layout's (H*W, C) with the inverse of <see cref="ChannelsFirstOrder"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FromRows(ReadOnlySpan<float> rows, int n, int length, Span<float> lanes, ReadOnlySpan<int> order = default)
    {
        int l = CheckRelayout(rows.Length, lanes.Length, n, length);
        CheckOrder(order, length);
        fixed (float* source = rows, destination = lanes)
        fixed (int* map = order)
        {
            // 16 x 16 tiles: 16 samples' stretch of 16 values, written as 16 rows of 16 lanes (in registers with AVX-512).
            for (int l0 = 0; l0 < l; l0 += Multiple)
            {
                int count = Math.Min(Multiple, n - l0), r0 = 0;
                if (count == Multiple && Avx512F.IsSupported && map is null)
                    for (; r0 + Multiple <= length; r0 += Multiple)
                        Transpose16(source + (nint)l0 * length + r0, length, destination + (nint)r0 * l + l0, l);
                for (; r0 < length; r0 += Multiple)
                {
                    int r1 = Math.Min(length, r0 + Multiple);
                    for (int r = r0; r < r1; r++)
                    {
                        float* target = destination + (nint)(map is null ? r : map[r]) * l + l0;
                        int j = 0;
                        for (; j < count; j++) target[j] = source[(nint)(l0 + j) * length + r];
                        for (; j < Multiple; j++) target[j] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>Naive twin of <see cref="FromRows"/>.</summary>
    public static void FromRowsNaive(ReadOnlySpan<float> rows, int n, int length, Span<float> lanes, ReadOnlySpan<int> order = default)
    {
        int l = CheckRelayout(rows.Length, lanes.Length, n, length);
        for (int r = 0; r < length; r++)
            for (int j = 0; j < l; j++) lanes[(order.IsEmpty ? r : order[r]) * l + j] = j < n ? rows[j * length + r] : 0f;
    }

    // lanes (R, L) -> rows (n, R)
    /// <summary>Effectively computes rows[j, r] = lanes[d(r), j] for the first n lanes (d as in <see cref="FromRows"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToRows(ReadOnlySpan<float> lanes, int n, int length, Span<float> rows, ReadOnlySpan<int> order = default)
    {
        int l = CheckRelayout(rows.Length, lanes.Length, n, length);
        CheckOrder(order, length);
        fixed (float* source = lanes, destination = rows)
        fixed (int* map = order)
            for (int l0 = 0; l0 < n; l0 += Multiple)
            {
                int count = Math.Min(Multiple, n - l0), r0 = 0;
                if (count == Multiple && Avx512F.IsSupported && map is null)
                    for (; r0 + Multiple <= length; r0 += Multiple)
                        Transpose16(source + (nint)r0 * l + l0, l, destination + (nint)l0 * length + r0, length);
                for (; r0 < length; r0 += Multiple)
                {
                    int r1 = Math.Min(length, r0 + Multiple);
                    for (int j = 0; j < count; j++)
                    {
                        float* target = destination + (nint)(l0 + j) * length;
                        for (int r = r0; r < r1; r++) target[r] = source[(nint)(map is null ? r : map[r]) * l + l0 + j];
                    }
                }
            }
    }

    /// <summary>Naive twin of <see cref="ToRows"/>.</summary>
    public static void ToRowsNaive(ReadOnlySpan<float> lanes, int n, int length, Span<float> rows, ReadOnlySpan<int> order = default)
    {
        int l = CheckRelayout(rows.Length, lanes.Length, n, length);
        for (int j = 0; j < n; j++)
            for (int r = 0; r < length; r++) rows[j * length + r] = lanes[(order.IsEmpty ? r : order[r]) * l + j];
    }

    /// <summary>Throws unless <paramref name="order"/> is empty or a map of <paramref name="length"/> rows into [0, length).</summary>
    internal static void CheckOrder(ReadOnlySpan<int> order, int length)
    {
        if (order.IsEmpty) return;
        if (order.Length != length) throw new ArgumentException($"The row order has {order.Length} rows, expected {length}.", nameof(order));
        foreach (int row in order)
            if ((uint)row >= (uint)length) throw new ArgumentException($"The row order names row {row} of {length}.", nameof(order));
    }

    /// <summary>
    /// The rows of an image (C, H, W) in the lanes order (H*W, C) moved to PyTorch's flattening order (C, H, W):
    /// destination row of row p·C + c is c·H·W + p. Flatten uses this map, Unflatten its inverse.
    /// </summary>
    public static int[] ChannelsFirstOrder(int channels, int positions)
    {
        var map = new int[channels * positions];
        for (int p = 0; p < positions; p++)
            for (int c = 0; c < channels; c++) map[p * channels + c] = c * positions + p;
        return map;
    }

    /// <summary>The inverse of a row map: inverse[map[r]] = r.</summary>
    public static int[] Inverse(ReadOnlySpan<int> map)
    {
        var inverse = new int[map.Length];
        for (int r = 0; r < map.Length; r++) inverse[map[r]] = r;
        return inverse;
    }

    // x (R, L) -> destination (R, L)
    /// <summary>Effectively computes destination[map[r], :] = x[r, :] (rows of <paramref name="lanes"/> floats).</summary>
    public static void PermuteRows(ReadOnlySpan<float> x, ReadOnlySpan<int> map, Span<float> destination, int lanes)
    {
        if (lanes < 1 || x.Length != map.Length * lanes || destination.Length != x.Length)
            throw new ArgumentException($"PermuteRows of {map.Length} rows of {lanes} lanes needs {map.Length * lanes} floats on each side, got {x.Length} and {destination.Length}.");
        for (int r = 0; r < map.Length; r++) x.Slice(r * lanes, lanes).CopyTo(destination.Slice(map[r] * lanes, lanes));
    }

    // x (P, C, L) -> destination (P, L, C)
    /// <summary>
    /// Effectively computes destination[p, l, c] = x[p, c, l]: at each position, the channels of one sample contiguous (what a
    /// weight gradient needs to run its vectors over the channels). An exact copy on every path (16 x 16 in registers with
    /// AVX-512 when C is a multiple of 16, else element by element).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransposePositions(ReadOnlySpan<float> x, Span<float> destination, int positions, int channels, int lanes) =>
        TransposePositionsOn(x, destination, positions, channels, lanes, SimdPath.Widest);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TransposePositionsOn(ReadOnlySpan<float> x, Span<float> destination, int positions, int channels, int lanes, SimdPath path)
    {
        if (positions < 0 || channels < 1 || lanes % Multiple != 0 || x.Length != (long)positions * channels * lanes || destination.Length != x.Length)
            throw new ArgumentException($"TransposePositions of ({positions}, {channels}, {lanes}) needs {(long)positions * channels * lanes} floats on each side, got {x.Length} and {destination.Length}.");
        fixed (float* px = x, py = destination)
            for (int p = 0; p < positions; p++)
            {
                float* source = px + (nint)p * channels * lanes, target = py + (nint)p * channels * lanes;
                if (path == SimdPath.Widest && Avx512F.IsSupported && channels % Multiple == 0)
                {
                    for (int c = 0; c < channels; c += Multiple)
                        for (int l = 0; l < lanes; l += Multiple)
                            Transpose16(source + (nint)c * lanes + l, lanes, target + (nint)l * channels + c, channels);
                    continue;
                }
                for (int c = 0; c < channels; c++)
                    for (int l = 0; l < lanes; l++) target[(nint)l * channels + c] = source[(nint)c * lanes + l];
            }
    }

    /// <summary>Naive twin of <see cref="TransposePositions"/>.</summary>
    public static void TransposePositionsNaive(ReadOnlySpan<float> x, Span<float> destination, int positions, int channels, int lanes)
    {
        for (int p = 0; p < positions; p++)
            for (int c = 0; c < channels; c++)
                for (int l = 0; l < lanes; l++) destination[(p * lanes + l) * channels + c] = x[(p * channels + c) * lanes + l];
    }

    // A 16 x 16 block: rows of `source` (stride sourceRow) become columns of `target` (stride targetRow). Too large to
    // inline, so compiled optimised from the start rather than tiered up from unoptimised code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose16(float* source, nint sourceRow, float* target, nint targetRow)
    {
        Vector512<float> r0 = Vector512.Load(source), r1 = Vector512.Load(source + sourceRow), r2 = Vector512.Load(source + 2 * sourceRow), r3 = Vector512.Load(source + 3 * sourceRow);
        Vector512<float> r4 = Vector512.Load(source + 4 * sourceRow), r5 = Vector512.Load(source + 5 * sourceRow), r6 = Vector512.Load(source + 6 * sourceRow), r7 = Vector512.Load(source + 7 * sourceRow);
        Vector512<float> r8 = Vector512.Load(source + 8 * sourceRow), r9 = Vector512.Load(source + 9 * sourceRow), r10 = Vector512.Load(source + 10 * sourceRow), r11 = Vector512.Load(source + 11 * sourceRow);
        Vector512<float> r12 = Vector512.Load(source + 12 * sourceRow), r13 = Vector512.Load(source + 13 * sourceRow), r14 = Vector512.Load(source + 14 * sourceRow), r15 = Vector512.Load(source + 15 * sourceRow);
        // Pairs of rows interleaved, then pairs of pairs (within each 128-bit lane): four rows' columns 4k..4k+3.
        Vector512<float> t0 = Avx512F.UnpackLow(r0, r1), t1 = Avx512F.UnpackHigh(r0, r1), t2 = Avx512F.UnpackLow(r2, r3), t3 = Avx512F.UnpackHigh(r2, r3);
        Vector512<float> t4 = Avx512F.UnpackLow(r4, r5), t5 = Avx512F.UnpackHigh(r4, r5), t6 = Avx512F.UnpackLow(r6, r7), t7 = Avx512F.UnpackHigh(r6, r7);
        Vector512<float> t8 = Avx512F.UnpackLow(r8, r9), t9 = Avx512F.UnpackHigh(r8, r9), t10 = Avx512F.UnpackLow(r10, r11), t11 = Avx512F.UnpackHigh(r10, r11);
        Vector512<float> t12 = Avx512F.UnpackLow(r12, r13), t13 = Avx512F.UnpackHigh(r12, r13), t14 = Avx512F.UnpackLow(r14, r15), t15 = Avx512F.UnpackHigh(r14, r15);
        Vector512<float> u0 = Avx512F.UnpackLow(t0.AsDouble(), t2.AsDouble()).AsSingle(), u1 = Avx512F.UnpackHigh(t0.AsDouble(), t2.AsDouble()).AsSingle();
        Vector512<float> u2 = Avx512F.UnpackLow(t1.AsDouble(), t3.AsDouble()).AsSingle(), u3 = Avx512F.UnpackHigh(t1.AsDouble(), t3.AsDouble()).AsSingle();
        Vector512<float> u4 = Avx512F.UnpackLow(t4.AsDouble(), t6.AsDouble()).AsSingle(), u5 = Avx512F.UnpackHigh(t4.AsDouble(), t6.AsDouble()).AsSingle();
        Vector512<float> u6 = Avx512F.UnpackLow(t5.AsDouble(), t7.AsDouble()).AsSingle(), u7 = Avx512F.UnpackHigh(t5.AsDouble(), t7.AsDouble()).AsSingle();
        Vector512<float> u8 = Avx512F.UnpackLow(t8.AsDouble(), t10.AsDouble()).AsSingle(), u9 = Avx512F.UnpackHigh(t8.AsDouble(), t10.AsDouble()).AsSingle();
        Vector512<float> u10 = Avx512F.UnpackLow(t9.AsDouble(), t11.AsDouble()).AsSingle(), u11 = Avx512F.UnpackHigh(t9.AsDouble(), t11.AsDouble()).AsSingle();
        Vector512<float> u12 = Avx512F.UnpackLow(t12.AsDouble(), t14.AsDouble()).AsSingle(), u13 = Avx512F.UnpackHigh(t12.AsDouble(), t14.AsDouble()).AsSingle();
        Vector512<float> u14 = Avx512F.UnpackLow(t13.AsDouble(), t15.AsDouble()).AsSingle(), u15 = Avx512F.UnpackHigh(t13.AsDouble(), t15.AsDouble()).AsSingle();
        // Then the 128-bit lanes: rows 0-7 and 8-15 of columns k and k+8, and finally whole columns.
        Vector512<float> v0 = Avx512F.Shuffle4x128(u0, u4, 0x88), v1 = Avx512F.Shuffle4x128(u1, u5, 0x88), v2 = Avx512F.Shuffle4x128(u2, u6, 0x88), v3 = Avx512F.Shuffle4x128(u3, u7, 0x88);
        Vector512<float> v4 = Avx512F.Shuffle4x128(u0, u4, 0xDD), v5 = Avx512F.Shuffle4x128(u1, u5, 0xDD), v6 = Avx512F.Shuffle4x128(u2, u6, 0xDD), v7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);
        Vector512<float> v8 = Avx512F.Shuffle4x128(u8, u12, 0x88), v9 = Avx512F.Shuffle4x128(u9, u13, 0x88), v10 = Avx512F.Shuffle4x128(u10, u14, 0x88), v11 = Avx512F.Shuffle4x128(u11, u15, 0x88);
        Vector512<float> v12 = Avx512F.Shuffle4x128(u8, u12, 0xDD), v13 = Avx512F.Shuffle4x128(u9, u13, 0xDD), v14 = Avx512F.Shuffle4x128(u10, u14, 0xDD), v15 = Avx512F.Shuffle4x128(u11, u15, 0xDD);
        Avx512F.Shuffle4x128(v0, v8, 0x88).Store(target); Avx512F.Shuffle4x128(v1, v9, 0x88).Store(target + targetRow);
        Avx512F.Shuffle4x128(v2, v10, 0x88).Store(target + 2 * targetRow); Avx512F.Shuffle4x128(v3, v11, 0x88).Store(target + 3 * targetRow);
        Avx512F.Shuffle4x128(v4, v12, 0x88).Store(target + 4 * targetRow); Avx512F.Shuffle4x128(v5, v13, 0x88).Store(target + 5 * targetRow);
        Avx512F.Shuffle4x128(v6, v14, 0x88).Store(target + 6 * targetRow); Avx512F.Shuffle4x128(v7, v15, 0x88).Store(target + 7 * targetRow);
        Avx512F.Shuffle4x128(v0, v8, 0xDD).Store(target + 8 * targetRow); Avx512F.Shuffle4x128(v1, v9, 0xDD).Store(target + 9 * targetRow);
        Avx512F.Shuffle4x128(v2, v10, 0xDD).Store(target + 10 * targetRow); Avx512F.Shuffle4x128(v3, v11, 0xDD).Store(target + 11 * targetRow);
        Avx512F.Shuffle4x128(v4, v12, 0xDD).Store(target + 12 * targetRow); Avx512F.Shuffle4x128(v5, v13, 0xDD).Store(target + 13 * targetRow);
        Avx512F.Shuffle4x128(v6, v14, 0xDD).Store(target + 14 * targetRow); Avx512F.Shuffle4x128(v7, v15, 0xDD).Store(target + 15 * targetRow);
    }

    private static int CheckRelayout(int rowsLength, int lanesLength, int n, int length)
    {
        int l = Padded(n);
        if (n < 0 || length < 0 || rowsLength != (long)n * length || lanesLength != (long)length * l)
            throw new ArgumentException($"A lanes relayout of {n} samples of {length} needs {(long)n * length} floats as rows and {(long)length * l} as lanes, got {rowsLength} and {lanesLength}.");
        return l;
    }
}
