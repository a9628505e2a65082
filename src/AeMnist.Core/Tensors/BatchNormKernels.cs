// The kernels of batch normalisation over x (N, C, S) (S = H*W for BatchNorm2d, 1 for BatchNorm1d), each with a
// naive twin. Per-channel moments are partial: each (n, c) row's Σx and Σx² are summed in double (8 lanes, the fixed
// tree, then the tail; a float's square is exact in double) and added to the channel's total in n order, so a caller can
// add the partial sums of several shards in shard order and get the same bits however the batch was threaded. Double
// matters: the variance is Σx²/n − mean², which loses the digits mean²/variance cancels (in float, 1e-3 of the variance
// of a channel whose mean is 100 standard deviations, found against LibTorch). Vector512 is used on
// every machine (.NET emulates it where AVX-512 is missing), so the order never depends on the vector width.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AeMnist.Tensors;

public static unsafe class BatchNormKernels
{
    private const int Lanes = 16;

    // x (N, C, S) -> sum (C), sumSquares (C), accumulated
    /// <summary>Effectively computes sum[c] += Σ_{n,s} x[n, c, s] and sumSquares[c] += Σ_{n,s} x[n, c, s]², in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelMoments(ReadOnlySpan<float> x, int n, int channels, int spatial, Span<double> sum, Span<double> sumSquares)
    {
        Check(x, n, channels, spatial, nameof(x));
        CheckChannels(sum, channels, nameof(sum));
        CheckChannels(sumSquares, channels, nameof(sumSquares));
        fixed (float* px = x)
        fixed (double* ps = sum, pq = sumSquares)
            for (int b = 0; b < n; b++)
            {
                if (spatial == 1)
                {
                    // BatchNorm1d: rows of one value, so the row "sums" are x and x*x; vectors run across the channels.
                    float* row = px + (nint)b * channels;
                    int c = 0;
                    for (; c + 8 <= channels; c += 8)
                    {
                        Vector512<double> w = Widen(Vector256.Load(row + c));
                        (Vector512.Load(ps + c) + w).Store(ps + c);
                        (Vector512.Load(pq + c) + w * w).Store(pq + c);
                    }
                    for (; c < channels; c++)
                    {
                        double v = row[c];
                        ps[c] += v;
                        pq[c] += v * v;
                    }
                    continue;
                }
                for (int c = 0; c < channels; c++)
                {
                    float* row = px + ((nint)b * channels + c) * spatial;
                    (double rowSum, double rowSquares) = RowSums(row, row, spatial);
                    ps[c] += rowSum;
                    pq[c] += rowSquares;
                }
            }
    }

    /// <summary>Naive twin of <see cref="ChannelMoments"/>, with the lanes written out.</summary>
    public static void ChannelMomentsNaive(ReadOnlySpan<float> x, int n, int channels, int spatial, Span<double> sum, Span<double> sumSquares)
    {
        Check(x, n, channels, spatial, nameof(x));
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
            {
                ReadOnlySpan<float> row = x.Slice((b * channels + c) * spatial, spatial);
                (double s, double q) = RowSumsNaive(row, row);
                sum[c] += s;
                sumSquares[c] += q;
            }
    }

