// How an image's reconstruction becomes its anomaly score (--score). mse is the tutorial's per-image mean squared
// error; ssim is 1 - the mean structural similarity (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, C1 = 0.01²,
// C2 = 0.03², data range 1, over the window positions inside the image), which weighs a stroke that is missing or
// misplaced more than a slightly thicker one; smoothed is the mean square of the residual after a 5x5 Gaussian blur
// (sigma 1), which forgives one-pixel shifts. Higher is more anomalous for all three.
using AeMnist.Engines;

namespace AeMnist.Evaluation;

public enum ScoreKind
{
    /// <summary>Per-image mean squared reconstruction error (the tutorial's; the default).</summary>
    Mse,

    /// <summary>1 - mean SSIM between image and reconstruction.</summary>
    Ssim,

    /// <summary>Mean squared Gaussian-smoothed residual.</summary>
    Smoothed,
}

public static class AnomalyScore
{
    public const int Side = 28;
    private const int SsimWindow = 11;
    private const double SsimSigma = 1.5;
    private const int SmoothWindow = 5;
    private const double SmoothSigma = 1.0;
    private const double C1 = 0.01 * 0.01, C2 = 0.03 * 0.03;

    private static readonly double[] s_ssimKernel = Gaussian(SsimWindow, SsimSigma);
    private static readonly double[] s_smoothKernel = Gaussian(SmoothWindow, SmoothSigma);

    /// <summary>Every score, in the order help texts list them.</summary>
    public static IReadOnlyList<ScoreKind> All { get; } = [ScoreKind.Mse, ScoreKind.Ssim, ScoreKind.Smoothed];

    /// <summary>"mse", "ssim", "smoothed".</summary>
    public static string Name(ScoreKind kind) => kind switch
    {
        ScoreKind.Mse => "mse",
        ScoreKind.Ssim => "ssim",
        _ => "smoothed",
    };

    /// <summary>One line per score for --help and the docs.</summary>
    public static string Describe(ScoreKind kind) => kind switch
    {
        ScoreKind.Mse => "per-image mean squared reconstruction error (the tutorial's)",
        ScoreKind.Ssim => "1 - mean SSIM of image and reconstruction (11x11 Gaussian window, sigma 1.5)",
        _ => "mean squared residual after a 5x5 Gaussian blur (sigma 1)",
    };

    public static bool TryParse(string text, out ScoreKind kind)
    {
        foreach (ScoreKind k in All)
            if (string.Equals(Name(k), text.Trim(), StringComparison.OrdinalIgnoreCase)) { kind = k; return true; }
        kind = default;
        return false;
    }

    /// <summary>The score called <paramref name="text"/>; anything else is an <see cref="ArgumentException"/> naming --score.</summary>
    public static ScoreKind Parse(string text) => TryParse(text, out ScoreKind kind) ? kind
        : throw new ArgumentException($"--score '{text}' is not a score; use {string.Join(", ", All.Select(Name))}");

    /// <summary>
    /// The scores of <paramref name="n"/> images under <paramref name="model"/>. mse is exactly
    /// <see cref="IEngineModel.Losses"/> with <see cref="Loss.Mse"/>; the others are computed from the reconstructions, in chunks.
    /// </summary>
    public static void Compute(IEngineModel model, ScoreKind kind, ReadOnlySpan<float> images, int n, Span<float> scores)
    {
        if (kind == ScoreKind.Mse)
        {
            model.ReconstructionErrors(images, n, scores);
            return;
        }
        int length = model.Spec.Input.Length;
        if (length != Side * Side) throw new ArgumentException($"--score {Name(kind)} needs 28x28 images; this model's input has {length} values.");
        const int chunk = 1024;
        var reconstructions = new float[Math.Min(n, chunk) * length];
        for (int start = 0; start < n; start += chunk)
        {
            int count = Math.Min(chunk, n - start);
            ReadOnlySpan<float> part = images.Slice(start * length, count * length);
            Span<float> output = reconstructions.AsSpan(0, count * length);
            model.Reconstruct(part, count, output);
            FromReconstructions(kind, part, output, count, scores.Slice(start, count));
        }
    }

