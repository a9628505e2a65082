// Direct convolutions over batch-interleaved images, each with a naive twin: stride 1, no padding, square kernels.
// Layout: [G][C][H][W][16] — groups of 16 images, one image per lane of a Vector512, so every kernel below is plain
// vertical FMA work with no im2col buffer (im2col multiplies the memory traffic of a 5x5 kernel by 25). With 1-5
// channels per layer, this is where a GEMM formulation loses most (see docs/benchmarks.md).
// Orders: Forward chains the fused multiply-adds over (in channel, ki, kj) from zero, as the im2col GEMM does, so both
// give the same bits; WeightGradient chains each lane over (group, oy, ox) and then reduces the 16 lanes by a fixed
// tree. The same code runs on any machine (Vector512 is emulated where AVX-512 is missing), so results never depend
// on the vector width.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AeMnist.Tensors;

public static unsafe class DirectConv
{
    /// <summary>Images per interleaved group: one per lane.</summary>
    public const int Lanes = 16;

    // images (n, length) -> interleaved (G, length, 16), G = ceil(n / 16); lanes past n are zero
    /// <summary>Effectively computes interleaved[(g*length + p)*16 + l] = images[(g*16 + l)*length + p], or 0 past the last image.</summary>
    public static void Interleave(ReadOnlySpan<float> images, int n, int length, Span<float> interleaved)
    {
        CheckRelayout(images.Length, interleaved.Length, n, length, nameof(Interleave));
        fixed (float* pImages = images, pInterleaved = interleaved)
            Relayout(pImages, pInterleaved, n, length, toInterleaved: true);
    }

