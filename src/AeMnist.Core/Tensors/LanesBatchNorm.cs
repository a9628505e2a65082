// Batch normalisation, optionally with the ReLU after it folded in, on lanes tensors x (R, L) (see LanesConv): row r belongs
// to channel r mod C (BatchNorm2d over (H*W, C, L); BatchNorm1d over (F, L) with C = F). Each kernel has a naive twin.
// The first n lanes are the batch, the rest padding: the sums skip them and the input gradient is zero there.
// Sums are in double (a float's square and a product of two floats are exact; see BatchNormKernels for why double), in a
// fixed order: per channel four accumulators of 8 double lanes, lane j of accumulator a taking the floats of index
// 8a + j (mod 32) of each row, rows in order; then (A0 + A1) + (A2 + A3) and the tree (j, j+4), (j, j+2), (0, 1). Four
// accumulators keep four addition chains in flight. Vector512<double> runs on every machine (emulated without AVX-512), so nothing depends
// on the vector width. With the ReLU folded in, the mask is recomputed from the input rather than stored: the same
// arithmetic gives the same output, so the mask is exactly the one the forward pass applied.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AeMnist.Tensors;

public static unsafe class LanesBatchNorm
{
    [ThreadStatic] private static float[]? t_dxLanes;

    private const int DoubleLanes = 8;
    private const int FloatLanes = 16;
    private const int Accumulators = 4 * DoubleLanes;  // the 32 partial sums of a channel

    // x (R, L) -> sum (C), sumSquares (C), accumulated
    /// <summary>Effectively computes sum[c] += Σ x[r, l] and sumSquares[c] += Σ x[r, l]² over the rows r ≡ c (mod C) and the first n lanes, in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Moments(ReadOnlySpan<float> x, int channels, int lanes, int n, Span<double> sum, Span<double> sumSquares)
    {
        int rows = Check(x, channels, lanes, n, nameof(x));
        CheckChannels(sum.Length, channels, nameof(sum));
        CheckChannels(sumSquares.Length, channels, nameof(sumSquares));
        fixed (float* px = x)
        fixed (double* ps = sum, pq = sumSquares)
            Sums<MomentPass>(px, px, rows, channels, lanes, n, ps, pq, default);
    }

    /// <summary>Naive twin of <see cref="Moments"/>, with the lanes and the tree written out.</summary>
    public static void MomentsNaive(ReadOnlySpan<float> x, int channels, int lanes, int n, Span<double> sum, Span<double> sumSquares)
    {
        int rows = Check(x, channels, lanes, n, nameof(x));
        var s = new double[channels * Accumulators];
        var q = new double[channels * Accumulators];
        for (int r = 0; r < rows; r++)
            for (int l = 0; l < n; l++)
            {
                double v = x[r * lanes + l];
                s[(r % channels) * Accumulators + l % Accumulators] += v;
                q[(r % channels) * Accumulators + l % Accumulators] += v * v;
            }
        for (int c = 0; c < channels; c++)
        {
            sum[c] += TreeNaive(s.AsSpan(c * Accumulators, Accumulators));
            sumSquares[c] += TreeNaive(q.AsSpan(c * Accumulators, Accumulators));
        }
    }