    /// <summary>The scores of <paramref name="n"/> 28x28 images given their reconstructions.</summary>
    public static void FromReconstructions(ScoreKind kind, ReadOnlySpan<float> images, ReadOnlySpan<float> reconstructions, int n, Span<float> scores)
    {
        const int pixels = Side * Side;
        if (images.Length != n * pixels || reconstructions.Length != n * pixels || scores.Length != n)
            throw new ArgumentException($"{n} images need {n * pixels} pixels and reconstructions and {n} scores; got {images.Length}, {reconstructions.Length} and {scores.Length}.");
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> x = images.Slice(i * pixels, pixels), y = reconstructions.Slice(i * pixels, pixels);
            scores[i] = kind switch
            {
                ScoreKind.Mse => (float)MeanSquaredError(x, y),
                ScoreKind.Ssim => (float)(1 - Ssim(x, y)),
                _ => (float)SmoothedError(x, y),
            };
        }
    }

    public static double MeanSquaredError(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += (double)(x[i] - y[i]) * (x[i] - y[i]);
        return sum / x.Length;
    }

    /// <summary>Mean SSIM of two 28x28 images over the 18x18 positions of the 11x11 window inside the image.</summary>
    public static double Ssim(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        const int valid = Side - SsimWindow + 1;
        Span<double> a = stackalloc double[Side * Side], b = stackalloc double[Side * Side];
        Span<double> aa = stackalloc double[Side * Side], bb = stackalloc double[Side * Side], ab = stackalloc double[Side * Side];
        for (int i = 0; i < Side * Side; i++)
        {
            a[i] = x[i];
            b[i] = y[i];
            aa[i] = (double)x[i] * x[i];
            bb[i] = (double)y[i] * y[i];
            ab[i] = (double)x[i] * y[i];
        }
        Span<double> muA = stackalloc double[valid * valid], muB = stackalloc double[valid * valid];
        Span<double> sAA = stackalloc double[valid * valid], sBB = stackalloc double[valid * valid], sAB = stackalloc double[valid * valid];
        Span<double> scratch = stackalloc double[Side * valid];
        FilterValid(a, muA, s_ssimKernel, scratch);
        FilterValid(b, muB, s_ssimKernel, scratch);
        FilterValid(aa, sAA, s_ssimKernel, scratch);
        FilterValid(bb, sBB, s_ssimKernel, scratch);
        FilterValid(ab, sAB, s_ssimKernel, scratch);
        double total = 0;
        for (int i = 0; i < valid * valid; i++)
        {
            double ma = muA[i], mb = muB[i];
            double va = sAA[i] - ma * ma, vb = sBB[i] - mb * mb, cov = sAB[i] - ma * mb;
            total += (2 * ma * mb + C1) * (2 * cov + C2) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
        }
        return total / (valid * valid);
    }

    /// <summary>Mean square of the residual x - y blurred by a 5x5 Gaussian (zero padding, same size).</summary>
    public static double SmoothedError(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        const int pad = SmoothWindow / 2, side = Side + 2 * pad, valid = side - SmoothWindow + 1;
        Span<double> padded = stackalloc double[side * side];
        padded.Clear();
        for (int r = 0; r < Side; r++)
            for (int c = 0; c < Side; c++) padded[(r + pad) * side + c + pad] = x[r * Side + c] - y[r * Side + c];
        Span<double> blurred = stackalloc double[valid * valid], scratch = stackalloc double[side * valid];
        FilterValid(padded, blurred, s_smoothKernel, scratch, side);
        double sum = 0;
        foreach (double v in blurred) sum += v * v;
        return sum / blurred.Length;
    }

    // image (side, side) -> output (valid, valid), valid = side - K + 1: separable correlation with kernel g ⊗ g.
    private static void FilterValid(ReadOnlySpan<double> image, Span<double> output, double[] g, Span<double> scratch, int side = Side)
    {
        int k = g.Length, valid = side - k + 1;
        for (int r = 0; r < side; r++)
            for (int c = 0; c < valid; c++)
            {
                double sum = 0;
                for (int j = 0; j < k; j++) sum += g[j] * image[r * side + c + j];
                scratch[r * valid + c] = sum;
            }
        for (int r = 0; r < valid; r++)
            for (int c = 0; c < valid; c++)
            {
                double sum = 0;
                for (int i = 0; i < k; i++) sum += g[i] * scratch[(r + i) * valid + c];
                output[r * valid + c] = sum;
            }
    }

    private static double[] Gaussian(int size, double sigma)
    {
        var g = new double[size];
        double centre = (size - 1) / 2.0, total = 0;
        for (int i = 0; i < size; i++) total += g[i] = Math.Exp(-(i - centre) * (i - centre) / (2 * sigma * sigma));
        for (int i = 0; i < size; i++) g[i] /= total;
        return g;
    }
}