    // interleaved (G, length, 16) -> images (n, length)
    /// <summary>The inverse of <see cref="Interleave"/> for the first <paramref name="n"/> lanes.</summary>
    public static void Deinterleave(ReadOnlySpan<float> interleaved, int n, int length, Span<float> images)
    {
        CheckRelayout(images.Length, interleaved.Length, n, length, nameof(Deinterleave));
        fixed (float* pImages = images, pInterleaved = interleaved)
            Relayout(pImages, pInterleaved, n, length, toInterleaved: false);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Relayout(float* images, float* interleaved, int n, int length, bool toInterleaved)
    {
        for (int g = 0; g < Groups(n); g++)
        {
            float* block = interleaved + (nint)g * length * Lanes;
            int count = Math.Min(Lanes, n - g * Lanes);
            if (toInterleaved && count < Lanes) new Span<float>(block, length * Lanes).Clear();
            for (int l = 0; l < count; l++)
            {
                float* image = images + (nint)(g * Lanes + l) * length;
                if (toInterleaved) for (int p = 0; p < length; p++) block[p * Lanes + l] = image[p];
                else for (int p = 0; p < length; p++) image[p] = block[p * Lanes + l];
            }
        }
    }

    private static void CheckRelayout(int imagesLength, int interleavedLength, int n, int length, string what)
    {
        if (n < 0 || length < 0 || imagesLength != n * length || interleavedLength != Groups(n) * length * Lanes)
            throw new ArgumentException($"{what} of {n} images of {length} needs {n * length} and {Groups(n) * length * Lanes} floats.");
    }

    /// <summary>Interleaved groups needed for <paramref name="n"/> images.</summary>
    public static int Groups(int n) => (n + Lanes - 1) / Lanes;

    /// <summary>The groups of 16 images of an interleaved batch shape, whose N must be a multiple of <see cref="Lanes"/>.</summary>
    public static int GroupsOf(TensorShape shape) => shape.N % Lanes == 0
        ? shape.N / Lanes
        : throw new ArgumentException($"The interleaved layout needs a batch that is a multiple of {Lanes}, got {shape}.");

    // x (G, In, H, W, 16), weight (Out, In, K, K) -> y (G, Out, H-K+1, W-K+1, 16)
    /// <summary>
    /// Effectively computes y[g, o, oy, ox, l] = Σ_{i, ki, kj} weight[o, i, ki, kj] * x[g, i, oy+ki, ox+kj, l], one fused
    /// multiply-add chain from zero in (i, ki, kj) order (no bias).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, int groups, int inChannels, int height, int width, int outChannels, int k)
    {
        int ho = height - k + 1, wo = width - k + 1;
        Check(x, groups * inChannels * height * width * Lanes, weight, outChannels * inChannels * k * k, y, groups * outChannels * ho * wo * Lanes, ho, wo);
        fixed (float* px = x, pw = weight, py = y)
            Correlate(px, pw, py, groups, inChannels, height, width, outChannels, k, rowPadding: 0);
    }

    // x (G, In, H, W, 16) seen as padded by rowPadding zero rows above and below -> y (G, Out, H+2P-K+1, W-K+1, 16).
    // The zero rows are never read: for each output row only the kernel rows that land on real rows are summed,
    // in the same (i, ki, kj) order, so the result equals Forward over the padded image.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Correlate(float* px, float* pw, float* py, int groups, int inChannels, int height, int width, int outChannels, int k, int rowPadding)
    {
        int ho = height + 2 * rowPadding - k + 1, wo = width - k + 1, kk = k * k;
        for (int g = 0; g < groups; g++)
        {
            float* xg = px + (nint)g * inChannels * height * width * Lanes;
            for (int o = 0; o < outChannels; o++)
            {
                float* wo_ = pw + o * inChannels * kk;
                for (int oy = 0; oy < ho; oy++)
                {
                    // Kernel rows ki whose padded row oy + ki is a real row r = oy + ki - P in [0, H).
                    int kiLo = Math.Max(0, rowPadding - oy), kiHi = Math.Min(k, rowPadding + height - oy);
                    float* yRow = py + (((nint)(g * outChannels + o) * ho + oy) * wo) * Lanes;
                    if (kiLo >= kiHi)
                    {
                        new Span<float>(yRow, wo * Lanes).Clear();
                        continue;
                    }
                    float* xRow = xg + (nint)(oy + kiLo - rowPadding) * width * Lanes;
                    int ox = 0;
                    for (; ox + 8 <= wo; ox += 8) Tile8(xRow + ox * Lanes, wo_, yRow + ox * Lanes, inChannels, height, width, k, kiLo, kiHi);
                    for (; ox + 4 <= wo; ox += 4) Tile4(xRow + ox * Lanes, wo_, yRow + ox * Lanes, inChannels, height, width, k, kiLo, kiHi);
                    for (; ox < wo; ox++) Tile1(xRow + ox * Lanes, wo_, yRow + ox * Lanes, inChannels, height, width, k, kiLo, kiHi);
                }
            }
        }
    }

    /// <summary>Naive twin of <see cref="Forward"/> (same order, so equal bit for bit).</summary>
    public static void ForwardNaive(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, int groups, int inChannels, int height, int width, int outChannels, int k)
    {
        int ho = height - k + 1, wo = width - k + 1;
        Check(x, groups * inChannels * height * width * Lanes, weight, outChannels * inChannels * k * k, y, groups * outChannels * ho * wo * Lanes, ho, wo);
        for (int g = 0; g < groups; g++)
            for (int o = 0; o < outChannels; o++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++)
                        for (int l = 0; l < Lanes; l++)
                        {
                            float sum = 0f;
                            for (int i = 0; i < inChannels; i++)
                                for (int ki = 0; ki < k; ki++)
                                    for (int kj = 0; kj < k; kj++)
                                        sum = MathF.FusedMultiplyAdd(weight[((o * inChannels + i) * k + ki) * k + kj],
                                            x[((((g * inChannels + i) * height) + oy + ki) * width + ox + kj) * Lanes + l], sum);
                            y[((((g * outChannels + o) * ho) + oy) * wo + ox) * Lanes + l] = sum;
                        }
    }

    // z (G, Zc, H, W, 16), weight (Zc, Out, K, K) -> output (G, Out, H+K-1, W+K-1, 16)
    /// <summary>
    /// The adjoint of <see cref="Forward"/> — ConvTranspose2d's forward, and Conv2d's input gradient:
    /// output[g, o, y, x] = Σ_{c, ki, kj} weight[c, o, ki, kj] * z[g, c, y-ki, x-kj] over positions inside z. Computed as
    /// <see cref="Forward"/> over z padded by K-1 zeros with the kernel flipped and its two channel axes swapped; the
    /// zero rows are skipped rather than multiplied. <paramref name="padded"/> and <paramref name="flipped"/> are
    /// scratch of at least G*Zc*H*(W+2K-2)*16 and Out*Zc*K*K floats.
    /// </summary>
    public static void Transposed(ReadOnlySpan<float> z, ReadOnlySpan<float> weight, Span<float> output, Span<float> padded, Span<float> flipped,
        int groups, int zChannels, int height, int width, int outChannels, int k)
    {
        int p = k - 1, pw = width + 2 * p;
        int paddedLength = groups * zChannels * height * pw * Lanes, weightLength = zChannels * outChannels * k * k;
        int outLength = groups * outChannels * (height + p) * (width + p) * Lanes;
        if (z.Length != groups * zChannels * height * width * Lanes || weight.Length != weightLength || output.Length != outLength
            || padded.Length < paddedLength || flipped.Length < weightLength)
            throw new ArgumentException("Transposed: a buffer does not match the sizes given.");
        padded = padded[..paddedLength];
        flipped = flipped[..weightLength];
        for (int o = 0; o < outChannels; o++)
            for (int c = 0; c < zChannels; c++)
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++)
                        flipped[((o * zChannels + c) * k + a) * k + b] = weight[((c * outChannels + o) * k + (k - 1 - a)) * k + (k - 1 - b)];
        // K-1 zero columns left and right of every row; the K-1 zero rows above and below are skipped, not stored.
        int rowLength = width * Lanes, edge = p * Lanes;
        for (int row = 0; row < groups * zChannels * height; row++)
        {
            Span<float> target = padded.Slice(row * pw * Lanes, pw * Lanes);
            target[..edge].Clear();
            z.Slice(row * rowLength, rowLength).CopyTo(target.Slice(edge, rowLength));
            target[(edge + rowLength)..].Clear();
        }
        fixed (float* pz = padded, pwt = flipped, py = output)
            Correlate(pz, pwt, py, groups, zChannels, height, pw, outChannels, k, rowPadding: p);
    }