    // dy (N, C, S), xhat (N, C, S) -> sumDy (C), sumDyXhat (C), accumulated
    /// <summary>Effectively computes sumDy[c] += Σ dy[n, c, s] and sumDyXhat[c] += Σ dy[n, c, s]·xhat[n, c, s], in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ChannelGradientSums(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, int n, int channels, int spatial, Span<double> sumDy, Span<double> sumDyXhat)
    {
        Check(dy, n, channels, spatial, nameof(dy));
        Check(xhat, n, channels, spatial, nameof(xhat));
        CheckChannels(sumDy, channels, nameof(sumDy));
        CheckChannels(sumDyXhat, channels, nameof(sumDyXhat));
        fixed (float* pd = dy, px = xhat)
        fixed (double* ps = sumDy, pq = sumDyXhat)
            for (int b = 0; b < n; b++)
            {
                if (spatial == 1)
                {
                    float* d = pd + (nint)b * channels, h = px + (nint)b * channels;
                    int c = 0;
                    for (; c + 8 <= channels; c += 8)
                    {
                        Vector512<double> v = Widen(Vector256.Load(d + c));
                        (Vector512.Load(ps + c) + v).Store(ps + c);
                        (Vector512.Load(pq + c) + v * Widen(Vector256.Load(h + c))).Store(pq + c);
                    }
                    for (; c < channels; c++)
                    {
                        ps[c] += d[c];
                        pq[c] += (double)d[c] * h[c];
                    }
                    continue;
                }
                for (int c = 0; c < channels; c++)
                {
                    nint offset = ((nint)b * channels + c) * spatial;
                    (double rowSum, double rowProducts) = RowSums(pd + offset, px + offset, spatial);
                    ps[c] += rowSum;
                    pq[c] += rowProducts;
                }
            }
    }

    /// <summary>Naive twin of <see cref="ChannelGradientSums"/>.</summary>
    public static void ChannelGradientSumsNaive(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, int n, int channels, int spatial, Span<double> sumDy, Span<double> sumDyXhat)
    {
        Check(dy, n, channels, spatial, nameof(dy));
        Check(xhat, n, channels, spatial, nameof(xhat));
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
            {
                int offset = (b * channels + c) * spatial;
                (double s, double q) = RowSumsNaive(dy.Slice(offset, spatial), xhat.Slice(offset, spatial));
                sumDy[c] += s;
                sumDyXhat[c] += q;
            }
    }

    // x (N, C, S), mean (C), invStd (C), weight (C), bias (C) -> xhat (N, C, S), y (N, C, S)
    /// <summary>Effectively computes xhat = (x - mean[c]) · invStd[c] and y = fma(xhat, weight[c], bias[c]) element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Normalize(ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> xhat, Span<float> y, int n, int channels, int spatial)
    {
        Check(x, n, channels, spatial, nameof(x));
        Check(xhat, n, channels, spatial, nameof(xhat));
        Check(y, n, channels, spatial, nameof(y));
        CheckChannels(mean, channels, nameof(mean));
        CheckChannels(invStd, channels, nameof(invStd));
        CheckChannels(weight, channels, nameof(weight));
        CheckChannels(bias, channels, nameof(bias));
        fixed (float* px = x, pm = mean, pi = invStd, pw = weight, pb = bias, ph = xhat, py = y)
            for (int b = 0; b < n; b++)
            {
                nint rowStart = (nint)b * channels * spatial;
                if (spatial == 1)
                {
                    // BatchNorm1d: one value per channel, so the vectors run across the channels.
                    int c = 0;
                    for (; c + Lanes <= channels; c += Lanes)
                    {
                        Vector512<float> h = (Vector512.Load(px + rowStart + c) - Vector512.Load(pm + c)) * Vector512.Load(pi + c);
                        h.Store(ph + rowStart + c);
                        Vector512.FusedMultiplyAdd(h, Vector512.Load(pw + c), Vector512.Load(pb + c)).Store(py + rowStart + c);
                    }
                    for (; c < channels; c++)
                    {
                        float h = (px[rowStart + c] - pm[c]) * pi[c];
                        ph[rowStart + c] = h;
                        py[rowStart + c] = MathF.FusedMultiplyAdd(h, pw[c], pb[c]);
                    }
                    continue;
                }
                for (int c = 0; c < channels; c++)
                {
                    nint o = rowStart + (nint)c * spatial;
                    Vector512<float> m = Vector512.Create(pm[c]), inv = Vector512.Create(pi[c]), w = Vector512.Create(pw[c]), bb = Vector512.Create(pb[c]);
                    int s = 0;
                    for (; s + Lanes <= spatial; s += Lanes)
                    {
                        Vector512<float> h = (Vector512.Load(px + o + s) - m) * inv;
                        h.Store(ph + o + s);
                        Vector512.FusedMultiplyAdd(h, w, bb).Store(py + o + s);
                    }
                    for (; s < spatial; s++)
                    {
                        float h = (px[o + s] - pm[c]) * pi[c];
                        ph[o + s] = h;
                        py[o + s] = MathF.FusedMultiplyAdd(h, pw[c], pb[c]);
                    }
                }
            }
    }

