// Convolutions on lanes tensors, each with a naive twin: square kernels, any stride and padding. A lanes tensor (P, C, L)
// holds, for each spatial position p = y*W + x and each channel c, one row of L lanes: one image per lane, L a multiple
// of 16, lanes past the batch padding. A convolution is then a GEMM per position whose rows are whole vectors, with no
// im2col buffer, and a stride-2 window costs nothing to gather (see docs/benchmarks.md, "The bottleneck model").
// One geometry (ConvGeometry, as for Im2Col) serves both directions: the image (Height x Width, Channels = Ci) and the grid
// of window positions (OutHeight x OutWidth, Co channels); the weight is (Co, Ci, K, K), Conv2d's (out, in) and
// ConvTranspose2d's (in, out). Image -> grid is Conv2d's forward and ConvTranspose2d's input gradient; grid -> image is
// ConvTranspose2d's forward and Conv2d's input gradient; WeightGradient is both layers' weight gradient.
// Orders, those of the im2col engine (Im2Col + Gemm), so that the forward pass gives the same bits as the NCHW layers:
// image -> grid is one fused multiply-add chain from zero over (channel, ki, kj) (taps outside the image skipped: they
// would add exact zeros), then + bias; grid -> image sums, from zero and in (ki, kj) order, one chain from zero over the
// channels per tap (col2im's order), then + bias. A weight-gradient element is one chain from zero over the grid
// positions, then the lanes, in order. Every vector width (Vector512, Vector<T>, scalar) keeps those orders, so results
// never depend on the machine.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AeMnist.Tensors;

public static unsafe class LanesConv
{
    private const int LaneMultiple = Lanes.Multiple;

    // Register tile: 4 output rows by 4 vectors of lanes.
    private const int TileRows = 4;
    private const int TileVectors = 4;

    [ThreadStatic] private static float[]? t_zeros;