    /// <summary>Naive twin of <see cref="Transposed"/>, written as the scatter it is (equal up to rounding, not bit for bit).</summary>
    public static void TransposedNaive(ReadOnlySpan<float> z, ReadOnlySpan<float> weight, Span<float> output, int groups, int zChannels, int height, int width, int outChannels, int k)
    {
        int oh = height + k - 1, ow = width + k - 1;
        output.Clear();
        for (int g = 0; g < groups; g++)
            for (int c = 0; c < zChannels; c++)
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++)
                        for (int o = 0; o < outChannels; o++)
                            for (int ki = 0; ki < k; ki++)
                                for (int kj = 0; kj < k; kj++)
                                    for (int l = 0; l < Lanes; l++)
                                        output[((((g * outChannels + o) * oh) + y + ki) * ow + x + kj) * Lanes + l] +=
                                            weight[((c * outChannels + o) * k + ki) * k + kj] * z[((((g * zChannels + c) * height) + y) * width + x) * Lanes + l];
    }

    // dy (G, Out, H-K+1, W-K+1, 16), x (G, In, H, W, 16) -> dWeight (Out, In, K, K)
    /// <summary>
    /// Effectively computes dWeight[o, i, ki, kj] += Σ_{g, oy, ox, l} dy[g, o, oy, ox, l] * x[g, i, oy+ki, ox+kj, l]:
    /// each lane one fused multiply-add chain over (g, oy, ox), then the 16 lanes reduced by the tree
    /// (l, l+8), (l, l+4), (l, l+2), (0, 1), then added to dWeight.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dWeight, int groups, int outChannels, int inChannels, int height, int width, int k)
    {
        int ho = height - k + 1, wo = width - k + 1;
        Check(x, groups * inChannels * height * width * Lanes, dWeight, outChannels * inChannels * k * k, dy, groups * outChannels * ho * wo * Lanes, ho, wo);
        nint xPlane = (nint)height * width * Lanes, yPlane = (nint)ho * wo * Lanes;
        fixed (float* pdy = dy, px = x, pdw = dWeight)
            for (int o = 0; o < outChannels; o++)
                for (int i = 0; i < inChannels; i++)
                    for (int ki = 0; ki < k; ki++)
                    {
                        float* dw = pdw + ((nint)(o * inChannels + i) * k + ki) * k;
                        int kj = 0;
                        if (k == 5)
                        {
                            Gradient5(pdy, px, dw, groups, outChannels, inChannels, o, i, ki, height, width, xPlane, yPlane);
                            continue;
                        }
                        for (; kj + 4 <= k; kj += 4)
                        {
                            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                            for (int g = 0; g < groups; g++)
                            {
                                float* dyPlane = pdy + (g * outChannels + o) * yPlane, xp = px + (g * inChannels + i) * xPlane;
                                for (int oy = 0; oy < ho; oy++)
                                {
                                    float* d = dyPlane + (nint)oy * wo * Lanes;
                                    float* s = xp + ((nint)(oy + ki) * width + kj) * Lanes;
                                    for (int ox = 0; ox < wo; ox++, d += Lanes, s += Lanes)
                                    {
                                        Vector512<float> dv = Vector512.Load(d);
                                        a0 = Vector512.FusedMultiplyAdd(dv, Vector512.Load(s), a0);
                                        a1 = Vector512.FusedMultiplyAdd(dv, Vector512.Load(s + Lanes), a1);
                                        a2 = Vector512.FusedMultiplyAdd(dv, Vector512.Load(s + 2 * Lanes), a2);
                                        a3 = Vector512.FusedMultiplyAdd(dv, Vector512.Load(s + 3 * Lanes), a3);
                                    }
                                }
                            }
                            dw[kj] += Reductions.ReduceLanes(a0);
                            dw[kj + 1] += Reductions.ReduceLanes(a1);
                            dw[kj + 2] += Reductions.ReduceLanes(a2);
                            dw[kj + 3] += Reductions.ReduceLanes(a3);
                        }
                        for (; kj < k; kj++)
                        {
                            Vector512<float> a0 = default;
                            for (int g = 0; g < groups; g++)
                            {
                                float* dyPlane = pdy + (g * outChannels + o) * yPlane, xp = px + (g * inChannels + i) * xPlane;
                                for (int oy = 0; oy < ho; oy++)
                                {
                                    float* d = dyPlane + (nint)oy * wo * Lanes;
                                    float* s = xp + ((nint)(oy + ki) * width + kj) * Lanes;
                                    for (int ox = 0; ox < wo; ox++, d += Lanes, s += Lanes)
                                        a0 = Vector512.FusedMultiplyAdd(Vector512.Load(d), Vector512.Load(s), a0);
                                }
                            }
                            dw[kj] += Reductions.ReduceLanes(a0);
                        }
                    }
    }

    // WeightGradient's five sums of one (o, i, ki) row of a 5x5 kernel, sliding a window of five x vectors along the
    // row, so each position costs two loads (dy and the next x) for five FMAs. Same per-lane order as the general path.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gradient5(float* pdy, float* px, float* dw, int groups, int outChannels, int inChannels, int o, int i, int ki,
        int height, int width, nint xPlane, nint yPlane)
    {
        int ho = height - 4, wo = width - 4;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default;
        for (int g = 0; g < groups; g++)
        {
            float* dyPlane = pdy + (g * outChannels + o) * yPlane, xp = px + (g * inChannels + i) * xPlane;
            for (int oy = 0; oy < ho; oy++)
            {
                float* d = dyPlane + (nint)oy * wo * Lanes;
                float* s = xp + (nint)(oy + ki) * width * Lanes;
                Vector512<float> x0 = Vector512.Load(s), x1 = Vector512.Load(s + Lanes), x2 = Vector512.Load(s + 2 * Lanes), x3 = Vector512.Load(s + 3 * Lanes);
                s += 4 * Lanes;
                for (int ox = 0; ox < wo; ox++, d += Lanes, s += Lanes)
                {
                    Vector512<float> dv = Vector512.Load(d), x4 = Vector512.Load(s);
                    a0 = Vector512.FusedMultiplyAdd(dv, x0, a0);
                    a1 = Vector512.FusedMultiplyAdd(dv, x1, a1);
                    a2 = Vector512.FusedMultiplyAdd(dv, x2, a2);
                    a3 = Vector512.FusedMultiplyAdd(dv, x3, a3);
                    a4 = Vector512.FusedMultiplyAdd(dv, x4, a4);
                    x0 = x1; x1 = x2; x2 = x3; x3 = x4;
                }
            }
        }
        dw[0] += Reductions.ReduceLanes(a0);
        dw[1] += Reductions.ReduceLanes(a1);
        dw[2] += Reductions.ReduceLanes(a2);
        dw[3] += Reductions.ReduceLanes(a3);
        dw[4] += Reductions.ReduceLanes(a4);
    }

    /// <summary>Naive twin of <see cref="WeightGradient"/>, with the lanes and the reduction tree written out.</summary>
    public static void WeightGradientNaive(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dWeight, int groups, int outChannels, int inChannels, int height, int width, int k)
    {
        int ho = height - k + 1, wo = width - k + 1;
        Check(x, groups * inChannels * height * width * Lanes, dWeight, outChannels * inChannels * k * k, dy, groups * outChannels * ho * wo * Lanes, ho, wo);
        Span<float> lanes = stackalloc float[Lanes];
        for (int o = 0; o < outChannels; o++)
            for (int i = 0; i < inChannels; i++)
                for (int ki = 0; ki < k; ki++)
                    for (int kj = 0; kj < k; kj++)
                    {
                        lanes.Clear();
                        for (int g = 0; g < groups; g++)
                            for (int oy = 0; oy < ho; oy++)
                                for (int ox = 0; ox < wo; ox++)
                                    for (int l = 0; l < Lanes; l++)
                                        lanes[l] = MathF.FusedMultiplyAdd(dy[((((g * outChannels + o) * ho) + oy) * wo + ox) * Lanes + l],
                                            x[((((g * inChannels + i) * height) + oy + ki) * width + ox + kj) * Lanes + l], lanes[l]);
                        for (int w = Lanes / 2; w >= 1; w /= 2)
                            for (int l = 0; l < w; l++) lanes[l] += lanes[l + w];
                        dWeight[((o * inChannels + i) * k + ki) * k + kj] += lanes[0];
                    }
    }

    // Eight neighbouring output positions of one output channel: 8 accumulators, one weight broadcast per 8 FMAs.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile8(float* x, float* w, float* y, int inChannels, int height, int width, int k, int kiLo, int kiHi)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int i = 0; i < inChannels; i++)
            for (int ki = kiLo; ki < kiHi; ki++)
            {
                float* row = x + ((nint)i * height + ki - kiLo) * width * Lanes;
                float* wk = w + (i * k + ki) * k;
                for (int kj = 0; kj < k; kj++, row += Lanes)
                {
                    Vector512<float> wv = Vector512.Create(wk[kj]);
                    a0 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(row), a0);
                    a1 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(row + Lanes), a1);
                    a2 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(row + 2 * Lanes), a2);
                    a3 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(row + 3 * Lanes), a3);
                    a4 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(row + 4 * Lanes), a4);
                    a5 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(row + 5 * Lanes), a5);
                    a6 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(row + 6 * Lanes), a6);
                    a7 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(row + 7 * Lanes), a7);
                }
            }
        a0.Store(y); a1.Store(y + Lanes); a2.Store(y + 2 * Lanes); a3.Store(y + 3 * Lanes);
        a4.Store(y + 4 * Lanes); a5.Store(y + 5 * Lanes); a6.Store(y + 6 * Lanes); a7.Store(y + 7 * Lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4(float* x, float* w, float* y, int inChannels, int height, int width, int k, int kiLo, int kiHi)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int i = 0; i < inChannels; i++)
            for (int ki = kiLo; ki < kiHi; ki++)
            {
                float* row = x + ((nint)i * height + ki - kiLo) * width * Lanes;
                float* wk = w + (i * k + ki) * k;
                for (int kj = 0; kj < k; kj++, row += Lanes)
                {
                    Vector512<float> wv = Vector512.Create(wk[kj]);
                    a0 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(row), a0);
                    a1 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(row + Lanes), a1);
                    a2 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(row + 2 * Lanes), a2);
                    a3 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(row + 3 * Lanes), a3);
                }
            }
        a0.Store(y); a1.Store(y + Lanes); a2.Store(y + 2 * Lanes); a3.Store(y + 3 * Lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1(float* x, float* w, float* y, int inChannels, int height, int width, int k, int kiLo, int kiHi)
    {
        Vector512<float> a0 = default;
        for (int i = 0; i < inChannels; i++)
            for (int ki = kiLo; ki < kiHi; ki++)
            {
                float* row = x + ((nint)i * height + ki - kiLo) * width * Lanes;
                float* wk = w + (i * k + ki) * k;
                for (int kj = 0; kj < k; kj++, row += Lanes)
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(wk[kj]), Vector512.Load(row), a0);
            }
        a0.Store(y);
    }

    private static void Check(ReadOnlySpan<float> x, int xLength, ReadOnlySpan<float> weight, int weightLength, ReadOnlySpan<float> y, int yLength, int ho, int wo)
    {
        if (ho < 1 || wo < 1) throw new ArgumentException("The kernel is larger than the image.");
        if (x.Length != xLength) throw new ArgumentException($"x has {x.Length} floats, expected {xLength}.", nameof(x));
        if (weight.Length != weightLength) throw new ArgumentException($"weight has {weight.Length} floats, expected {weightLength}.", nameof(weight));
        if (y.Length != yLength) throw new ArgumentException($"y has {y.Length} floats, expected {yLength}.", nameof(y));
    }
}
