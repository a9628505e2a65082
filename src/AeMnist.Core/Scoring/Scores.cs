// How an image's reconstruction becomes its anomaly score (--score), as pure functions of an image and its
// reconstruction: mse is the tutorial's per-image mean squared error (Reductions.MeanSquaredErrorRows, the engines' own
// per-image loss, to the bit); ssim is 1 - the mean structural similarity (Wang et al. 2004: 11x11 Gaussian window,
// sigma 1.5, C1 = 0.01², C2 = 0.03², data range 1, over the window positions inside the image, averaged over channels),
// which weighs a stroke that is missing or misplaced more than a slightly thicker one; smoothed is the mean square of
// the residual after a 5x5 Gaussian blur (sigma 1, zero padding, per channel), which forgives one-pixel shifts. Higher
// is more anomalous for all three. ssim and smoothed need the image's height and width (ImageShape).
using AeMnist.Tensors;

namespace AeMnist.Scoring;

public enum ScoreKind
{
    /// <summary>Per-image mean squared reconstruction error (the tutorial's; the default).</summary>
    Mse,

    /// <summary>1 - mean SSIM between image and reconstruction.</summary>
    Ssim,

    /// <summary>Mean squared Gaussian-smoothed residual.</summary>
    Smoothed,
}

public static class Scores
{
    private const int SsimWindow = 11;
    private const double SsimSigma = 1.5;
    private const int SmoothWindow = 5;
    private const double SmoothSigma = 1.0;
    private const double C1 = 0.01 * 0.01, C2 = 0.03 * 0.03;

    private static readonly double[] s_ssimKernel = Gaussian(SsimWindow, SsimSigma);
    private static readonly double[] s_smoothKernel = Gaussian(SmoothWindow, SmoothSigma);

    /// <summary>Every score, in the order help texts list them.</summary>
    public static IReadOnlyList<ScoreKind> All { get; } = [ScoreKind.Mse, ScoreKind.Ssim, ScoreKind.Smoothed];

    /// <summary>The option value: "mse", "ssim", "smoothed".</summary>
    public static string Name(ScoreKind kind) => kind switch
    {
        ScoreKind.Mse => "mse",
        ScoreKind.Ssim => "ssim",
        _ => "smoothed",
    };

    /// <summary>What the number is, for chart axes and captions: "MSE", "1 − SSIM", "smoothed MSE".</summary>
    public static string Label(ScoreKind kind) => kind switch
    {
        ScoreKind.Mse => "MSE",
        ScoreKind.Ssim => "1 − SSIM",
        _ => "smoothed MSE",
    };

    /// <summary>One line per score for --help and the docs.</summary>
    public static string Describe(ScoreKind kind) => kind switch
    {
        ScoreKind.Mse => "per-image mean squared reconstruction error (the tutorial's)",
        ScoreKind.Ssim => "1 - mean SSIM of image and reconstruction (11x11 Gaussian window, sigma 1.5)",
        _ => "mean squared residual after a 5x5 Gaussian blur (sigma 1)",
    };

    /// <summary>True for the scores that need the image's height and width (not only its values).</summary>
    public static bool NeedsImageShape(ScoreKind kind) => kind != ScoreKind.Mse;

    /// <summary>The smallest height and width <paramref name="kind"/> can score (its window).</summary>
    public static int MinimumSide(ScoreKind kind) => kind == ScoreKind.Ssim ? SsimWindow : 1;

    public static bool TryParse(string text, out ScoreKind kind)
    {
        foreach (ScoreKind k in All)
            if (string.Equals(Name(k), text.Trim(), StringComparison.OrdinalIgnoreCase)) { kind = k; return true; }
        kind = default;
        return false;
    }

    /// <summary>The score called <paramref name="text"/>; anything else is an <see cref="ArgumentException"/> naming --score.</summary>
    public static ScoreKind Parse(string text) => TryParse(text, out ScoreKind kind) ? kind
        : throw new ArgumentException($"--score {IO.MessageText.Quote(text, 40)} is not a score; use {string.Join(", ", All.Select(Name))}");

