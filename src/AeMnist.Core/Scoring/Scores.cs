// How an image's reconstruction becomes its anomaly score (--score), as pure functions of an image and its
// reconstruction: mse is the tutorial's per-image mean squared error (Reductions.MeanSquaredErrorRows, the engines' own
// per-image loss, to the bit); ssim is 1 - the mean structural similarity (Wang et al. 2004: 11x11 Gaussian window,
// sigma 1.5, C1 = 0.01², C2 = 0.03², data range 1, over the window positions inside the image, averaged over channels),
// which weighs a stroke that is missing or misplaced more than a slightly thicker one; smoothed is the mean square of
// the residual after a 5x5 Gaussian blur (sigma 1, zero padding, per channel), which forgives one-pixel shifts;
// combined puts ssim and smoothed on one scale learnt from normal images alone and averages them (ScoreCalibration), so
// that no one has to pick between them per dataset. Higher is more anomalous for all four. ssim and smoothed need the image's height and width (ImageShape). Map gives each score
// pixel by pixel (the report's heatmaps), its mean the score.
using System.Numerics;
using System.Runtime.CompilerServices;
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

    /// <summary>ssim and smoothed, each standardised (log) on normal images, averaged (<see cref="ScoreCalibration"/>).</summary>
    Combined,
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
    public static IReadOnlyList<ScoreKind> All { get; } = [ScoreKind.Mse, ScoreKind.Ssim, ScoreKind.Smoothed, ScoreKind.Combined];

    /// <summary>The option value: "mse", "ssim", "smoothed", "combined".</summary>
    public static string Name(ScoreKind kind) => kind switch
    {
        ScoreKind.Mse => "mse",
        ScoreKind.Ssim => "ssim",
        ScoreKind.Smoothed => "smoothed",
        _ => "combined",
    };

    /// <summary>What the number is, for chart axes and captions: "MSE", "1 − SSIM", "smoothed MSE", "combined score".</summary>
    public static string Label(ScoreKind kind) => kind switch
    {
        ScoreKind.Mse => "MSE",
        ScoreKind.Ssim => "1 − SSIM",
        ScoreKind.Smoothed => "smoothed MSE",
        _ => "combined score",
    };

    /// <summary>What a split's values of the score are called in rule texts: "errors" for mse, else "ssim scores" and the like.</summary>
    public static string ScoresNoun(ScoreKind kind) => kind == ScoreKind.Mse ? "errors" : $"{Name(kind)} scores";

    /// <summary>One line per score for --help and the docs.</summary>
    public static string Describe(ScoreKind kind) => kind switch
    {
        ScoreKind.Mse => "per-image mean squared reconstruction error (the tutorial's)",
        ScoreKind.Ssim => "1 - mean SSIM of image and reconstruction (11x11 Gaussian window, sigma 1.5)",
        ScoreKind.Smoothed => "mean squared residual after a 5x5 Gaussian blur (sigma 1)",
        _ => "ssim and smoothed, each log-standardised on the normal validation images (learnt at training), averaged: exp(mean z); 1 is a typical normal image",
    };

    /// <summary>True for the scores that need the image's height and width (not only its values).</summary>
    public static bool NeedsImageShape(ScoreKind kind) => kind != ScoreKind.Mse;

    /// <summary>True for the score that needs a calibration learnt from normal images (<see cref="ScoreCalibration"/>).</summary>
    public static bool NeedsCalibration(ScoreKind kind) => kind == ScoreKind.Combined;

    /// <summary>The smallest height and width <paramref name="kind"/> can score (its window).</summary>
    public static int MinimumSide(ScoreKind kind) => kind is ScoreKind.Ssim or ScoreKind.Combined ? SsimWindow : 1;

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
    /// <paramref name="shape"/>'s length), on up to <paramref name="threads"/> threads, each scoring a contiguous block of
    /// the images: every image's score is computed alone, so the bits do not depend on the thread count.
    /// </summary>
    public static void FromReconstructions(ScoreKind kind, ReadOnlySpan<float> images, ReadOnlySpan<float> reconstructions, int n, ImageShape shape, Span<float> scores,
        ScoreCalibration? calibration = null, int threads = 1)
    {
        int length = shape.Length;
        if (images.Length != (long)n * length || reconstructions.Length != (long)n * length || scores.Length != n)
            throw new ArgumentException($"{n} images of {shape} need {(long)n * length} values and reconstructions and {n} scores; got {images.Length}, {reconstructions.Length} and {scores.Length}.");
        if (kind == ScoreKind.Combined)
        {
            if (calibration is null) throw new ArgumentException("the combined score needs its calibration (learnt from normal images)");
            float[][] bases = [.. calibration.Bases.Select(_ => new float[n])];
            for (int k = 0; k < bases.Length; k++)
                FromReconstructions(calibration.Bases[k].Kind, images, reconstructions, n, shape, bases[k], threads: threads);
            calibration.Combine(bases, scores);
            return;
        }
        if (kind == ScoreKind.Mse)
        {
            // The engines' per-image loss: the reconstruction is the prediction, the image the target. Its squared
            // differences go into a pooled array: callers score a chunk at a time, often from several threads.
            float[] difference = System.Buffers.ArrayPool<float>.Shared.Rent(reconstructions.Length);
            try
            {
                Reductions.MeanSquaredErrorRows(reconstructions, images, difference.AsSpan(0, reconstructions.Length), scores);
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(difference);
            }
            return;
        }
        if (shape.Height < MinimumSide(kind) || shape.Width < MinimumSide(kind))
            throw new ArgumentException($"--score {Name(kind)} needs images of at least {MinimumSide(kind)}x{MinimumSide(kind)}, and these are {shape}.");
        // Blocks of at least 64 images: fewer images are not worth a second thread.
        int blocks = Math.Clamp(Math.Min(threads, n / 64), 1, Math.Max(1, threads));
        if (blocks == 1)
        {
            ScoreBlock(kind, images, reconstructions, 0, n, shape, scores, Scratch.For(shape));
            return;
        }
        // The blocks see the caller's spans through pinned addresses (a lambda cannot capture a span).
        unsafe
        {
            fixed (float* px = images, py = reconstructions, ps = scores)
            {
                nint ax = (nint)px, ay = (nint)py, az = (nint)ps;
                long values = (long)n * length;
                Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = blocks }, b =>
                {
                    int start = (int)((long)n * b / blocks), end = (int)((long)n * (b + 1) / blocks);
                    var x = new ReadOnlySpan<float>((void*)ax, (int)values);
                    var y = new ReadOnlySpan<float>((void*)ay, (int)values);
                    var z = new Span<float>((void*)az, n);
                    ScoreBlock(kind, x, y, start, end, shape, z, Scratch.For(shape));
                });
            }
        }
    }

    // Scores of images [start, end) into scores[start, end), one image at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScoreBlock(ScoreKind kind, ReadOnlySpan<float> images, ReadOnlySpan<float> reconstructions, int start, int end, ImageShape shape, Span<float> scores, Scratch scratch)
    {
        int length = shape.Length;
        for (int i = start; i < end; i++)
        {
            ReadOnlySpan<float> x = images.Slice(i * length, length), y = reconstructions.Slice(i * length, length);
            scores[i] = kind == ScoreKind.Ssim ? (float)(1 - Ssim(x, y, shape, scratch)) : (float)SmoothedError(x, y, shape, scratch);
        }
    }

    /// <summary>
    /// How many pixels at each edge <see cref="Map"/> leaves uncovered (NaN): 5 for ssim (half its 11x11 window),
    /// 0 for mse, smoothed and combined.
    /// </summary>
    public static int MapBorder(ScoreKind kind) => kind == ScoreKind.Ssim ? SsimWindow / 2 : 0;

    /// <summary>
    /// The score whose per-pixel map <see cref="Map"/> draws for <paramref name="kind"/>: itself, except combined, which is
    /// not a mean over pixels: its map is smoothed's (where the residual is), whose mean is not the combined score.
    /// </summary>
    public static ScoreKind MapKind(ScoreKind kind) => kind == ScoreKind.Combined ? ScoreKind.Smoothed : kind;

    /// <summary>
    /// The <paramref name="kind"/> score of one image pixel by pixel, so that the image's score is the mean of the map over
    /// its finite values. image, reconstruction (C, H, W) -> destination (H, W), each pixel averaged over the channels:
    /// mse: (x̂ − x)²; smoothed: (G₅ ∗ (x − x̂))², the residual blurred as the score blurs it (5x5 Gaussian, σ 1, zero
    /// padding); ssim: 1 − SSIM of the 11x11 window centred on the pixel, defined only where that window lies inside the
    /// image, i.e. at the (H − 10) x (W − 10) pixels at least <see cref="MapBorder"/> = 5 from every edge; the border
    /// the windows do not centre on is NaN. Its mean over those pixels is 1 − mean SSIM, the ssim score. combined, which
    /// is no mean over pixels, draws smoothed's map (<see cref="MapKind"/>).
    /// </summary>
    public static void Map(ScoreKind kind, ReadOnlySpan<float> image, ReadOnlySpan<float> reconstruction, ImageShape shape, Span<float> destination)
    {
        kind = MapKind(kind);
        int h = shape.Height, w = shape.Width, plane = h * w, channels = shape.Channels;
        if (image.Length != shape.Length || reconstruction.Length != shape.Length || destination.Length != plane)
            throw new ArgumentException($"An image of {shape} needs {shape.Length} values, its reconstruction too, and its map {plane}; got {image.Length}, {reconstruction.Length} and {destination.Length}.");
        if (h < MinimumSide(kind) || w < MinimumSide(kind))
            throw new ArgumentException($"--score {Name(kind)} needs images of at least {MinimumSide(kind)}x{MinimumSide(kind)}, and these are {shape}.");
        var sum = new double[plane];
        if (kind == ScoreKind.Mse)
        {
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < plane; i++)
                {
                    double d = reconstruction[c * plane + i] - image[c * plane + i];
                    sum[i] += d * d;
                }
            for (int i = 0; i < plane; i++) destination[i] = (float)(sum[i] / channels);
            return;
        }
        var s = new Scratch(shape);
        if (kind == ScoreKind.Smoothed)
        {
            for (int c = 0; c < channels; c++)
            {
                BlurredResidual(image.Slice(c * plane, plane), reconstruction.Slice(c * plane, plane), h, w, s);
                for (int i = 0; i < plane; i++) sum[i] += s.Blurred[i] * s.Blurred[i];
            }
            for (int i = 0; i < plane; i++) destination[i] = (float)(sum[i] / channels);
            return;
        }
        int border = MapBorder(kind), vh = h - 2 * border, vw = w - 2 * border;
        for (int c = 0; c < channels; c++)
        {
            SsimValid(image.Slice(c * plane, plane), reconstruction.Slice(c * plane, plane), h, w, s);
            for (int i = 0; i < vh * vw; i++) sum[i] += 1 - s.Map[i];
        }
        destination.Fill(float.NaN);
        for (int r = 0; r < vh; r++)
            for (int col = 0; col < vw; col++) destination[(r + border) * w + col + border] = (float)(sum[r * vw + col] / channels);
    }

    /// <summary>Mean SSIM of two 28x28 images over the 18x18 positions of the 11x11 window inside the image.</summary>
    public static double Ssim(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => Ssim(x, y, ImageShape.Mnist, new Scratch(ImageShape.Mnist));

    /// <summary>Mean square of the 28x28 residual x - y blurred by a 5x5 Gaussian (zero padding, same size).</summary>
    public static double SmoothedError(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => SmoothedError(x, y, ImageShape.Mnist, new Scratch(ImageShape.Mnist));

    // Mean over channels of each channel's mean SSIM over the window positions inside the image.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Ssim(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ImageShape shape, Scratch s)
    {
        int h = shape.Height, w = shape.Width, plane = h * w, valid = (h - SsimWindow + 1) * (w - SsimWindow + 1);
        double channels = 0;
        for (int c = 0; c < shape.Channels; c++)
        {
            SsimValid(x.Slice(c * plane, plane), y.Slice(c * plane, plane), h, w, s);
            double total = 0;
            for (int i = 0; i < valid; i++) total += s.Map[i];
            channels += total / valid;
        }
        return channels / shape.Channels;
    }

    // One channel (h, w) -> s.Map (h - 10, w - 10): the SSIM of the 11x11 window at each position inside the image.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SsimValid(ReadOnlySpan<float> xc, ReadOnlySpan<float> yc, int h, int w, Scratch s)
    {
        int plane = h * w, vh = h - SsimWindow + 1, vw = w - SsimWindow + 1;
        for (int p = 0; p < plane; p++)
        {
            s.A[p] = xc[p];
            s.B[p] = yc[p];
            s.AA[p] = (double)xc[p] * xc[p];
            s.BB[p] = (double)yc[p] * yc[p];
            s.AB[p] = (double)xc[p] * yc[p];
        }
        FilterValid(s.A, s.MuA, s_ssimKernel, s.Rows, h, w);
        FilterValid(s.B, s.MuB, s_ssimKernel, s.Rows, h, w);
        FilterValid(s.AA, s.SAA, s_ssimKernel, s.Rows, h, w);
        FilterValid(s.BB, s.SBB, s_ssimKernel, s.Rows, h, w);
        FilterValid(s.AB, s.SAB, s_ssimKernel, s.Rows, h, w);
        int count = vh * vw, lanes = Vector<double>.Count, i = 0;
        // The same operations in the same order lane by lane as value by value below: the same bits.
        Vector<double> two = new(2.0), c1 = new(C1), c2 = new(C2);
        for (; i + lanes <= count; i += lanes)
        {
            Vector<double> ma = new(s.MuA, i), mb = new(s.MuB, i);
            Vector<double> va = new Vector<double>(s.SAA, i) - ma * ma, vb = new Vector<double>(s.SBB, i) - mb * mb, cov = new Vector<double>(s.SAB, i) - ma * mb;
            ((two * ma * mb + c1) * (two * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2))).CopyTo(s.Map, i);
        }
        for (; i < count; i++)
        {
            double ma = s.MuA[i], mb = s.MuB[i];
            double va = s.SAA[i] - ma * ma, vb = s.SBB[i] - mb * mb, cov = s.SAB[i] - ma * mb;
            s.Map[i] = (2 * ma * mb + C1) * (2 * cov + C2) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
        }
    }

    // Mean over every value of the squared residual, blurred per channel with zero padding (same size).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SmoothedError(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ImageShape shape, Scratch s)
    {
        int plane = shape.Height * shape.Width;
        double sum = 0;
        for (int c = 0; c < shape.Channels; c++)
        {
            BlurredResidual(x.Slice(c * plane, plane), y.Slice(c * plane, plane), shape.Height, shape.Width, s);
            for (int i = 0; i < plane; i++) sum += s.Blurred[i] * s.Blurred[i];
        }
        return sum / shape.Length;
    }

    // One channel (h, w) -> s.Blurred (h, w): the residual x - y blurred by the 5x5 Gaussian with zero padding.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BlurredResidual(ReadOnlySpan<float> xc, ReadOnlySpan<float> yc, int h, int w, Scratch s)
    {
        const int pad = SmoothWindow / 2;
        int ph = h + 2 * pad, pw = w + 2 * pad;
        Span<double> padded = s.Padded.AsSpan(0, ph * pw);
        padded.Clear();
        for (int r = 0; r < h; r++)
            for (int col = 0; col < w; col++) padded[(r + pad) * pw + col + pad] = xc[r * w + col] - yc[r * w + col];
        FilterValid(padded, s.Blurred, s_smoothKernel, s.Rows, ph, pw);
    }

    // image (h, w) -> output (h - K + 1, w - K + 1): separable correlation with kernel g ⊗ g; rows is scratch. Each output
    // is the sum over the taps in tap order, one multiply and one add per tap (no fused multiply-add), so the vector lanes
    // give the same bits as the scalar path (FilterValidNaive, its twin).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void FilterValid(ReadOnlySpan<double> image, Span<double> output, double[] g, Span<double> rows, int h, int w)
    {
        int k = g.Length, vh = h - k + 1, vw = w - k + 1;
        if (image.Length < h * w || output.Length < vh * vw || rows.Length < h * vw)
            throw new ArgumentException($"FilterValid of {h}x{w} by {k} taps needs {h * w}, {vh * vw} and {h * vw} values.");
        fixed (double* pi = image, po = output, pr = rows, pg = g)
        {
            for (int r = 0; r < h; r++) Taps(pi + (nint)r * w, pr + (nint)r * vw, pg, k, vw, 1);
            for (int r = 0; r < vh; r++) Taps(pr + (nint)r * vw, po + (nint)r * vw, pg, k, vw, vw);
        }
    }

    // into[c] = Σ_j g[j] · source[c + j·step] for c < count, from zero in tap order. A row shorter than a vector is done
    // value by value; a longer one in whole vectors, the last one moved back to end at count (it computes some values
    // again, to the same bits).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Taps(double* source, double* into, double* g, int k, int count, nint step)
    {
        int lanes = Vector<double>.Count;
        if (count < lanes)
        {
            for (int c = 0; c < count; c++)
            {
                double sum = 0;
                for (int j = 0; j < k; j++) sum += g[j] * source[c + j * step];
                into[c] = sum;
            }
            return;
        }
        for (int c = 0; ; c += lanes)
        {
            if (c + lanes > count) c = count - lanes;
            Vector<double> sum = Vector<double>.Zero;
            for (int j = 0; j < k; j++) sum += new Vector<double>(g[j]) * Unsafe.ReadUnaligned<Vector<double>>(source + c + j * step);
            Unsafe.WriteUnaligned(into + c, sum);
            if (c + lanes >= count) return;
        }
    }

    /// <summary>Naive twin of the filter the ssim and smoothed scores use (the same order, so the same bits): image (h, w) -> output (h − K + 1, w − K + 1).</summary>
    internal static void FilterValidNaive(ReadOnlySpan<double> image, Span<double> output, double[] g, int h, int w)
    {
        int k = g.Length, vh = h - k + 1, vw = w - k + 1;
        var rows = new double[h * vw];
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

    /// <summary>The normalised 1-D Gaussian of <paramref name="size"/> taps the windows use (the ONNX export builds its blurs from it too).</summary>
    public static double[] Gaussian(int size, double sigma)
    {
        var g = new double[size];
        double centre = (size - 1) / 2.0, total = 0;
        for (int i = 0; i < size; i++) total += g[i] = Math.Exp(-(i - centre) * (i - centre) / (2 * sigma * sigma));
        for (int i = 0; i < size; i++) g[i] /= total;
        return g;
    }

    // One image plane's working arrays, reused across the images of a call and kept per thread for the next call of the
    // same shape (callers score 64-image chunks: 14 arrays a call would be garbage every 64 images). Every user
    // overwrites (or clears) what it reads, so a reused scratch gives the bits of a fresh one.
    private sealed class Scratch(ImageShape shape)
    {
        [ThreadStatic] private static Scratch? t_kept;

        private readonly ImageShape _shape = shape;

        public static Scratch For(ImageShape shape) => t_kept is { } kept && kept._shape == shape ? kept : t_kept = new Scratch(shape);

        private static int Plane(ImageShape s) => s.Height * s.Width;
        public readonly double[] A = new double[Plane(shape)], B = new double[Plane(shape)];
        public readonly double[] AA = new double[Plane(shape)], BB = new double[Plane(shape)], AB = new double[Plane(shape)];
        public readonly double[] MuA = new double[Plane(shape)], MuB = new double[Plane(shape)];
        public readonly double[] SAA = new double[Plane(shape)], SBB = new double[Plane(shape)], SAB = new double[Plane(shape)];
        public readonly double[] Rows = new double[(shape.Height + 4) * (shape.Width + 4)];
        public readonly double[] Padded = new double[(shape.Height + 4) * (shape.Width + 4)];
        public readonly double[] Blurred = new double[Plane(shape)];
        public readonly double[] Map = new double[Plane(shape)];
    }
}