    // image (Hi*Wi, Ci, L), weight (Co, Ci, K, K), bias (Co) or empty -> grid (Ho*Wo, Co, L)
    /// <summary>
    /// Conv2d's forward: effectively computes grid[q, o, l] = Σ_{i, ki, kj} weight[o, i, ki, kj] · image[(oy·S − P + ki)·Wi
    /// + ox·S − P + kj, i, l] + bias[o] over the taps inside the image, where q = oy·Wo + ox; with <paramref name="norm"/>,
    /// the batch norm (evaluation mode, and ReLU) after the layer is applied to each value as it is stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Conv2d(ReadOnlySpan<float> image, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> grid, in ConvGeometry g, int gridChannels, int lanes,
        ChannelNorm norm = default) =>
        Conv2dOn(image, weight, bias, grid, g, gridChannels, lanes, SimdPath.Widest, norm);

    internal static void Conv2dOn(ReadOnlySpan<float> image, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> grid, in ConvGeometry g, int gridChannels, int lanes, SimdPath path,
        ChannelNorm norm = default)
    {
        Check(image, grid, weight, bias, g, gridChannels, lanes, biasChannels: gridChannels);
        norm.Check(gridChannels);
        fixed (float* pi = image, pw = weight, pb = bias, pg = grid)
        fixed (float* pm = norm.Mean, ps = norm.InvStd, pnw = norm.Weight, pnb = norm.Bias)
            Dispatch(pi, pw, bias.IsEmpty ? null : pb, pg, g, gridChannels, lanes, toGrid: true, path, new Post(norm.IsEmpty ? null : pm, ps, pnw, pnb, norm.Relu));
    }

    // grid (Ho*Wo, Co, L), weight (Co, Ci, K, K), bias (Ci) or empty -> image (Hi*Wi, Ci, L)
    /// <summary>
    /// ConvTranspose2d's forward (the adjoint of <see cref="Conv2d"/>): effectively computes image[p, i, l] =
    /// Σ_{ki, kj} (Σ_o weight[o, i, ki, kj] · grid[q, o, l]) + bias[i] over the grid positions q whose window puts tap (ki, kj) on p;
    /// with <paramref name="norm"/>, the batch norm (evaluation mode, and ReLU) after the layer applied as each value is stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ConvTranspose2d(ReadOnlySpan<float> grid, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> image, in ConvGeometry g, int gridChannels, int lanes,
        ChannelNorm norm = default) =>
        ConvTranspose2dOn(grid, weight, bias, image, g, gridChannels, lanes, SimdPath.Widest, norm);

    internal static void ConvTranspose2dOn(ReadOnlySpan<float> grid, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> image, in ConvGeometry g, int gridChannels, int lanes, SimdPath path,
        ChannelNorm norm = default)
    {
        Check(image, grid, weight, bias, g, gridChannels, lanes, biasChannels: g.Channels);
        norm.Check(g.Channels);
        fixed (float* pi = image, pw = weight, pb = bias, pg = grid)
        fixed (float* pm = norm.Mean, ps = norm.InvStd, pnw = norm.Weight, pnb = norm.Bias)
            Dispatch(pg, pw, bias.IsEmpty ? null : pb, pi, g, gridChannels, lanes, toGrid: false, path, new Post(norm.IsEmpty ? null : pm, ps, pnw, pnb, norm.Relu));
    }

    // The normalisation applied as outputs are stored, as pointers (Mean null: none), from a channel on.
    private readonly struct Post(float* mean, float* invStd, float* weight, float* bias, bool relu)
    {
        public readonly float* Mean = mean, InvStd = invStd, Weight = weight, Bias = bias;
        public readonly bool Relu = relu;

        public bool Any => Mean != null;

        public Post At(int channel) => Any ? new(Mean + channel, InvStd + channel, Weight + channel, Bias + channel, Relu) : this;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TVector Apply<TOps, TVector>(TVector x, int row) where TOps : struct, ISimd<TVector> where TVector : unmanaged =>
            TOps.Normalize(x, Mean[row], InvStd[row], Weight[row], Bias[row], Relu);
    }

    private static void Dispatch(float* x, float* w, float* bias, float* y, in ConvGeometry g, int gridChannels, int lanes, bool toGrid, SimdPath path, Post post)
    {
        if (path == SimdPath.Widest && Vector512.IsHardwareAccelerated) Run<Simd512, Vector512<float>>(x, w, bias, y, g, gridChannels, lanes, toGrid, post);
        else if (path != SimdPath.Scalar && Vector.IsHardwareAccelerated && lanes % Vector<float>.Count == 0) Run<SimdVector, Vector<float>>(x, w, bias, y, g, gridChannels, lanes, toGrid, post);
        else Run<SimdScalar, float>(x, w, bias, y, g, gridChannels, lanes, toGrid, post);
    }

    // Output position by output position: its taps (input row offset, weight offset) in (ki, kj) order, then 4 x 4 tiles.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TOps, TVector>(float* x, float* w, float* bias, float* y, in ConvGeometry g, int gridChannels, int lanes, bool toGrid, Post post)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        int k = g.KernelSize, kk = k * k, ci = g.Channels, co = gridChannels;
        if (!toGrid && ci == 1 && k == 3 && TOps.Count > 1 && lanes % (2 * TOps.Count) == 0)
        {
            ScatterToImage<TOps, TVector>(x, w, bias, y, g, co, lanes, post);
            return;
        }
        // Conv2d: rows are grid channels o (weight row o·Ci·KK), the chain runs over image channels i (step KK).
        // Transposed: rows are image channels i (weight row i·KK), the chain over grid channels o (step Ci·KK).
        int outChannels = toGrid ? co : ci, inChannels = toGrid ? ci : co;
        nint wRow = toGrid ? (nint)ci * kk : kk, wStep = toGrid ? kk : (nint)ci * kk;
        int positions = toGrid ? g.OutHeight * g.OutWidth : g.Height * g.Width;
        nint* taps = stackalloc nint[2 * kk];
        int width = TOps.Count, block = TileVectors * width;
        for (int q = 0; q < positions; q++)
        {
            int count = toGrid ? GridTaps(g, q, taps, (nint)ci * lanes) : ImageTaps(g, q, taps, (nint)co * lanes);
            float* yq = y + (nint)q * outChannels * lanes;
            int o = 0;
            if (toGrid && ci == 1 && lanes % block == 0)
            {
                // One image channel: a chain of only K·K taps a tile, so the tiles of the position run in one call.
                o = outChannels / TileRows * TileRows;
                OneChannelTiles<TOps, TVector>(x, taps, count, w, wRow, bias, yq, o, lanes, post);
            }
            for (; o + TileRows <= outChannels; o += TileRows)
            {
                float* wo = w + o * wRow, bo = bias is null ? null : bias + o, yo = yq + (nint)o * lanes;
                int v = 0;
                for (; v + block <= lanes; v += block)
                    Tile<TOps, TVector, FourRows>(x + v, taps, count, inChannels, lanes, wo, wRow, wStep, bo, yo + v, lanes, toGrid, post.At(o));
                for (; v < lanes; v += width)
                    Tile1<TOps, TVector, FourRows>(x + v, taps, count, inChannels, lanes, wo, wRow, wStep, bo, yo + v, lanes, toGrid, post.At(o));
            }
            for (; o < outChannels; o++)
            {
                float* wo = w + o * wRow, bo = bias is null ? null : bias + o, yo = yq + (nint)o * lanes;
                int v = 0;
                for (; v + block <= lanes; v += block)
                    Tile<TOps, TVector, OneRow>(x + v, taps, count, inChannels, lanes, wo, wRow, wStep, bo, yo + v, lanes, toGrid, post.At(o));
                for (; v < lanes; v += width)
                    Tile1<TOps, TVector, OneRow>(x + v, taps, count, inChannels, lanes, wo, wRow, wStep, bo, yo + v, lanes, toGrid, post.At(o));
            }
        }
    }

    // image -> grid with one image channel (the bottleneck's first Conv2d, its last ConvTranspose2d's input gradient): the
    // 4 x 4 tiles of rows [0, rows) and every lane of one grid position, each exactly as Tile computes it chained (one
    // chain from zero over the taps, then + bias, then the post), in one call: a tile is only K·K steps, and a call for
    // each cost about a third of the kernel's time. A copy of Tile's chained path on purpose: one body shared with Tile
    // and marked for inlining is not inlined (it has too many locals), and the call cost the gain back (0.070 → 0.088 ms).
    // The naive twin holds both to the same bits.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OneChannelTiles<TOps, TVector>(float* x, nint* taps, int count, float* w, nint wRow, float* bias, float* yq, int rows, int lanes, Post post)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        int n = TOps.Count, block = TileVectors * n;
        for (int o = 0; o < rows; o += TileRows)
        {
            float* wo = w + o * wRow;
            Post at = post.At(o);
            for (int v = 0; v < lanes; v += block)
            {
                float* y0 = yq + (nint)o * lanes + v, y1 = y0 + lanes, y2 = y1 + lanes, y3 = y2 + lanes;
                TVector c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero;
                TVector c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero;
                TVector c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero;
                TVector c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero;
                for (int t = 0; t < count; t++)
                {
                    float* xp = x + taps[2 * t] + v, wp = wo + taps[2 * t + 1];
                    TVector x0 = TOps.Load(xp), x1 = TOps.Load(xp + n), x2 = TOps.Load(xp + 2 * n), x3 = TOps.Load(xp + 3 * n);
                    TVector a = TOps.Broadcast(wp[0]);
                    c00 = TOps.MultiplyAdd(a, x0, c00); c01 = TOps.MultiplyAdd(a, x1, c01); c02 = TOps.MultiplyAdd(a, x2, c02); c03 = TOps.MultiplyAdd(a, x3, c03);
                    a = TOps.Broadcast(wp[wRow]);
                    c10 = TOps.MultiplyAdd(a, x0, c10); c11 = TOps.MultiplyAdd(a, x1, c11); c12 = TOps.MultiplyAdd(a, x2, c12); c13 = TOps.MultiplyAdd(a, x3, c13);
                    a = TOps.Broadcast(wp[2 * wRow]);
                    c20 = TOps.MultiplyAdd(a, x0, c20); c21 = TOps.MultiplyAdd(a, x1, c21); c22 = TOps.MultiplyAdd(a, x2, c22); c23 = TOps.MultiplyAdd(a, x3, c23);
                    a = TOps.Broadcast(wp[3 * wRow]);
                    c30 = TOps.MultiplyAdd(a, x0, c30); c31 = TOps.MultiplyAdd(a, x1, c31); c32 = TOps.MultiplyAdd(a, x2, c32); c33 = TOps.MultiplyAdd(a, x3, c33);
                }
                if (bias is not null)
                {
                    TVector b = TOps.Broadcast(bias[o]);
                    c00 = TOps.Add(c00, b); c01 = TOps.Add(c01, b); c02 = TOps.Add(c02, b); c03 = TOps.Add(c03, b);
                    b = TOps.Broadcast(bias[o + 1]);
                    c10 = TOps.Add(c10, b); c11 = TOps.Add(c11, b); c12 = TOps.Add(c12, b); c13 = TOps.Add(c13, b);
                    b = TOps.Broadcast(bias[o + 2]);
                    c20 = TOps.Add(c20, b); c21 = TOps.Add(c21, b); c22 = TOps.Add(c22, b); c23 = TOps.Add(c23, b);
                    b = TOps.Broadcast(bias[o + 3]);
                    c30 = TOps.Add(c30, b); c31 = TOps.Add(c31, b); c32 = TOps.Add(c32, b); c33 = TOps.Add(c33, b);
                }
                if (at.Any)
                {
                    c00 = at.Apply<TOps, TVector>(c00, 0); c01 = at.Apply<TOps, TVector>(c01, 0); c02 = at.Apply<TOps, TVector>(c02, 0); c03 = at.Apply<TOps, TVector>(c03, 0);
                    c10 = at.Apply<TOps, TVector>(c10, 1); c11 = at.Apply<TOps, TVector>(c11, 1); c12 = at.Apply<TOps, TVector>(c12, 1); c13 = at.Apply<TOps, TVector>(c13, 1);
                    c20 = at.Apply<TOps, TVector>(c20, 2); c21 = at.Apply<TOps, TVector>(c21, 2); c22 = at.Apply<TOps, TVector>(c22, 2); c23 = at.Apply<TOps, TVector>(c23, 2);
                    c30 = at.Apply<TOps, TVector>(c30, 3); c31 = at.Apply<TOps, TVector>(c31, 3); c32 = at.Apply<TOps, TVector>(c32, 3); c33 = at.Apply<TOps, TVector>(c33, 3);
                }
                TOps.Store(c00, y0); TOps.Store(c01, y0 + n); TOps.Store(c02, y0 + 2 * n); TOps.Store(c03, y0 + 3 * n);
                TOps.Store(c10, y1); TOps.Store(c11, y1 + n); TOps.Store(c12, y1 + 2 * n); TOps.Store(c13, y1 + 3 * n);
                TOps.Store(c20, y2); TOps.Store(c21, y2 + n); TOps.Store(c22, y2 + 2 * n); TOps.Store(c23, y2 + 3 * n);
                TOps.Store(c30, y3); TOps.Store(c31, y3 + n); TOps.Store(c32, y3 + 2 * n); TOps.Store(c33, y3 + 3 * n);
            }
        }
    }

    // grid -> a one-channel image with a 3x3 kernel (the bottleneck's last ConvTranspose2d), as a scatter: each grid
    // vector is loaded once and feeds its 9 taps' chains (18 accumulators for two vectors of lanes), where the gather
    // above loads it once per tap, one load per multiply-add. The same sums: a pixel's per-tap chains over the grid
    // channels, added to it from +0 in (ki, kj) order, which is the order of decreasing grid position (a larger ki or kj
    // reaches the pixel from a smaller one), then + bias.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScatterToImage<TOps, TVector>(float* grid, float* w, float* bias, float* image, in ConvGeometry g, int co, int lanes, Post post)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        int n = TOps.Count, pixels = g.Height * g.Width, positions = g.OutHeight * g.OutWidth;
        new Span<float>(image, pixels * lanes).Clear();
        nint* target = stackalloc nint[9];
        for (int q = positions - 1; q >= 0; q--)
        {
            int top = q / g.OutWidth * g.Stride - g.Padding, left = q % g.OutWidth * g.Stride - g.Padding;
            for (int t = 0; t < 9; t++)
            {
                int iy = top + t / 3, ix = left + t % 3;
                target[t] = (uint)iy < (uint)g.Height && (uint)ix < (uint)g.Width ? (iy * g.Width + ix) * (nint)lanes : -1;
            }
            float* gq = grid + (nint)q * co * lanes;
            for (int v = 0; v < lanes; v += 2 * n)
            {
                TVector a0 = TOps.Zero, a1 = TOps.Zero, b0 = TOps.Zero, b1 = TOps.Zero, c0 = TOps.Zero, c1 = TOps.Zero;
                TVector d0 = TOps.Zero, d1 = TOps.Zero, e0 = TOps.Zero, e1 = TOps.Zero, f0 = TOps.Zero, f1 = TOps.Zero;
                TVector g0 = TOps.Zero, g1 = TOps.Zero, h0 = TOps.Zero, h1 = TOps.Zero, i0 = TOps.Zero, i1 = TOps.Zero;
                for (int o = 0; o < co; o++)
                {
                    float* xo = gq + (nint)o * lanes + v, wo = w + o * 9;
                    TVector x0 = TOps.Load(xo), x1 = TOps.Load(xo + n);
                    TVector m = TOps.Broadcast(wo[0]); a0 = TOps.MultiplyAdd(m, x0, a0); a1 = TOps.MultiplyAdd(m, x1, a1);
                    m = TOps.Broadcast(wo[1]); b0 = TOps.MultiplyAdd(m, x0, b0); b1 = TOps.MultiplyAdd(m, x1, b1);
                    m = TOps.Broadcast(wo[2]); c0 = TOps.MultiplyAdd(m, x0, c0); c1 = TOps.MultiplyAdd(m, x1, c1);
                    m = TOps.Broadcast(wo[3]); d0 = TOps.MultiplyAdd(m, x0, d0); d1 = TOps.MultiplyAdd(m, x1, d1);
                    m = TOps.Broadcast(wo[4]); e0 = TOps.MultiplyAdd(m, x0, e0); e1 = TOps.MultiplyAdd(m, x1, e1);
                    m = TOps.Broadcast(wo[5]); f0 = TOps.MultiplyAdd(m, x0, f0); f1 = TOps.MultiplyAdd(m, x1, f1);
                    m = TOps.Broadcast(wo[6]); g0 = TOps.MultiplyAdd(m, x0, g0); g1 = TOps.MultiplyAdd(m, x1, g1);
                    m = TOps.Broadcast(wo[7]); h0 = TOps.MultiplyAdd(m, x0, h0); h1 = TOps.MultiplyAdd(m, x1, h1);
                    m = TOps.Broadcast(wo[8]); i0 = TOps.MultiplyAdd(m, x0, i0); i1 = TOps.MultiplyAdd(m, x1, i1);
                }
                float* yv = image + v;
                AddTap<TOps, TVector>(yv, target[0], a0, a1); AddTap<TOps, TVector>(yv, target[1], b0, b1); AddTap<TOps, TVector>(yv, target[2], c0, c1);
                AddTap<TOps, TVector>(yv, target[3], d0, d1); AddTap<TOps, TVector>(yv, target[4], e0, e1); AddTap<TOps, TVector>(yv, target[5], f0, f1);
                AddTap<TOps, TVector>(yv, target[6], g0, g1); AddTap<TOps, TVector>(yv, target[7], h0, h1); AddTap<TOps, TVector>(yv, target[8], i0, i1);
            }
        }
        if (bias is null && !post.Any) return;
        TVector b = TOps.Broadcast(bias is null ? 0f : bias[0]);
        for (float* y = image, end = image + (nint)pixels * lanes; y < end; y += n)
        {
            TVector value = bias is null ? TOps.Load(y) : TOps.Add(TOps.Load(y), b);
            TOps.Store(post.Any ? post.Apply<TOps, TVector>(value, 0) : value, y);
        }
    }

    // The pixel at `offset` (or none, -1) += the tap's two vectors.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTap<TOps, TVector>(float* y, nint offset, TVector first, TVector second)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        if (offset < 0) return;
        float* p = y + offset;
        TOps.Store(TOps.Add(TOps.Load(p), first), p);
        TOps.Store(TOps.Add(TOps.Load(p + TOps.Count), second), p + TOps.Count);
    }

    // Grid position q's taps inside the image, in (ki, kj) order: (offset of its image position's rows, ki·K + kj).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // called in the kernels' loops, too large to inline: optimised from the first call
    private static int GridTaps(in ConvGeometry g, int q, nint* taps, nint positionLength)
    {
        int k = g.KernelSize, oy = q / g.OutWidth, ox = q % g.OutWidth, count = 0;
        for (int ki = 0; ki < k; ki++)
        {
            int iy = oy * g.Stride - g.Padding + ki;
            if ((uint)iy >= (uint)g.Height) continue;
            for (int kj = 0; kj < k; kj++)
            {
                int ix = ox * g.Stride - g.Padding + kj;
                if ((uint)ix >= (uint)g.Width) continue;
                taps[2 * count] = (iy * g.Width + ix) * positionLength;
                taps[2 * count + 1] = ki * k + kj;
                count++;
            }
        }
        return count;
    }

    // Image position p's taps: the grid positions whose window puts tap (ki, kj) on p, in (ki, kj) order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // called in the kernels' loops, too large to inline: optimised from the first call
    private static int ImageTaps(in ConvGeometry g, int p, nint* taps, nint positionLength)
    {
        int k = g.KernelSize, s = g.Stride, iy = p / g.Width, ix = p % g.Width, count = 0;
        for (int ki = 0; ki < k; ki++)
        {
            int ty = iy + g.Padding - ki;
            if (ty < 0 || ty % s != 0 || ty / s >= g.OutHeight) continue;
            for (int kj = 0; kj < k; kj++)
            {
                int tx = ix + g.Padding - kj;
                if (tx < 0 || tx % s != 0 || tx / s >= g.OutWidth) continue;
                taps[2 * count] = ((ty / s) * g.OutWidth + tx / s) * positionLength;
                taps[2 * count + 1] = ki * k + kj;
                count++;
            }
        }
        return count;
    }

    // Up to 4 output rows x 4 vectors of y[r, :] = Σ over the taps and channels of w[r·wRow + tap + c·wStep] · x[tapOffset + c·xStep, :],
    // plus bias[r]. chained: one chain from zero over (c, tap) (Conv2d's order); else per tap a chain from zero over c, the
    // taps' sums added from zero in tap order in y itself (ConvTranspose2d's order).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TOps, TVector, TRows>(float* x, nint* taps, int count, int steps, nint xStep, float* w, nint wRow, nint wStep, float* bias, float* y, nint yRow,
        bool chained, Post post)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
        where TRows : struct, ITileRows
    {
        int n = TOps.Count;
        float* y1 = y + yRow, y2 = y + 2 * yRow, y3 = y + 3 * yRow;
        TVector c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero;
        TVector c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero;
        TVector c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero;
        TVector c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero;
        // chained: the channel loop outside the taps; else one pass of the channel loop per tap.
        int passes = chained ? 1 : count, inner = chained ? count : 1;
        for (int pass = 0; pass < passes; pass++)
        {
            for (int c = 0; c < steps; c++)
                for (int j = 0; j < inner; j++)
                {
                    int t = chained ? j : pass;
                    float* xp = x + taps[2 * t] + c * xStep, wp = w + taps[2 * t + 1] + c * wStep;
                    TVector x0 = TOps.Load(xp), x1 = TOps.Load(xp + n), x2 = TOps.Load(xp + 2 * n), x3 = TOps.Load(xp + 3 * n);
                    TVector a = TOps.Broadcast(wp[0]);
                    c00 = TOps.MultiplyAdd(a, x0, c00); c01 = TOps.MultiplyAdd(a, x1, c01); c02 = TOps.MultiplyAdd(a, x2, c02); c03 = TOps.MultiplyAdd(a, x3, c03);
                    if (TRows.Count == 4)
                    {
                        a = TOps.Broadcast(wp[wRow]);
                        c10 = TOps.MultiplyAdd(a, x0, c10); c11 = TOps.MultiplyAdd(a, x1, c11); c12 = TOps.MultiplyAdd(a, x2, c12); c13 = TOps.MultiplyAdd(a, x3, c13);
                        a = TOps.Broadcast(wp[2 * wRow]);
                        c20 = TOps.MultiplyAdd(a, x0, c20); c21 = TOps.MultiplyAdd(a, x1, c21); c22 = TOps.MultiplyAdd(a, x2, c22); c23 = TOps.MultiplyAdd(a, x3, c23);
                        a = TOps.Broadcast(wp[3 * wRow]);
                        c30 = TOps.MultiplyAdd(a, x0, c30); c31 = TOps.MultiplyAdd(a, x1, c31); c32 = TOps.MultiplyAdd(a, x2, c32); c33 = TOps.MultiplyAdd(a, x3, c33);
                    }
                }
            if (chained) break;
            // This tap's sums join y's (from zero at the first tap), and the accumulators start again.
            bool first = pass == 0;
            Join<TOps, TVector>(ref c00, y, first); Join<TOps, TVector>(ref c01, y + n, first); Join<TOps, TVector>(ref c02, y + 2 * n, first); Join<TOps, TVector>(ref c03, y + 3 * n, first);
            if (TRows.Count == 4)
            {
                Join<TOps, TVector>(ref c10, y1, first); Join<TOps, TVector>(ref c11, y1 + n, first); Join<TOps, TVector>(ref c12, y1 + 2 * n, first); Join<TOps, TVector>(ref c13, y1 + 3 * n, first);
                Join<TOps, TVector>(ref c20, y2, first); Join<TOps, TVector>(ref c21, y2 + n, first); Join<TOps, TVector>(ref c22, y2 + 2 * n, first); Join<TOps, TVector>(ref c23, y2 + 3 * n, first);
                Join<TOps, TVector>(ref c30, y3, first); Join<TOps, TVector>(ref c31, y3 + n, first); Join<TOps, TVector>(ref c32, y3 + 2 * n, first); Join<TOps, TVector>(ref c33, y3 + 3 * n, first);
            }
        }
        if (!chained)
        {
            // The sums are in y (zero where no tap reached the pixel): bring them back for the bias.
            c00 = count == 0 ? TOps.Zero : TOps.Load(y); c01 = count == 0 ? TOps.Zero : TOps.Load(y + n); c02 = count == 0 ? TOps.Zero : TOps.Load(y + 2 * n); c03 = count == 0 ? TOps.Zero : TOps.Load(y + 3 * n);
            if (TRows.Count == 4)
            {
                c10 = count == 0 ? TOps.Zero : TOps.Load(y1); c11 = count == 0 ? TOps.Zero : TOps.Load(y1 + n); c12 = count == 0 ? TOps.Zero : TOps.Load(y1 + 2 * n); c13 = count == 0 ? TOps.Zero : TOps.Load(y1 + 3 * n);
                c20 = count == 0 ? TOps.Zero : TOps.Load(y2); c21 = count == 0 ? TOps.Zero : TOps.Load(y2 + n); c22 = count == 0 ? TOps.Zero : TOps.Load(y2 + 2 * n); c23 = count == 0 ? TOps.Zero : TOps.Load(y2 + 3 * n);
                c30 = count == 0 ? TOps.Zero : TOps.Load(y3); c31 = count == 0 ? TOps.Zero : TOps.Load(y3 + n); c32 = count == 0 ? TOps.Zero : TOps.Load(y3 + 2 * n); c33 = count == 0 ? TOps.Zero : TOps.Load(y3 + 3 * n);
            }
        }
        if (bias is not null)
        {
            TVector b = TOps.Broadcast(bias[0]);
            c00 = TOps.Add(c00, b); c01 = TOps.Add(c01, b); c02 = TOps.Add(c02, b); c03 = TOps.Add(c03, b);
            if (TRows.Count == 4)
            {
                b = TOps.Broadcast(bias[1]);
                c10 = TOps.Add(c10, b); c11 = TOps.Add(c11, b); c12 = TOps.Add(c12, b); c13 = TOps.Add(c13, b);
                b = TOps.Broadcast(bias[2]);
                c20 = TOps.Add(c20, b); c21 = TOps.Add(c21, b); c22 = TOps.Add(c22, b); c23 = TOps.Add(c23, b);
                b = TOps.Broadcast(bias[3]);
                c30 = TOps.Add(c30, b); c31 = TOps.Add(c31, b); c32 = TOps.Add(c32, b); c33 = TOps.Add(c33, b);
            }
        }
        else if (!chained && count > 0 && !post.Any) return;  // y already holds the sums
        if (post.Any)
        {
            c00 = post.Apply<TOps, TVector>(c00, 0); c01 = post.Apply<TOps, TVector>(c01, 0); c02 = post.Apply<TOps, TVector>(c02, 0); c03 = post.Apply<TOps, TVector>(c03, 0);
            if (TRows.Count == 4)
            {
                c10 = post.Apply<TOps, TVector>(c10, 1); c11 = post.Apply<TOps, TVector>(c11, 1); c12 = post.Apply<TOps, TVector>(c12, 1); c13 = post.Apply<TOps, TVector>(c13, 1);
                c20 = post.Apply<TOps, TVector>(c20, 2); c21 = post.Apply<TOps, TVector>(c21, 2); c22 = post.Apply<TOps, TVector>(c22, 2); c23 = post.Apply<TOps, TVector>(c23, 2);
                c30 = post.Apply<TOps, TVector>(c30, 3); c31 = post.Apply<TOps, TVector>(c31, 3); c32 = post.Apply<TOps, TVector>(c32, 3); c33 = post.Apply<TOps, TVector>(c33, 3);
            }
        }
        TOps.Store(c00, y); TOps.Store(c01, y + n); TOps.Store(c02, y + 2 * n); TOps.Store(c03, y + 3 * n);
        if (TRows.Count == 4)
        {
            TOps.Store(c10, y1); TOps.Store(c11, y1 + n); TOps.Store(c12, y1 + 2 * n); TOps.Store(c13, y1 + 3 * n);
            TOps.Store(c20, y2); TOps.Store(c21, y2 + n); TOps.Store(c22, y2 + 2 * n); TOps.Store(c23, y2 + 3 * n);
            TOps.Store(c30, y3); TOps.Store(c31, y3 + n); TOps.Store(c32, y3 + 2 * n); TOps.Store(c33, y3 + 3 * n);
        }
    }

    // y = (first ? +0 : y) + sum (as col2im adds into a cleared image: +0 + -0 is +0), and the sum starts again from zero.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Join<TOps, TVector>(ref TVector sum, float* y, bool first)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        TOps.Store(TOps.Add(first ? TOps.Zero : TOps.Load(y), sum), y);
        sum = TOps.Zero;
    }

    // Up to 4 output rows x 1 vector, for lanes past the last whole 4-vector block; the same orders as Tile.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1<TOps, TVector, TRows>(float* x, nint* taps, int count, int steps, nint xStep, float* w, nint wRow, nint wStep, float* bias, float* y, nint yRow,
        bool chained, Post post)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
        where TRows : struct, ITileRows
    {
        int rows = TRows.Count;
        TVector c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero;
        int passes = chained ? 1 : count, inner = chained ? count : 1;
        for (int pass = 0; pass < passes; pass++)
        {
            for (int c = 0; c < steps; c++)
                for (int j = 0; j < inner; j++)
                {
                    int t = chained ? j : pass;
                    float* xp = x + taps[2 * t] + c * xStep, wp = w + taps[2 * t + 1] + c * wStep;
                    TVector x0 = TOps.Load(xp);
                    c0 = TOps.MultiplyAdd(TOps.Broadcast(wp[0]), x0, c0);
                    if (rows == 4)
                    {
                        c1 = TOps.MultiplyAdd(TOps.Broadcast(wp[wRow]), x0, c1);
                        c2 = TOps.MultiplyAdd(TOps.Broadcast(wp[2 * wRow]), x0, c2);
                        c3 = TOps.MultiplyAdd(TOps.Broadcast(wp[3 * wRow]), x0, c3);
                    }
                }
            if (chained) break;
            bool first = pass == 0;
            Join<TOps, TVector>(ref c0, y, first);
            if (rows == 4)
            {
                Join<TOps, TVector>(ref c1, y + yRow, first);
                Join<TOps, TVector>(ref c2, y + 2 * yRow, first);
                Join<TOps, TVector>(ref c3, y + 3 * yRow, first);
            }
        }
        if (!chained && count > 0)
        {
            c0 = TOps.Load(y);
            if (rows == 4) { c1 = TOps.Load(y + yRow); c2 = TOps.Load(y + 2 * yRow); c3 = TOps.Load(y + 3 * yRow); }
        }
        if (bias is not null)
        {
            c0 = TOps.Add(c0, TOps.Broadcast(bias[0]));
            if (rows == 4)
            {
                c1 = TOps.Add(c1, TOps.Broadcast(bias[1]));
                c2 = TOps.Add(c2, TOps.Broadcast(bias[2]));
                c3 = TOps.Add(c3, TOps.Broadcast(bias[3]));
            }
        }
        if (post.Any)
        {
            c0 = post.Apply<TOps, TVector>(c0, 0);
            if (rows == 4) { c1 = post.Apply<TOps, TVector>(c1, 1); c2 = post.Apply<TOps, TVector>(c2, 2); c3 = post.Apply<TOps, TVector>(c3, 3); }
        }
        TOps.Store(c0, y);
        if (rows == 4)
        {
            TOps.Store(c1, y + yRow);
            TOps.Store(c2, y + 2 * yRow);
            TOps.Store(c3, y + 3 * yRow);
        }
    }

    /// <summary>Naive twin of <see cref="Conv2d"/> (same order, so equal bit for bit).</summary>
    public static void Conv2dNaive(ReadOnlySpan<float> image, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> grid, in ConvGeometry g, int gridChannels, int lanes)
    {
        Check(image, grid, weight, bias, g, gridChannels, lanes, biasChannels: gridChannels);
        int k = g.KernelSize, ci = g.Channels;
        for (int oy = 0; oy < g.OutHeight; oy++)
            for (int ox = 0; ox < g.OutWidth; ox++)
                for (int o = 0; o < gridChannels; o++)
                    for (int l = 0; l < lanes; l++)
                    {
                        float sum = 0f;
                        for (int i = 0; i < ci; i++)
                            for (int ki = 0; ki < k; ki++)
                                for (int kj = 0; kj < k; kj++)
                                {
                                    int iy = oy * g.Stride - g.Padding + ki, ix = ox * g.Stride - g.Padding + kj;
                                    if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width) continue;
                                    sum = MathF.FusedMultiplyAdd(weight[((o * ci + i) * k + ki) * k + kj], image[((iy * g.Width + ix) * ci + i) * lanes + l], sum);
                                }
                        grid[((oy * g.OutWidth + ox) * gridChannels + o) * lanes + l] = bias.IsEmpty ? sum : sum + bias[o];
                    }
    }

    /// <summary>Naive twin of <see cref="ConvTranspose2d"/>, as the gather it computes (same order, so equal bit for bit).</summary>
    public static void ConvTranspose2dNaive(ReadOnlySpan<float> grid, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> image, in ConvGeometry g, int gridChannels, int lanes)
    {
        Check(image, grid, weight, bias, g, gridChannels, lanes, biasChannels: g.Channels);
        int k = g.KernelSize, ci = g.Channels, s = g.Stride;
        for (int iy = 0; iy < g.Height; iy++)
            for (int ix = 0; ix < g.Width; ix++)
                for (int i = 0; i < ci; i++)
                    for (int l = 0; l < lanes; l++)
                    {
                        float sum = 0f;
                        for (int ki = 0; ki < k; ki++)
                            for (int kj = 0; kj < k; kj++)
                            {
                                int ty = iy + g.Padding - ki, tx = ix + g.Padding - kj;
                                if (ty < 0 || tx < 0 || ty % s != 0 || tx % s != 0 || ty / s >= g.OutHeight || tx / s >= g.OutWidth) continue;
                                int q = (ty / s) * g.OutWidth + tx / s;
                                float tap = 0f;
                                for (int o = 0; o < gridChannels; o++)
                                    tap = MathF.FusedMultiplyAdd(weight[((o * ci + i) * k + ki) * k + kj], grid[(q * gridChannels + o) * lanes + l], tap);
                                sum += tap;
                            }
                        image[((iy * g.Width + ix) * ci + i) * lanes + l] = bias.IsEmpty ? sum : sum + bias[i];
                    }
    }

    // grid (Ho*Wo, Co, L), image (Hi*Wi, Ci, L) -> dWeight (Co, Ci, K, K), accumulated
    /// <summary>
    /// Both layers' weight gradient: effectively computes dWeight[o, i, ki, kj] += Σ_{q, l} grid[q, o, l] · image[p(q, ki, kj), i, l]
    /// over the grid positions q whose tap (ki, kj) is inside the image (Conv2d: grid = dOutput, image = input; ConvTranspose2d:
    /// grid = input, image = dOutput), each sum one fused multiply-add chain from zero over q, then l, in order. Lanes past
    /// the batch must be zero on one side.
    /// </summary>
    /// <remarks>
    /// Both operands have the lanes innermost, the summed index; so the grid is first transposed per position to (L, Co)
    /// (Lanes.TransposePositions), and each step of a chain is then a broadcast image value times a vector of grid channels,
    /// with the partial sums kept in a (K*K*Ci, Co) scratch between positions: a tile of 6 (tap, channel) rows by up to 4
    /// vectors of channels, and a grid position's (L, Co) block stays in L1 while every tile uses it. With exactly 4 vectors
    /// of channels a tile runs over 8 positions' blocks (in L2) before its sums go back to the scratch.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGradient(ReadOnlySpan<float> grid, ReadOnlySpan<float> image, Span<float> dWeight, in ConvGeometry g, int gridChannels, int lanes) =>
        WeightGradientOn(grid, image, dWeight, g, gridChannels, lanes, SimdPath.Widest);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void WeightGradientOn(ReadOnlySpan<float> grid, ReadOnlySpan<float> image, Span<float> dWeight, in ConvGeometry g, int gridChannels, int lanes, SimdPath path)
    {
        Check(image, grid, dWeight, [], g, gridChannels, lanes, biasChannels: 0);
        int kk = g.KernelSize * g.KernelSize, positions = g.OutHeight * g.OutWidth, columns = kk * g.Channels, co = gridChannels;
        // One grid position's (L, Co) block at a time (or a chunk of them, ChunkedGradient), transposed just before its tiles
        // use it: it stays in L1 (L2), where a transposed copy of the whole grid (1.6 MB for the 14x14x32 layers of 64
        // images) would not even fit in L2.
        float[] transposed = Scratch(ref t_transposed, GradientChunk * co * lanes);
        float[] sums = Scratch(ref t_sums, columns * co);
        float[] zeros = Scratch(ref t_zeros, lanes);
        fixed (float* pg = grid, pi = image, pd = dWeight, pt = transposed, ps = sums, pz = zeros)
        {
            float* block = Aligned(pt), partial = Aligned(ps), zero = Aligned(pz);
            new Span<float>(partial, columns * co).Clear();
            new Span<float>(zero, lanes).Clear();
            if (path == SimdPath.Widest && Vector512.IsHardwareAccelerated) Gradient<Simd512, Vector512<float>>(pg, block, pi, partial, zero, g, co, lanes, path);
            else if (path != SimdPath.Scalar && Vector.IsHardwareAccelerated) Gradient<SimdVector, Vector<float>>(pg, block, pi, partial, zero, g, co, lanes, path);
            else Gradient<SimdScalar, float>(pg, block, pi, partial, zero, g, co, lanes, path);
            // partial[(t·Ci + i)·Co + o] -> dWeight[o, i, t]
            for (int t = 0; t < kk; t++)
                for (int i = 0; i < g.Channels; i++)
                {
                    float* row = partial + (nint)(t * g.Channels + i) * co;
                    for (int o = 0; o < co; o++) pd[((nint)o * g.Channels + i) * kk + t] += row[o];
                }
        }
    }

    [ThreadStatic] private static float[]? t_transposed, t_sums;
    [ThreadStatic] private static int[]? t_columns;
    [ThreadStatic] private static long[]? t_columnOffsets;

    // A pinned buffer with room for `length` floats from a 64-byte boundary.
    private static float[] Scratch(ref float[]? buffer, int length) =>
        buffer is { } b && b.Length >= length + LaneMultiple ? b : (buffer = GC.AllocateArray<float>(length + LaneMultiple, pinned: true));

    private static float* Aligned(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

    // For each grid position in order: its (Co, L) rows transposed into `block` (L, Co), then the (tap, channel) rows of
    // the image under its window against that block.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gradient<TOps, TVector>(float* grid, float* block, float* image, float* partial, float* zero, in ConvGeometry g, int co, int lanes, SimdPath path)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        int k = g.KernelSize, kk = k * k, ci = g.Channels, columns = kk * ci, positions = g.OutHeight * g.OutWidth, w = TOps.Count;
        nint imagePosition = (nint)ci * lanes;
        float** rows = stackalloc float*[WideGradientRows];
        // Column j = tap t·Ci + channel i: its kernel row and column and its channel's offset, worked out once (no division
        // in the loops below).
        int[] kernelRows = t_columns is { } cached && cached.Length >= 2 * columns ? cached : (t_columns = new int[2 * columns]);
        long[] offsets = t_columnOffsets is { } cachedOffsets && cachedOffsets.Length >= columns ? cachedOffsets : (t_columnOffsets = new long[columns]);
        for (int j = 0; j < columns; j++)
        {
            int t = j / ci;
            kernelRows[2 * j] = t / k;
            kernelRows[2 * j + 1] = t % k;
            offsets[j] = (long)(j % ci) * lanes;
        }
        fixed (int* kernel = kernelRows)
        fixed (long* columnOffset = offsets)
        {
            if (co == TileVectors * w && w > 1)
            {
                ChunkedGradient<TOps, TVector>(grid, block, image, partial, zero, g, co, lanes, path, kernel, columnOffset);
                return;
            }
            for (int q = 0, oy = 0, ox = 0; q < positions; q++, ox = ox + 1 == g.OutWidth ? 0 : ox + 1, oy += ox == 0 ? 1 : 0)
            {
                int top = oy * g.Stride - g.Padding, left = ox * g.Stride - g.Padding;
                if (Sse.IsSupported && q + 1 < positions)
                {
                    // The next position's grid block into L2 (the grid is the cold side in a training step: a layer's input).
                    byte* ahead = (byte*)(grid + (nint)(q + 1) * co * lanes);
                    for (nint b = 0, bytes = (nint)co * lanes * sizeof(float); b < bytes; b += 64) Sse.Prefetch1(ahead + b);
                }
                Lanes.TransposePositionsOn(new ReadOnlySpan<float>(grid + (nint)q * co * lanes, co * lanes), new Span<float>(block, co * lanes), 1, co, lanes, path);
                int j = 0;
                // Two vectors of channels (Co = 32 with Vector512: the 1-channel layers' weight gradients, 9 columns) take 9
                // columns a tile: 18 accumulators, and no tile of zero rows for the 3 columns past 6.
                if (co == 2 * w)
                    for (; j + WideGradientRows <= columns; j += WideGradientRows)
                        if (GradientTileRows(rows, WideGradientRows, WideGradientRows, j, kernel, columnOffset, image, zero, g, top, left, imagePosition))
                            WideGradientTile<TOps, TVector>(block, co, rows, partial + (nint)j * co, co, lanes);
                for (; j < columns; j += GradientRows)
                {
                    int count = Math.Min(GradientRows, columns - j);
                    bool any = GradientTileRows(rows, GradientRows, count, j, kernel, columnOffset, image, zero, g, top, left, imagePosition);
                    if (!any) continue;
                    float* sums = partial + (nint)j * co;
                    int o = 0;
                    for (; o + 4 * w <= co; o += 4 * w) GradientTile<TOps, TVector, FourVectors>(block + o, 0, co, rows, &any, 1, count, sums + o, co, lanes);
                    for (; o + 2 * w <= co; o += 2 * w) GradientTile<TOps, TVector, TwoVectors>(block + o, 0, co, rows, &any, 1, count, sums + o, co, lanes);
                    for (; o + w <= co; o += w) GradientTile<TOps, TVector, OneVector>(block + o, 0, co, rows, &any, 1, count, sums + o, co, lanes);
                    for (; o < co; o++) GradientTile<SimdScalar, float, OneVector>(block + o, 0, co, rows, &any, 1, count, sums + o, co, lanes);
                }
            }
        }
    }

    // Grid positions per chunk of ChunkedGradient: their transposed blocks (16 KB each for 64 channels of 64 lanes, 128 KB)
    // stay in L2 while every tile runs over them. Measured (`gemm`, and `profile bottleneck 1 128`, where the image side
    // comes cold from L3): 1 (the per-position walk) 1.021 ms, 4 0.988, 8 0.980, 16 0.976 warm, but 16 slower than 8 in the
    // step (the chunk's image windows, 16 x 73 KB, no longer fit L2), 49 (the whole grid) 1.017.
    private const int GradientChunk = 8;

    // Gradient with four vectors of grid channels (Co = 64 with Vector512): GradientChunk positions at a time, their blocks
    // transposed first, then each tile's chains over all of them (GradientTile over the chunk), so that its 24 partial
    // sums are loaded and stored once a chunk rather than once a position. The same chains in the same order (positions,
    // then lanes).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ChunkedGradient<TOps, TVector>(float* grid, float* blocks, float* image, float* partial, float* zero, in ConvGeometry g, int co, int lanes,
        SimdPath path, int* kernel, long* columnOffset)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        int columns = g.KernelSize * g.KernelSize * g.Channels, positions = g.OutHeight * g.OutWidth;
        nint imagePosition = (nint)g.Channels * lanes, blockLength = (nint)co * lanes;
        float** rows = stackalloc float*[GradientChunk * GradientRows];
        bool* any = stackalloc bool[GradientChunk];
        int* tops = stackalloc int[GradientChunk], lefts = stackalloc int[GradientChunk];
        // Prefetch (into L2) of the next chunk's grid blocks and image windows, a few lines per tile, so that a cold operand
        // (in a training step one side was written long before: Conv2d's input, ConvTranspose2d's) arrives while this chunk computes.
        byte* gridEnd = (byte*)(grid + (nint)positions * blockLength), imageEnd = (byte*)(image + (nint)g.Height * g.Width * imagePosition);
        byte* gridAhead = (byte*)(grid + Math.Min(positions, GradientChunk) * blockLength), imageAhead = (byte*)image;
        bool prefetch = Sse.IsSupported;
        int tiles = (columns + GradientRows - 1) / GradientRows;
        for (int q0 = 0; q0 < positions; q0 += GradientChunk)
        {
            int chunk = Math.Min(GradientChunk, positions - q0);
            byte* gridTarget = (byte*)(grid + (nint)Math.Min(positions, q0 + 2 * GradientChunk) * blockLength);
            // The image rows under the next chunk's windows: up to the last row its bottom taps reach (all of them at the end).
            int nextLast = Math.Min(positions, q0 + 2 * GradientChunk) - 1;
            int bottom = Math.Min(g.Height, nextLast / g.OutWidth * g.Stride - g.Padding + g.KernelSize);
            byte* imageTarget = q0 + GradientChunk >= positions ? imageAhead : (byte*)(image + Math.Max(0, bottom) * (nint)g.Width * imagePosition);
            nint gridStep = (nint)Math.Max(0, (gridTarget - gridAhead + tiles - 1) / tiles), imageStep = (nint)Math.Max(0, (imageTarget - imageAhead + tiles - 1) / tiles);
            Lanes.TransposePositionsOn(new ReadOnlySpan<float>(grid + (nint)q0 * blockLength, chunk * (int)blockLength), new Span<float>(blocks, chunk * (int)blockLength), chunk, co, lanes, path);
            for (int i = 0; i < chunk; i++)
            {
                int q = q0 + i;
                tops[i] = q / g.OutWidth * g.Stride - g.Padding;
                lefts[i] = q % g.OutWidth * g.Stride - g.Padding;
            }
            for (int j = 0; j < columns; j += GradientRows)
            {
                int count = Math.Min(GradientRows, columns - j);
                bool some = false;
                for (int i = 0; i < chunk; i++)
                    some |= any[i] = GradientTileRows(rows + i * GradientRows, GradientRows, count, j, kernel, columnOffset, image, zero, g, tops[i], lefts[i], imagePosition);
                if (some) GradientTile<TOps, TVector, FourVectors>(blocks, blockLength, co, rows, any, chunk, count, partial + (nint)j * co, co, lanes);
                if (prefetch)
                {
                    for (byte* end = Min(gridAhead + gridStep, gridEnd); gridAhead < end; gridAhead += 64) Sse.Prefetch1(gridAhead);
                    for (byte* end = Min(imageAhead + imageStep, imageEnd); imageAhead < end; imageAhead += 64) Sse.Prefetch1(imageAhead);
                }
            }
        }
    }

    private static byte* Min(byte* a, byte* b) => a < b ? a : b;

    private const int GradientRows = 6;
    private const int WideGradientRows = 9;

    // A tile's `size` row pointers for columns j..j+count-1 at the window whose top-left is (top, left): the image row of
    // each column's tap and channel, or the zero row for a tap outside the image or a row past `count`. False when every
    // row is the zero row (the tile would add nothing).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]  // called in the kernels' loops, too large to inline: optimised from the first call
    private static bool GradientTileRows(float** rows, int size, int count, int j, int* kernel, long* columnOffset, float* image, float* zero, in ConvGeometry g,
        int top, int left, nint imagePosition)
    {
        bool any = false;
        for (int r = 0; r < size; r++)
        {
            rows[r] = zero;
            if (r >= count) continue;
            int iy = top + kernel[2 * (j + r)], ix = left + kernel[2 * (j + r) + 1];
            if ((uint)iy >= (uint)g.Height || (uint)ix >= (uint)g.Width) continue;
            rows[r] = image + (iy * g.Width + ix) * imagePosition + (nint)columnOffset[j + r];
            any = true;
        }
        return any;
    }

    // sums[r·sumRow + v·W ..] += Σ_l rows[r][l] · gridT[l·gridRow + v·W ..] for 9 rows and 2 vectors (a row that is the
    // zero row adds exact zeros to a sum it then stores unchanged); each element's chain the same as GradientTile's.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WideGradientTile<TOps, TVector>(float* gridT, nint gridRow, float** rows, float* sums, nint sumRow, int lanes)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
    {
        int w = TOps.Count;
        float* x0 = rows[0], x1 = rows[1], x2 = rows[2], x3 = rows[3], x4 = rows[4], x5 = rows[5], x6 = rows[6], x7 = rows[7], x8 = rows[8];
        float* s0 = sums, s1 = sums + sumRow, s2 = sums + 2 * sumRow, s3 = sums + 3 * sumRow, s4 = sums + 4 * sumRow, s5 = sums + 5 * sumRow;
        float* s6 = sums + 6 * sumRow, s7 = sums + 7 * sumRow, s8 = sums + 8 * sumRow;
        TVector c00 = TOps.Load(s0), c01 = TOps.Load(s0 + w), c10 = TOps.Load(s1), c11 = TOps.Load(s1 + w), c20 = TOps.Load(s2), c21 = TOps.Load(s2 + w);
        TVector c30 = TOps.Load(s3), c31 = TOps.Load(s3 + w), c40 = TOps.Load(s4), c41 = TOps.Load(s4 + w), c50 = TOps.Load(s5), c51 = TOps.Load(s5 + w);
        TVector c60 = TOps.Load(s6), c61 = TOps.Load(s6 + w), c70 = TOps.Load(s7), c71 = TOps.Load(s7 + w), c80 = TOps.Load(s8), c81 = TOps.Load(s8 + w);
        for (int l = 0; l < lanes; l++)
        {
            float* gl = gridT + l * gridRow;
            TVector g0 = TOps.Load(gl), g1 = TOps.Load(gl + w);
            TVector b = TOps.Broadcast(x0[l]);
            c00 = TOps.MultiplyAdd(b, g0, c00); c01 = TOps.MultiplyAdd(b, g1, c01);
            b = TOps.Broadcast(x1[l]);
            c10 = TOps.MultiplyAdd(b, g0, c10); c11 = TOps.MultiplyAdd(b, g1, c11);
            b = TOps.Broadcast(x2[l]);
            c20 = TOps.MultiplyAdd(b, g0, c20); c21 = TOps.MultiplyAdd(b, g1, c21);
            b = TOps.Broadcast(x3[l]);
            c30 = TOps.MultiplyAdd(b, g0, c30); c31 = TOps.MultiplyAdd(b, g1, c31);
            b = TOps.Broadcast(x4[l]);
            c40 = TOps.MultiplyAdd(b, g0, c40); c41 = TOps.MultiplyAdd(b, g1, c41);
            b = TOps.Broadcast(x5[l]);
            c50 = TOps.MultiplyAdd(b, g0, c50); c51 = TOps.MultiplyAdd(b, g1, c51);
            b = TOps.Broadcast(x6[l]);
            c60 = TOps.MultiplyAdd(b, g0, c60); c61 = TOps.MultiplyAdd(b, g1, c61);
            b = TOps.Broadcast(x7[l]);
            c70 = TOps.MultiplyAdd(b, g0, c70); c71 = TOps.MultiplyAdd(b, g1, c71);
            b = TOps.Broadcast(x8[l]);
            c80 = TOps.MultiplyAdd(b, g0, c80); c81 = TOps.MultiplyAdd(b, g1, c81);
        }
        TOps.Store(c00, s0); TOps.Store(c01, s0 + w); TOps.Store(c10, s1); TOps.Store(c11, s1 + w); TOps.Store(c20, s2); TOps.Store(c21, s2 + w);
        TOps.Store(c30, s3); TOps.Store(c31, s3 + w); TOps.Store(c40, s4); TOps.Store(c41, s4 + w); TOps.Store(c50, s5); TOps.Store(c51, s5 + w);
        TOps.Store(c60, s6); TOps.Store(c61, s6 + w); TOps.Store(c70, s7); TOps.Store(c71, s7 + w); TOps.Store(c80, s8); TOps.Store(c81, s8 + w);
    }

    // sums[r·sumRow + v·W ..] += Σ_i Σ_l rows[6i + r][l] · blocks[i·blockLength + l·gridRow + v·W ..] for 6 rows (those past
    // `count` are not stored), V vectors and `chunk` grid positions i in order (one for the per-position walk), skipping a
    // position whose rows are all the zero row (!any[i]: it would add exact zeros).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GradientTile<TOps, TVector, TVectors>(float* blocks, nint blockLength, nint gridRow, float** rows, bool* any, int chunk, int count,
        float* sums, nint sumRow, int lanes)
        where TOps : struct, ISimd<TVector>
        where TVector : unmanaged
        where TVectors : struct, ITileRows
    {
        int w = TOps.Count, v = TVectors.Count;
        float* s0 = sums, s1 = sums + sumRow, s2 = sums + 2 * sumRow, s3 = sums + 3 * sumRow, s4 = sums + 4 * sumRow, s5 = sums + 5 * sumRow;
        TVector c00 = TOps.Load(s0), c10 = count > 1 ? TOps.Load(s1) : default, c20 = count > 2 ? TOps.Load(s2) : default;
        TVector c30 = count > 3 ? TOps.Load(s3) : default, c40 = count > 4 ? TOps.Load(s4) : default, c50 = count > 5 ? TOps.Load(s5) : default;
        TVector c01 = default, c11 = default, c21 = default, c31 = default, c41 = default, c51 = default;
        TVector c02 = default, c12 = default, c22 = default, c32 = default, c42 = default, c52 = default;
        TVector c03 = default, c13 = default, c23 = default, c33 = default, c43 = default, c53 = default;
        if (v > 1)
        {
            c01 = TOps.Load(s0 + w); c11 = count > 1 ? TOps.Load(s1 + w) : default; c21 = count > 2 ? TOps.Load(s2 + w) : default;
            c31 = count > 3 ? TOps.Load(s3 + w) : default; c41 = count > 4 ? TOps.Load(s4 + w) : default; c51 = count > 5 ? TOps.Load(s5 + w) : default;
        }
        if (v > 2)
        {
            c02 = TOps.Load(s0 + 2 * w); c12 = count > 1 ? TOps.Load(s1 + 2 * w) : default; c22 = count > 2 ? TOps.Load(s2 + 2 * w) : default;
            c32 = count > 3 ? TOps.Load(s3 + 2 * w) : default; c42 = count > 4 ? TOps.Load(s4 + 2 * w) : default; c52 = count > 5 ? TOps.Load(s5 + 2 * w) : default;
            c03 = TOps.Load(s0 + 3 * w); c13 = count > 1 ? TOps.Load(s1 + 3 * w) : default; c23 = count > 2 ? TOps.Load(s2 + 3 * w) : default;
            c33 = count > 3 ? TOps.Load(s3 + 3 * w) : default; c43 = count > 4 ? TOps.Load(s4 + 3 * w) : default; c53 = count > 5 ? TOps.Load(s5 + 3 * w) : default;
        }
        for (int i = 0; i < chunk; i++)
        {
            if (!any[i]) continue;
            float** r = rows + i * GradientRows;
            float* x0 = r[0], x1 = r[1], x2 = r[2], x3 = r[3], x4 = r[4], x5 = r[5];
            float* gridT = blocks + i * blockLength;
            for (int l = 0; l < lanes; l++)
            {
                float* gl = gridT + l * gridRow;
                TVector g0 = TOps.Load(gl), g1 = v > 1 ? TOps.Load(gl + w) : default, g2 = v > 2 ? TOps.Load(gl + 2 * w) : default, g3 = v > 2 ? TOps.Load(gl + 3 * w) : default;
                TVector b = TOps.Broadcast(x0[l]);
                c00 = TOps.MultiplyAdd(b, g0, c00); if (v > 1) c01 = TOps.MultiplyAdd(b, g1, c01); if (v > 2) { c02 = TOps.MultiplyAdd(b, g2, c02); c03 = TOps.MultiplyAdd(b, g3, c03); }
                b = TOps.Broadcast(x1[l]);
                c10 = TOps.MultiplyAdd(b, g0, c10); if (v > 1) c11 = TOps.MultiplyAdd(b, g1, c11); if (v > 2) { c12 = TOps.MultiplyAdd(b, g2, c12); c13 = TOps.MultiplyAdd(b, g3, c13); }
                b = TOps.Broadcast(x2[l]);
                c20 = TOps.MultiplyAdd(b, g0, c20); if (v > 1) c21 = TOps.MultiplyAdd(b, g1, c21); if (v > 2) { c22 = TOps.MultiplyAdd(b, g2, c22); c23 = TOps.MultiplyAdd(b, g3, c23); }
                b = TOps.Broadcast(x3[l]);
                c30 = TOps.MultiplyAdd(b, g0, c30); if (v > 1) c31 = TOps.MultiplyAdd(b, g1, c31); if (v > 2) { c32 = TOps.MultiplyAdd(b, g2, c32); c33 = TOps.MultiplyAdd(b, g3, c33); }
                b = TOps.Broadcast(x4[l]);
                c40 = TOps.MultiplyAdd(b, g0, c40); if (v > 1) c41 = TOps.MultiplyAdd(b, g1, c41); if (v > 2) { c42 = TOps.MultiplyAdd(b, g2, c42); c43 = TOps.MultiplyAdd(b, g3, c43); }
                b = TOps.Broadcast(x5[l]);
                c50 = TOps.MultiplyAdd(b, g0, c50); if (v > 1) c51 = TOps.MultiplyAdd(b, g1, c51); if (v > 2) { c52 = TOps.MultiplyAdd(b, g2, c52); c53 = TOps.MultiplyAdd(b, g3, c53); }
            }
        }
        TOps.Store(c00, s0); if (v > 1) TOps.Store(c01, s0 + w); if (v > 2) { TOps.Store(c02, s0 + 2 * w); TOps.Store(c03, s0 + 3 * w); }
        if (count > 1) { TOps.Store(c10, s1); if (v > 1) TOps.Store(c11, s1 + w); if (v > 2) { TOps.Store(c12, s1 + 2 * w); TOps.Store(c13, s1 + 3 * w); } }
        if (count > 2) { TOps.Store(c20, s2); if (v > 1) TOps.Store(c21, s2 + w); if (v > 2) { TOps.Store(c22, s2 + 2 * w); TOps.Store(c23, s2 + 3 * w); } }
        if (count > 3) { TOps.Store(c30, s3); if (v > 1) TOps.Store(c31, s3 + w); if (v > 2) { TOps.Store(c32, s3 + 2 * w); TOps.Store(c33, s3 + 3 * w); } }
        if (count > 4) { TOps.Store(c40, s4); if (v > 1) TOps.Store(c41, s4 + w); if (v > 2) { TOps.Store(c42, s4 + 2 * w); TOps.Store(c43, s4 + 3 * w); } }
        if (count > 5) { TOps.Store(c50, s5); if (v > 1) TOps.Store(c51, s5 + w); if (v > 2) { TOps.Store(c52, s5 + 2 * w); TOps.Store(c53, s5 + 3 * w); } }
    }

    /// <summary>Naive twin of <see cref="WeightGradient"/> (same order, so equal bit for bit).</summary>
    public static void WeightGradientNaive(ReadOnlySpan<float> grid, ReadOnlySpan<float> image, Span<float> dWeight, in ConvGeometry g, int gridChannels, int lanes)
    {
        Check(image, grid, dWeight, [], g, gridChannels, lanes, biasChannels: 0);
        int k = g.KernelSize, ci = g.Channels;
        for (int o = 0; o < gridChannels; o++)
            for (int i = 0; i < ci; i++)
                for (int ki = 0; ki < k; ki++)
                    for (int kj = 0; kj < k; kj++)
                    {
                        float sum = 0f;
                        for (int oy = 0; oy < g.OutHeight; oy++)
                            for (int ox = 0; ox < g.OutWidth; ox++)
                            {
                                int iy = oy * g.Stride - g.Padding + ki, ix = ox * g.Stride - g.Padding + kj;
                                if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width) continue;
                                int q = oy * g.OutWidth + ox, p = iy * g.Width + ix;
                                for (int l = 0; l < lanes; l++)
                                    sum = MathF.FusedMultiplyAdd(grid[(q * gridChannels + o) * lanes + l], image[(p * ci + i) * lanes + l], sum);
                            }
                        dWeight[((o * ci + i) * k + ki) * k + kj] += sum;
                    }
    }

    // x (P, C, L) -> destination (C), accumulated
    /// <summary>
    /// A bias gradient: effectively computes destination[c] += Σ_{p, l} x[p, c, l], in 16 lanes over the positions in order,
    /// then the tree (as <see cref="WeightGradient"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumChannels(ReadOnlySpan<float> x, Span<float> destination, int positions, int lanes) =>
        SumChannelsOn(x, destination, positions, lanes, SimdPath.Widest);

    internal static void SumChannelsOn(ReadOnlySpan<float> x, Span<float> destination, int positions, int lanes, SimdPath path)
    {
        int channels = destination.Length;
        if (positions < 0 || lanes % LaneMultiple != 0 || x.Length != (long)positions * channels * lanes)
            throw new ArgumentException($"x has {x.Length} elements, expected (P, C, L) = ({positions}, {channels}, {lanes}) with L a multiple of {LaneMultiple}.", nameof(x));
        fixed (float* px = x)
        fixed (float* pd = destination)
        {
            if (path == SimdPath.Widest && Vector512.IsHardwareAccelerated) Sum<Gemm.Lanes512, Vector512<float>>(px, pd, positions, channels, lanes);
            else if (path != SimdPath.Scalar && Vector256.IsHardwareAccelerated) Sum<Gemm.Lanes256, (Vector256<float>, Vector256<float>)>(px, pd, positions, channels, lanes);
            else Sum<Gemm.LanesScalar, Gemm.LaneArray>(px, pd, positions, channels, lanes);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sum<TLanes, TAcc>(float* x, float* destination, int positions, int channels, int lanes)
        where TLanes : struct, Gemm.ILanes<TAcc>
        where TAcc : unmanaged
    {
        float* ones = stackalloc float[LaneMultiple];
        for (int l = 0; l < LaneMultiple; l++) ones[l] = 1f;
        TAcc one = TLanes.Load(ones);
        for (int c = 0; c < channels; c++)
        {
            TAcc s = TLanes.Zero;
            for (int p = 0; p < positions; p++)
            {
                float* row = x + ((nint)p * channels + c) * lanes;
                for (int v = 0; v < lanes; v += LaneMultiple) s = TLanes.MultiplyAdd(TLanes.Load(row + v), one, s);  // x·1 + s: an exact add
            }
            destination[c] += TLanes.Reduce(s);
        }
    }

    /// <summary>Naive twin of <see cref="SumChannels"/>.</summary>
    public static void SumChannelsNaive(ReadOnlySpan<float> x, Span<float> destination, int positions, int lanes)
    {
        int channels = destination.Length;
        Span<float> acc = stackalloc float[LaneMultiple];
        for (int c = 0; c < channels; c++)
        {
            acc.Clear();
            for (int p = 0; p < positions; p++)
                for (int l = 0; l < lanes; l++) acc[l % LaneMultiple] += x[(p * channels + c) * lanes + l];
            destination[c] += Tree(acc);
        }
    }

    // The tree (l, l+8), (l, l+4), (l, l+2), (0, 1) over 16 lanes.
    internal static float Tree(Span<float> lanes)
    {
        for (int width = LaneMultiple / 2; width >= 1; width /= 2)
            for (int l = 0; l < width; l++) lanes[l] += lanes[l + width];
        return lanes[0];
    }

    private static void Check(ReadOnlySpan<float> image, ReadOnlySpan<float> grid, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, in ConvGeometry g,
        int gridChannels, int lanes, int biasChannels)
    {
        g.Validate();
        if (gridChannels < 1 || lanes < 0 || lanes % LaneMultiple != 0)
            throw new ArgumentException($"Invalid lanes convolution: {gridChannels} grid channels, {lanes} lanes (a multiple of {LaneMultiple} is needed).");
        if (image.Length != (long)g.Height * g.Width * g.Channels * lanes)
            throw new ArgumentException($"image has {image.Length} elements, expected (Hi*Wi, Ci, L) = ({g.Height * g.Width}, {g.Channels}, {lanes}).", nameof(image));
        if (grid.Length != (long)g.OutHeight * g.OutWidth * gridChannels * lanes)
            throw new ArgumentException($"grid has {grid.Length} elements, expected (Ho*Wo, Co, L) = ({g.OutHeight * g.OutWidth}, {gridChannels}, {lanes}).", nameof(grid));
        if (weight.Length != (long)gridChannels * g.Channels * g.KernelSize * g.KernelSize)
            throw new ArgumentException($"weight has {weight.Length} elements, expected (Co, Ci, K, K) = ({gridChannels}, {g.Channels}, {g.KernelSize}, {g.KernelSize}).", nameof(weight));
        if (!bias.IsEmpty && bias.Length != biasChannels)
            throw new ArgumentException($"bias has {bias.Length} elements, expected {biasChannels} (or none).", nameof(bias));
    }
}

internal interface ITileRows { static abstract int Count { get; } }
internal readonly struct FourRows : ITileRows { public static int Count => 4; }
internal readonly struct OneRow : ITileRows { public static int Count => 1; }
internal readonly struct FourVectors : ITileRows { public static int Count => 4; }
internal readonly struct TwoVectors : ITileRows { public static int Count => 2; }
internal readonly struct OneVector : ITileRows { public static int Count => 1; }

/// <summary>
/// A batch norm in evaluation mode (and the ReLU after it) for a convolution to apply to its outputs as it stores them:
/// per output channel, fma((x − mean)·invStd, weight, bias), 0 where that is ≤ 0 when <see cref="Relu"/>, exactly as
/// LanesBatchNorm.Normalize computes it. The default is none.
/// </summary>
public readonly ref struct ChannelNorm(ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, bool relu)
{
    public readonly ReadOnlySpan<float> Mean = mean, InvStd = invStd, Weight = weight, Bias = bias;
    public readonly bool Relu = relu;

    public bool IsEmpty => Mean.IsEmpty;

    internal void Check(int channels)
    {
        if (IsEmpty) return;
        if (Mean.Length != channels || InvStd.Length != channels || Weight.Length != channels || Bias.Length != channels)
            throw new ArgumentException($"The normalisation has {Mean.Length}, {InvStd.Length}, {Weight.Length} and {Bias.Length} values, expected {channels} for each output channel.");
    }
}