    /// <summary>
    /// The <paramref name="kind"/> score of each of <paramref name="n"/> images given their reconstructions (both n rows of
    /// <paramref name="shape"/>'s length).
    /// </summary>
    public static void FromReconstructions(ScoreKind kind, ReadOnlySpan<float> images, ReadOnlySpan<float> reconstructions, int n, ImageShape shape, Span<float> scores)
    {
        int length = shape.Length;
        if (images.Length != (long)n * length || reconstructions.Length != (long)n * length || scores.Length != n)
            throw new ArgumentException($"{n} images of {shape} need {(long)n * length} values and reconstructions and {n} scores; got {images.Length}, {reconstructions.Length} and {scores.Length}.");
        if (kind == ScoreKind.Mse)
        {
            // The engines' per-image loss: the reconstruction is the prediction, the image the target.
            Reductions.MeanSquaredErrorRows(reconstructions, images, new float[reconstructions.Length], scores);
            return;
        }
        if (shape.Height < MinimumSide(kind) || shape.Width < MinimumSide(kind))
            throw new ArgumentException($"--score {Name(kind)} needs images of at least {MinimumSide(kind)}x{MinimumSide(kind)}, and these are {shape}.");
        var scratch = new Scratch(shape);
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> x = images.Slice(i * length, length), y = reconstructions.Slice(i * length, length);
            scores[i] = kind == ScoreKind.Ssim ? (float)(1 - Ssim(x, y, shape, scratch)) : (float)SmoothedError(x, y, shape, scratch);
        }
    }

    /// <summary>Mean SSIM of two 28x28 images over the 18x18 positions of the 11x11 window inside the image.</summary>
    public static double Ssim(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => Ssim(x, y, ImageShape.Mnist, new Scratch(ImageShape.Mnist));

    /// <summary>Mean square of the 28x28 residual x - y blurred by a 5x5 Gaussian (zero padding, same size).</summary>
    public static double SmoothedError(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => SmoothedError(x, y, ImageShape.Mnist, new Scratch(ImageShape.Mnist));

    // Mean over channels of each channel's mean SSIM over the window positions inside the image.
    private static double Ssim(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ImageShape shape, Scratch s)
    {
        int h = shape.Height, w = shape.Width, plane = h * w, vh = h - SsimWindow + 1, vw = w - SsimWindow + 1;
        double channels = 0;
        for (int c = 0; c < shape.Channels; c++)
        {
            ReadOnlySpan<float> xc = x.Slice(c * plane, plane), yc = y.Slice(c * plane, plane);
            for (int i = 0; i < plane; i++)
            {
                s.A[i] = xc[i];
                s.B[i] = yc[i];
                s.AA[i] = (double)xc[i] * xc[i];
                s.BB[i] = (double)yc[i] * yc[i];
                s.AB[i] = (double)xc[i] * yc[i];
            }
            FilterValid(s.A, s.MuA, s_ssimKernel, s.Rows, h, w);
            FilterValid(s.B, s.MuB, s_ssimKernel, s.Rows, h, w);
            FilterValid(s.AA, s.SAA, s_ssimKernel, s.Rows, h, w);
            FilterValid(s.BB, s.SBB, s_ssimKernel, s.Rows, h, w);
            FilterValid(s.AB, s.SAB, s_ssimKernel, s.Rows, h, w);
            double total = 0;
            for (int i = 0; i < vh * vw; i++)
            {
                double ma = s.MuA[i], mb = s.MuB[i];
                double va = s.SAA[i] - ma * ma, vb = s.SBB[i] - mb * mb, cov = s.SAB[i] - ma * mb;
                total += (2 * ma * mb + C1) * (2 * cov + C2) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
            }
            channels += total / (vh * vw);
        }
        return channels / shape.Channels;
    }

    // Mean over every value of the squared residual, blurred per channel with zero padding (same size).
    private static double SmoothedError(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ImageShape shape, Scratch s)
    {
        const int pad = SmoothWindow / 2;
        int h = shape.Height, w = shape.Width, plane = h * w, ph = h + 2 * pad, pw = w + 2 * pad;
        double sum = 0;
        for (int c = 0; c < shape.Channels; c++)
        {
            Span<double> padded = s.Padded.AsSpan(0, ph * pw);
            padded.Clear();
            for (int r = 0; r < h; r++)
                for (int col = 0; col < w; col++) padded[(r + pad) * pw + col + pad] = x[c * plane + r * w + col] - y[c * plane + r * w + col];
            FilterValid(padded, s.Blurred, s_smoothKernel, s.Rows, ph, pw);
            for (int i = 0; i < plane; i++) sum += s.Blurred[i] * s.Blurred[i];
        }
        return sum / shape.Length;
    }

    // image (h, w) -> output (h - K + 1, w - K + 1): separable correlation with kernel g ⊗ g; rows is scratch.
    private static void FilterValid(ReadOnlySpan<double> image, Span<double> output, double[] g, Span<double> rows, int h, int w)
    {
        int k = g.Length, vh = h - k + 1, vw = w - k + 1;
        for (int r = 0; r < h; r++)
            for (int c = 0; c < vw; c++)
            {
                double sum = 0;
                for (int j = 0; j < k; j++) sum += g[j] * image[r * w + c + j];
                rows[r * vw + c] = sum;
            }
        for (int r = 0; r < vh; r++)
            for (int c = 0; c < vw; c++)
            {
                double sum = 0;
                for (int i = 0; i < k; i++) sum += g[i] * rows[(r + i) * vw + c];
                output[r * vw + c] = sum;
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

    // One image plane's working arrays, reused across the images of a call.
    private sealed class Scratch(ImageShape shape)
    {
        private static int Plane(ImageShape s) => s.Height * s.Width;
        public readonly double[] A = new double[Plane(shape)], B = new double[Plane(shape)];
        public readonly double[] AA = new double[Plane(shape)], BB = new double[Plane(shape)], AB = new double[Plane(shape)];
        public readonly double[] MuA = new double[Plane(shape)], MuB = new double[Plane(shape)];
        public readonly double[] SAA = new double[Plane(shape)], SBB = new double[Plane(shape)], SAB = new double[Plane(shape)];
        public readonly double[] Rows = new double[(shape.Height + 4) * (shape.Width + 4)];
        public readonly double[] Padded = new double[(shape.Height + 4) * (shape.Width + 4)];
        public readonly double[] Blurred = new double[Plane(shape)];
    }
}