    // x (R, L), mean, invStd, weight, bias (C) -> y (R', L), row r written to row destination[r] (or r)
    /// <summary>
    /// Effectively computes y[d(r), l] = f(fma((x[r, l] − mean[c]) · invStd[c], weight[c], bias[c])), c = r mod C, with f = ReLU
    /// when <paramref name="relu"/> (else the identity) and d(r) = <paramref name="destination"/>[r], or r when it is empty.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Normalize(ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        bool relu, ReadOnlySpan<int> destination, Span<float> y, int lanes)
    {
        int channels = mean.Length, rows = Check(x, channels, lanes, lanes, nameof(x));
        CheckChannels(invStd.Length, channels, nameof(invStd));
        CheckChannels(weight.Length, channels, nameof(weight));
        CheckChannels(bias.Length, channels, nameof(bias));
        CheckRows(destination, rows, y.Length / Math.Max(lanes, 1), y.Length, x.Length);
        fixed (float* px = x, pm = mean, pi = invStd, pw = weight, pb = bias, py = y)
        fixed (int* pd = destination)
            for (int r = 0, c = 0; r < rows; r++, c = c + 1 == channels ? 0 : c + 1)
            {
                float* row = px + (nint)r * lanes, target = py + (nint)(pd is null ? r : pd[r]) * lanes;
                if (pd is not null && r + MapAhead < rows) PrefetchRow(py + (nint)pd[r + MapAhead] * lanes, lanes);
                Vector512<float> m = Vector512.Create(pm[c]), inv = Vector512.Create(pi[c]), w = Vector512.Create(pw[c]), b = Vector512.Create(pb[c]);
                for (int l = 0; l < lanes; l += FloatLanes)
                {
                    Vector512<float> o = Vector512.FusedMultiplyAdd((Vector512.Load(row + l) - m) * inv, w, b);
                    if (relu) o = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(o, Vector512<float>.Zero), Vector512<float>.Zero, o);
                    o.Store(target + l);
                }
            }
    }

    /// <summary>Naive twin of <see cref="Normalize"/>.</summary>
    public static void NormalizeNaive(ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        bool relu, ReadOnlySpan<int> destination, Span<float> y, int lanes)
    {
        int channels = mean.Length, rows = Check(x, channels, lanes, lanes, nameof(x));
        for (int r = 0; r < rows; r++)
            for (int l = 0; l < lanes; l++)
            {
                int c = r % channels;
                float o = MathF.FusedMultiplyAdd((x[r * lanes + l] - mean[c]) * invStd[c], weight[c], bias[c]);
                y[(destination.IsEmpty ? r : destination[r]) * lanes + l] = relu ? MathF.Max(o, 0f) : o;
            }
    }

    // dy (R', L) read at row d(r), x (R, L), mean, invStd, weight, bias (C) -> sumDy (C), sumDyXhat (C), accumulated
    /// <summary>
    /// The first half of the backward pass: effectively computes, with xhat = (x − mean[c])·invStd[c] and g = dy[d(r), l] masked by
    /// the ReLU (g = 0 where fma(xhat, weight[c], bias[c]) ≤ 0) when <paramref name="relu"/>, sumDy[c] += Σ g and sumDyXhat[c] += Σ g·xhat
    /// over rows r ≡ c (mod C) and the first n lanes, in double.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GradientSums(ReadOnlySpan<float> dy, ReadOnlySpan<int> source, ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, bool relu, int lanes, int n, Span<double> sumDy, Span<double> sumDyXhat)
    {
        int channels = mean.Length, rows = Check(x, channels, lanes, n, nameof(x));
        CheckChannels(sumDy.Length, channels, nameof(sumDy));
        CheckChannels(sumDyXhat.Length, channels, nameof(sumDyXhat));
        CheckChannels(invStd.Length, channels, nameof(invStd));
        CheckChannels(weight.Length, channels, nameof(weight));
        CheckChannels(bias.Length, channels, nameof(bias));
        CheckRows(source, rows, dy.Length / Math.Max(lanes, 1), dy.Length, x.Length);
        fixed (float* pdy = dy, px = x, pm = mean, pi = invStd, pw = weight, pb = bias)
        fixed (int* ps = source)
        fixed (double* s = sumDy, q = sumDyXhat)
        {
            var affine = new Affine(pm, pi, pw, pb, relu);
            Sums<GradientPass>(pdy, px, rows, channels, lanes, n, s, q, affine, ps);
        }
    }

    /// <summary>Naive twin of <see cref="GradientSums"/>.</summary>
    public static void GradientSumsNaive(ReadOnlySpan<float> dy, ReadOnlySpan<int> source, ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, bool relu, int lanes, int n, Span<double> sumDy, Span<double> sumDyXhat)
    {
        int channels = mean.Length, rows = Check(x, channels, lanes, n, nameof(x));
        var s = new double[channels * Accumulators];
        var q = new double[channels * Accumulators];
        for (int r = 0; r < rows; r++)
            for (int l = 0; l < n; l++)
            {
                int c = r % channels;
                (float g, float h) = MaskedGradient(dy[(source.IsEmpty ? r : source[r]) * lanes + l], x[r * lanes + l], mean[c], invStd[c], weight[c], bias[c], relu);
                s[c * Accumulators + l % Accumulators] += g;
                q[c * Accumulators + l % Accumulators] += (double)g * h;
            }
        for (int c = 0; c < channels; c++)
        {
            sumDy[c] += TreeNaive(s.AsSpan(c * Accumulators, Accumulators));
            sumDyXhat[c] += TreeNaive(q.AsSpan(c * Accumulators, Accumulators));
        }
    }

    // dy (R', L) read at row d(r), x (R, L), mean, invStd, weight, bias, meanDy, meanDyXhat, scale (C) -> dx (R, L)
    /// <summary>
    /// The second half: effectively computes dx[r, l] = fma(−xhat, meanDyXhat[c], g − meanDy[c]) · scale[c] in the first n lanes (g
    /// and xhat as in <see cref="GradientSums"/>) and 0 in the others. Training mode passes the batch's means and scale =
    /// weight·invStd; evaluation mode zero means.
    /// </summary>
    /// <remarks>
    /// With <paramref name="dxSums"/> (C floats, else empty) it also computes dxSums[c] += Σ dx[r, l] over the rows of channel c and
    /// every lane, exactly as LanesConv.SumChannels on dx would (16 lanes over the rows in order, then the tree): the bias
    /// gradient of the layer before, without another pass over dx.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NormalizeBackward(ReadOnlySpan<float> dy, ReadOnlySpan<int> source, ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, bool relu, ReadOnlySpan<float> meanDy, ReadOnlySpan<float> meanDyXhat, ReadOnlySpan<float> scale,
        Span<float> dx, int lanes, int n, Span<float> dxSums = default)
    {
        int channels = mean.Length, rows = Check(x, channels, lanes, n, nameof(x));
        foreach ((int length, string name) in new[] { (invStd.Length, nameof(invStd)), (weight.Length, nameof(weight)), (bias.Length, nameof(bias)),
                     (meanDy.Length, nameof(meanDy)), (meanDyXhat.Length, nameof(meanDyXhat)), (scale.Length, nameof(scale)) })
            CheckChannels(length, channels, name);
        if (dx.Length != x.Length) throw new ArgumentException($"dx has {dx.Length} elements, expected {x.Length}.", nameof(dx));
        CheckRows(source, rows, dy.Length / Math.Max(lanes, 1), dy.Length, x.Length);
        bool sums = !dxSums.IsEmpty;
        if (sums) CheckChannels(dxSums.Length, channels, nameof(dxSums));
        float[] laneSums = sums ? (t_dxLanes is { } cached && cached.Length >= channels * FloatLanes + FloatLanes ? cached : (t_dxLanes = GC.AllocateArray<float>(channels * FloatLanes + FloatLanes, pinned: true))) : [];
        fixed (float* pdy = dy, px = x, pm = mean, pi = invStd, pw = weight, pb = bias, pmd = meanDy, pmx = meanDyXhat, psc = scale, pdx = dx, pls = laneSums, pds = dxSums)
        fixed (int* ps = source)
        {
            float* acc = sums ? (float*)(((nint)pls + 63) & ~(nint)63) : null;
            if (sums) new Span<float>(acc, channels * FloatLanes).Clear();
            var rowsAt = new BackwardRows(pdy, ps, px, pdx, pm, pi, pw, pb, pmd, pmx, psc, acc, rows, channels, lanes, n);
            if (relu)
            {
                if (sums) NormalizeBackwardRows<Masked, Summed>(rowsAt);
                else NormalizeBackwardRows<Masked, Unsummed>(rowsAt);
            }
            else if (sums) NormalizeBackwardRows<Unmasked, Summed>(rowsAt);
            else NormalizeBackwardRows<Unmasked, Unsummed>(rowsAt);
            if (sums)
                for (int c = 0; c < channels; c++) pds[c] += Reductions.ReduceLanes(Vector512.Load(acc + c * FloatLanes));
        }
    }

    // NormalizeBackward's operands as pointers.
    private readonly struct BackwardRows(float* dy, int* source, float* x, float* dx, float* mean, float* invStd, float* weight, float* bias,
        float* meanDy, float* meanDyXhat, float* scale, float* sums, int rows, int channels, int lanes, int n)
    {
        public readonly float* Dy = dy, X = x, Dx = dx, Mean = mean, InvStd = invStd, Weight = weight, Bias = bias, MeanDy = meanDy, MeanDyXhat = meanDyXhat, Scale = scale, Sums = sums;
        public readonly int* Source = source;
        public readonly int Rows = rows, Channels = channels, Lanes = lanes, N = n;
    }

    // Whether the ReLU's mask applies (TMask) and dx's channel sums are kept (TSums): type arguments (IFlag, below), so
    // that each of the four loops is compiled without the others' branches. −h·mx is computed as h·(−mx), the same product
    // exactly.
    private readonly struct Masked : IFlag { public static bool On => true; }
    private readonly struct Unmasked : IFlag { public static bool On => false; }
    private readonly struct Summed : IFlag { public static bool On => true; }
    private readonly struct Unsummed : IFlag { public static bool On => false; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NormalizeBackwardRows<TMask, TSums>(in BackwardRows a) where TMask : struct, IFlag where TSums : struct, IFlag
    {
        int rows = a.Rows, channels = a.Channels, lanes = a.Lanes, n = a.N;
        int whole = n / FloatLanes * FloatLanes;
        Vector512<float> partial = LaneMask(n - whole);
        for (int r = 0, c = 0; r < rows; r++, c = c + 1 == channels ? 0 : c + 1)
        {
            float* g = a.Dy + (nint)(a.Source is null ? r : a.Source[r]) * lanes, row = a.X + (nint)r * lanes, target = a.Dx + (nint)r * lanes;
            if (a.Source is not null && r + MapAhead < rows) PrefetchRow(a.Dy + (nint)a.Source[r + MapAhead] * lanes, lanes);
            Vector512<float> m = Vector512.Create(a.Mean[c]), inv = Vector512.Create(a.InvStd[c]), w = Vector512.Create(a.Weight[c]), b = Vector512.Create(a.Bias[c]);
            Vector512<float> md = Vector512.Create(a.MeanDy[c]), nmx = Vector512.Create(-a.MeanDyXhat[c]), sc = Vector512.Create(a.Scale[c]);
            Vector512<float> lane = TSums.On ? Vector512.Load(a.Sums + c * FloatLanes) : default;
            int l = 0;
            for (; l < whole; l += FloatLanes)
            {
                Vector512<float> value = InputGradient<TMask>(Vector512.Load(row + l), Vector512.Load(g + l), m, inv, w, b, md, nmx, sc);
                value.Store(target + l);
                if (TSums.On) lane += value;
            }
            if (l < n)
            {
                Vector512<float> value = InputGradient<TMask>(Vector512.Load(row + l), Vector512.Load(g + l), m, inv, w, b, md, nmx, sc) & partial;
                value.Store(target + l);
                if (TSums.On) lane += value;
                l += FloatLanes;
            }
            for (; l < lanes; l += FloatLanes)
            {
                Vector512<float>.Zero.Store(target + l);
                if (TSums.On) lane += Vector512<float>.Zero;  // as SumChannels adds the padding's zeros
            }
            if (TSums.On) lane.Store(a.Sums + c * FloatLanes);
        }
    }

    // fma(−xhat, meanDyXhat, g − meanDy)·scale for 16 lanes, g = dy masked by the ReLU when TMask.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> InputGradient<TMask>(Vector512<float> x, Vector512<float> d, Vector512<float> m, Vector512<float> inv, Vector512<float> w, Vector512<float> b,
        Vector512<float> md, Vector512<float> nmx, Vector512<float> sc) where TMask : struct, IFlag
    {
        Vector512<float> h = (x - m) * inv;
        if (TMask.On) d = Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.FusedMultiplyAdd(h, w, b), Vector512<float>.Zero), d, Vector512<float>.Zero);
        return Vector512.FusedMultiplyAdd(h, nmx, d - md) * sc;
    }

    /// <summary>Naive twin of <see cref="NormalizeBackward"/>.</summary>
    public static void NormalizeBackwardNaive(ReadOnlySpan<float> dy, ReadOnlySpan<int> source, ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, bool relu, ReadOnlySpan<float> meanDy, ReadOnlySpan<float> meanDyXhat, ReadOnlySpan<float> scale,
        Span<float> dx, int lanes, int n, Span<float> dxSums = default)
    {
        int channels = mean.Length, rows = Check(x, channels, lanes, n, nameof(x));
        var laneSums = new float[channels * FloatLanes];
        for (int r = 0; r < rows; r++)
            for (int l = 0; l < lanes; l++)
            {
                int c = r % channels;
                (float g, float h) = MaskedGradient(dy[(source.IsEmpty ? r : source[r]) * lanes + l], x[r * lanes + l], mean[c], invStd[c], weight[c], bias[c], relu);
                dx[r * lanes + l] = l < n ? MathF.FusedMultiplyAdd(-h, meanDyXhat[c], g - meanDy[c]) * scale[c] : 0f;
                laneSums[c * FloatLanes + l % FloatLanes] += dx[r * lanes + l];
            }
        if (!dxSums.IsEmpty)
            for (int c = 0; c < channels; c++) dxSums[c] += LanesConv.Tree(laneSums.AsSpan(c * FloatLanes, FloatLanes));
    }

    private static (float Gradient, float Xhat) MaskedGradient(float dy, float x, float mean, float invStd, float weight, float bias, bool relu)
    {
        float h = (x - mean) * invStd;
        return (relu && !(MathF.FusedMultiplyAdd(h, weight, bias) > 0f) ? 0f : dy, h);
    }

    // What the backward sums need to recompute xhat and the ReLU mask.
    private readonly struct Affine(float* mean, float* invStd, float* weight, float* bias, bool relu)
    {
        public readonly float* Mean = mean, InvStd = invStd, Weight = weight, Bias = bias;
        public readonly bool Relu = relu;
    }

    // Positions per block of the walk in Sums: 4 positions of 32 channels and 64 lanes are 32 KB of each tensor.
    private const int BlockPositions = 4;

    [ThreadStatic] private static Vector512<double>[]? t_accumulators;

    // A choice made by a type argument, so that the JIT compiles each case of a kernel without the others' branches.
    private interface IFlag { static abstract bool On { get; } }

    // Which sums Sums takes (On: the squares): Σa and Σa² over a (moments), or Σg and Σg·xhat with g = a masked by the
    // ReLU of xhat(b) (gradient sums).
    private readonly struct MomentPass : IFlag { public static bool On => true; }
    private readonly struct GradientPass : IFlag { public static bool On => false; }

    // Each channel's rows in order, as a blocked walk: a block of BlockPositions positions (its rows contiguous in memory)
    // channel by channel, the eight accumulators in registers within a block and in L1 between blocks, while the next
    // block is prefetched into L2. The rows of a channel are C rows apart (8 KB for 32 channels of 64 lanes), a stride
    // the hardware prefetchers do not follow across pages: walked channel by channel over the whole tensor, a cold input
    // (the first batch norm's, read again in the backward pass) waits on memory at every row (the 14x14x32 gradient sums
    // 333 → 130 µs from DRAM, the same warm; docs/benchmarks.md). The order of every addition is unchanged.
    // A row's floats go 32 at a time, 16 to accumulators 0 and 1 and the next 16 to 2 and 3 (float index 8a + j mod 32
    // to accumulator a), the last, partial 32 masked.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sums<TPass>(float* a, float* b, int rows, int channels, int lanes, int n, double* sum, double* second, Affine affine, int* source = null)
        where TPass : struct, IFlag
    {
        bool squares = TPass.On;
        Vector512<double> restMask = Vector512.LessThan(Vector512.Create(0.0, 1, 2, 3, 4, 5, 6, 7), Vector512.Create((double)(n % DoubleLanes)));
        int positions = rows / channels, whole = n / (2 * FloatLanes) * (2 * FloatLanes);
        // Blocks after the first start from the accumulators the block before left; the last block's are summed at once.
        Vector512<double>[] kept = positions <= BlockPositions ? [] : t_accumulators is { } cached && cached.Length >= channels * 8 ? cached : (t_accumulators = new Vector512<double>[channels * 8]);
        fixed (Vector512<double>* accumulators = kept)
        {
            int aheadRows = BlockPositions * channels;  // from a row to the same row of the next block
            nint ahead = (nint)aheadRows * lanes;
            bool prefetch = Sse.IsSupported;
            for (int p0 = 0; p0 < positions; p0 += BlockPositions)
            {
                int p1 = Math.Min(positions, p0 + BlockPositions);
                for (int c = 0; c < channels; c++)
                {
                    Vector512<double>* acc = accumulators + c * 8;
                    Vector512<double> s0 = default, s1 = default, s2 = default, s3 = default, q0 = default, q1 = default, q2 = default, q3 = default;
                    if (p0 > 0) { s0 = acc[0]; s1 = acc[1]; s2 = acc[2]; s3 = acc[3]; q0 = acc[4]; q1 = acc[5]; q2 = acc[6]; q3 = acc[7]; }
                    Vector512<float> m = default, inv = default, w = default, bb = default;
                    if (!squares)
                    {
                        m = Vector512.Create(affine.Mean[c]);
                        inv = Vector512.Create(affine.InvStd[c]);
                        w = Vector512.Create(affine.Weight[c]);
                        bb = Vector512.Create(affine.Bias[c]);
                    }
                    for (int r = p0 * channels + c, end = p1 * channels; r < end; r += channels)
                    {
                        float* x = squares ? a + (nint)r * lanes : b + (nint)r * lanes;
                        float* g = squares ? x : a + (nint)(source is null ? r : source[r]) * lanes;
                        if (!squares && source is not null && r + MapAhead * channels < rows) PrefetchRow(a + (nint)source[r + MapAhead * channels] * lanes, lanes);
                        if (prefetch && r + aheadRows < rows)
                        {
                            // The same row of the next block: its rows are C rows apart too, but the block is read in memory order.
                            for (int l = 0; l < n; l += FloatLanes)
                            {
                                Sse.Prefetch1(x + l + ahead);
                                if (!squares && source is null) Sse.Prefetch1(g + l + ahead);
                            }
                        }
                        int k = 0;
                        for (; k < whole; k += 2 * FloatLanes)
                        {
                            (Vector512<double> v0, Vector512<double> v1, Vector512<double> o0, Vector512<double> o1) = Values(g + k, x + k, squares, m, inv, w, bb, affine.Relu);
                            (Vector512<double> v2, Vector512<double> v3, Vector512<double> o2, Vector512<double> o3) = Values(g + k + FloatLanes, x + k + FloatLanes, squares, m, inv, w, bb, affine.Relu);
                            s0 += v0; q0 = Vector512.FusedMultiplyAdd(v0, o0, q0);
                            s1 += v1; q1 = Vector512.FusedMultiplyAdd(v1, o1, q1);
                            s2 += v2; q2 = Vector512.FusedMultiplyAdd(v2, o2, q2);
                            s3 += v3; q3 = Vector512.FusedMultiplyAdd(v3, o3, q3);
                        }
                        for (; k < n; k += FloatLanes)
                        {
                            // The last, partial 32: lanes at or past n add nothing.
                            (Vector512<double> v0, Vector512<double> v1, Vector512<double> o0, Vector512<double> o1) = Values(g + k, x + k, squares, m, inv, w, bb, affine.Relu);
                            Vector512<double> mask0 = HalfMask(k, n, restMask), mask1 = HalfMask(k + DoubleLanes, n, restMask);
                            v0 &= mask0; v1 &= mask1; o0 &= mask0; o1 &= mask1;
                            if ((k & FloatLanes) == 0)
                            {
                                s0 += v0; q0 = Vector512.FusedMultiplyAdd(v0, o0, q0);
                                s1 += v1; q1 = Vector512.FusedMultiplyAdd(v1, o1, q1);
                            }
                            else
                            {
                                s2 += v0; q2 = Vector512.FusedMultiplyAdd(v0, o0, q2);
                                s3 += v1; q3 = Vector512.FusedMultiplyAdd(v1, o1, q3);
                            }
                        }
                    }
                    if (p1 < positions)
                    {
                        acc[0] = s0; acc[1] = s1; acc[2] = s2; acc[3] = s3; acc[4] = q0; acc[5] = q1; acc[6] = q2; acc[7] = q3;
                        continue;
                    }
                    sum[c] += Tree((s0 + s1) + (s2 + s3));
                    second[c] += Tree((q0 + q1) + (q2 + q3));
                }
            }
        }
    }

    // 16 floats widened to double: the summed values (a, or g masked by the ReLU) and their factors (a again, or xhat).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<double>, Vector512<double>, Vector512<double>, Vector512<double>) Values(float* g, float* x, bool squares,
        Vector512<float> m, Vector512<float> inv, Vector512<float> w, Vector512<float> bb, bool relu)
    {
        Vector512<float> value = Vector512.Load(g), other = value;
        if (!squares)
        {
            other = (Vector512.Load(x) - m) * inv;
            if (relu) value = Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.FusedMultiplyAdd(other, w, bb), Vector512<float>.Zero), value, Vector512<float>.Zero);
        }
        (Vector512<double> v0, Vector512<double> v1) = Widen(value);
        if (squares) return (v0, v1, v0, v1);
        (Vector512<double> o0, Vector512<double> o1) = Widen(other);
        return (v0, v1, o0, o1);
    }

    // Rows read or written through a row map (a folded Flatten or Unflatten) are scattered, 256 bytes here and there,
    // which no hardware prefetcher follows: the row MapAhead rows on is prefetched (8 rows of 64 lanes: 2 KB ahead).
    private const int MapAhead = 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRow(float* row, int lanes)
    {
        if (!Sse.IsSupported) return;
        for (int l = 0; l < lanes; l += FloatLanes) Sse.Prefetch0(row + l);
    }

    // Which of the 8 lanes from float index start are below n.
    private static Vector512<double> HalfMask(int start, int n, Vector512<double> restMask) =>
        start + DoubleLanes <= n ? Vector512<double>.AllBitsSet : start >= n ? Vector512<double>.Zero : restMask;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<double>, Vector512<double>) Widen(Vector512<float> v)
    {
        if (Avx512F.IsSupported) return (Avx512F.ConvertToVector512Double(v.GetLower()), Avx512F.ConvertToVector512Double(v.GetUpper()));
        (Vector256<double> a, Vector256<double> b) = Vector256.Widen(v.GetLower());
        (Vector256<double> c, Vector256<double> d) = Vector256.Widen(v.GetUpper());
        return (Vector512.Create(a, b), Vector512.Create(c, d));
    }

    // Lanes [0, count) all ones, the rest zero.
    private static Vector512<float> LaneMask(int count) =>
        Vector512.LessThan(Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create((float)count)).AsSingle();

    private static double Tree(Vector512<double> lanes)
    {
        Vector256<double> t4 = lanes.GetLower() + lanes.GetUpper();
        Vector128<double> t2 = t4.GetLower() + t4.GetUpper();
        return t2.GetElement(0) + t2.GetElement(1);
    }

    // 32 partial sums (accumulator a, lane j at 8a + j): (A0 + A1) + (A2 + A3), then the 8-lane tree.
    private static double TreeNaive(Span<double> partial)
    {
        for (int j = 0; j < DoubleLanes; j++)
        {
            partial[j] += partial[DoubleLanes + j];
            partial[2 * DoubleLanes + j] += partial[3 * DoubleLanes + j];
            partial[j] += partial[2 * DoubleLanes + j];
        }
        for (int width = DoubleLanes / 2; width >= 1; width /= 2)
            for (int l = 0; l < width; l++) partial[l] += partial[l + width];
        return partial[0];
    }

    private static int Check(ReadOnlySpan<float> x, int channels, int lanes, int n, string name)
    {
        if (channels < 1 || lanes < 0 || lanes % FloatLanes != 0 || n < 0 || n > lanes)
            throw new ArgumentException($"Invalid lanes batch-norm sizes (channels={channels}, lanes={lanes}, n={n}).", name);
        if (lanes == 0 || x.Length % (channels * lanes) != 0)
            throw new ArgumentException($"{name} has {x.Length} elements, not whole rows of {lanes} lanes for {channels} channels.", name);
        return x.Length / lanes;
    }

    private static void CheckChannels(int length, int channels, string name)
    {
        if (length != channels) throw new ArgumentException($"{name} has {length} elements, expected {channels} channels.", name);
    }

    private static void CheckRows(ReadOnlySpan<int> map, int rows, int otherRows, int otherLength, int length)
    {
        if (map.IsEmpty)
        {
            if (otherLength != length) throw new ArgumentException($"The other tensor has {otherLength} elements, expected {length}.");
            return;
        }
        if (map.Length != rows) throw new ArgumentException($"The row map has {map.Length} rows, expected {rows}.");
        foreach (int row in map)
            if ((uint)row >= (uint)otherRows) throw new ArgumentException($"The row map names row {row} of {otherRows}.");
    }
}