    /// <summary>Naive twin of <see cref="Normalize"/>.</summary>
    public static void NormalizeNaive(ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> xhat, Span<float> y, int n, int channels, int spatial)
    {
        Check(x, n, channels, spatial, nameof(x));
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
                for (int s = 0; s < spatial; s++)
                {
                    int i = (b * channels + c) * spatial + s;
                    xhat[i] = (x[i] - mean[c]) * invStd[c];
                    y[i] = MathF.FusedMultiplyAdd(xhat[i], weight[c], bias[c]);
                }
    }

    // dy (N, C, S), xhat (N, C, S), meanDy (C), meanDyXhat (C), scale (C) -> dx (N, C, S)
    /// <summary>
    /// Effectively computes dx = fma(-xhat, meanDyXhat[c], dy - meanDy[c]) · scale[c]: batch norm's input gradient in
    /// training mode with scale = weight·invStd (in evaluation mode, pass zero means: dx = dy · scale).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NormalizeBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, ReadOnlySpan<float> meanDy, ReadOnlySpan<float> meanDyXhat, ReadOnlySpan<float> scale,
        Span<float> dx, int n, int channels, int spatial)
    {
        Check(dy, n, channels, spatial, nameof(dy));
        Check(xhat, n, channels, spatial, nameof(xhat));
        Check(dx, n, channels, spatial, nameof(dx));
        CheckChannels(meanDy, channels, nameof(meanDy));
        CheckChannels(meanDyXhat, channels, nameof(meanDyXhat));
        CheckChannels(scale, channels, nameof(scale));
        fixed (float* pd = dy, ph = xhat, pm = meanDy, pmx = meanDyXhat, ps = scale, pdx = dx)
            for (int b = 0; b < n; b++)
            {
                nint rowStart = (nint)b * channels * spatial;
                if (spatial == 1)
                {
                    int c = 0;
                    for (; c + Lanes <= channels; c += Lanes)
                    {
                        Vector512<float> t = Vector512.Load(pd + rowStart + c) - Vector512.Load(pm + c);
                        t = Vector512.FusedMultiplyAdd(-Vector512.Load(ph + rowStart + c), Vector512.Load(pmx + c), t);
                        (t * Vector512.Load(ps + c)).Store(pdx + rowStart + c);
                    }
                    for (; c < channels; c++)
                        pdx[rowStart + c] = MathF.FusedMultiplyAdd(-ph[rowStart + c], pmx[c], pd[rowStart + c] - pm[c]) * ps[c];
                    continue;
                }
                for (int c = 0; c < channels; c++)
                {
                    nint o = rowStart + (nint)c * spatial;
                    Vector512<float> m = Vector512.Create(pm[c]), mx = Vector512.Create(pmx[c]), sc = Vector512.Create(ps[c]);
                    int s = 0;
                    for (; s + Lanes <= spatial; s += Lanes)
                    {
                        Vector512<float> t = Vector512.Load(pd + o + s) - m;
                        t = Vector512.FusedMultiplyAdd(-Vector512.Load(ph + o + s), mx, t);
                        (t * sc).Store(pdx + o + s);
                    }
                    for (; s < spatial; s++)
                        pdx[o + s] = MathF.FusedMultiplyAdd(-ph[o + s], pmx[c], pd[o + s] - pm[c]) * ps[c];
                }
            }
    }

    /// <summary>Naive twin of <see cref="NormalizeBackward"/>.</summary>
    public static void NormalizeBackwardNaive(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, ReadOnlySpan<float> meanDy, ReadOnlySpan<float> meanDyXhat, ReadOnlySpan<float> scale,
        Span<float> dx, int n, int channels, int spatial)
    {
        Check(dy, n, channels, spatial, nameof(dy));
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
                for (int s = 0; s < spatial; s++)
                {
                    int i = (b * channels + c) * spatial + s;
                    dx[i] = MathF.FusedMultiplyAdd(-xhat[i], meanDyXhat[c], dy[i] - meanDy[c]) * scale[c];
                }
    }

    // Eight floats as eight doubles (exact).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Widen(Vector256<float> v)
    {
        (Vector256<double> low, Vector256<double> high) = Vector256.Widen(v);
        return Vector512.Create(low, high);
    }

    private const int DoubleLanes = 8;

    // Σ a[i] and Σ a[i]·b[i] in double (a float's product is exact in double): 8 lanes, the fixed tree, then the tail chained on.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (double Sum, double Products) RowSums(float* a, float* b, int length)
    {
        int i = 0;
        double sum = 0, products = 0;
        if (length >= DoubleLanes)
        {
            Vector512<double> s = Vector512<double>.Zero, q = Vector512<double>.Zero;
            for (; i + DoubleLanes <= length; i += DoubleLanes)
            {
                Vector512<double> w = Widen(Vector256.Load(a + i));
                s += w;
                q += w * Widen(Vector256.Load(b + i));
            }
            sum = ReduceLanes(s);
            products = ReduceLanes(q);
        }
        for (; i < length; i++)
        {
            sum += a[i];
            products += (double)a[i] * b[i];
        }
        return (sum, products);
    }

    private static (double Sum, double Products) RowSumsNaive(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Span<double> s = stackalloc double[DoubleLanes], q = stackalloc double[DoubleLanes];
        int whole = a.Length - a.Length % DoubleLanes;
        for (int i = 0; i < whole; i++)
        {
            s[i % DoubleLanes] += a[i];
            q[i % DoubleLanes] += (double)a[i] * b[i];
        }
        double sum = 0, products = 0;
        if (whole > 0)
        {
            for (int width = DoubleLanes / 2; width >= 1; width /= 2)
                for (int l = 0; l < width; l++)
                {
                    s[l] += s[l + width];
                    q[l] += q[l + width];
                }
            (sum, products) = (s[0], q[0]);
        }
        for (int i = whole; i < a.Length; i++)
        {
            sum += a[i];
            products += (double)a[i] * b[i];
        }
        return (sum, products);
    }

    private static double ReduceLanes(Vector512<double> lanes)
    {
        Vector256<double> t4 = lanes.GetLower() + lanes.GetUpper();
        Vector128<double> t2 = t4.GetLower() + t4.GetUpper();
        return t2.GetElement(0) + t2.GetElement(1);
    }

    private static void Check(ReadOnlySpan<float> x, int n, int channels, int spatial, string name)
    {
        if (n < 0 || channels < 1 || spatial < 1)
            throw new ArgumentException($"Invalid batch-norm sizes (n={n}, channels={channels}, spatial={spatial}).", name);
        if (x.Length != (long)n * channels * spatial)
            throw new ArgumentException($"{name} has {x.Length} elements, expected N*C*S = {n}*{channels}*{spatial}.", name);
    }

    private static void CheckChannels<T>(ReadOnlySpan<T> values, int channels, string name)
    {
        if (values.Length != channels) throw new ArgumentException($"{name} has {values.Length} elements, expected {channels} channels.", name);
    }

    private static void CheckChannels<T>(Span<T> values, int channels, string name) => CheckChannels((ReadOnlySpan<T>)values, channels, name);
}
