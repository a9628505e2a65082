// Each score kind as ONNX nodes: from the image x and its reconstruction r, both (N, C, H, W) float, the score (N) and
// its per-pixel map (N, H, W), exactly as Scoring/Scores.cs defines them. One table entry per kind; a kind without an
// entry cannot be exported, and the export says so. The neighbourhood scores compute in double, as Scores does: their
// Gaussian windows are separable, so each blur is two MatMuls with banded matrices (rows, then columns), which keeps
// the sums exact to double rounding on every runtime (a float Conv would lose digits in SSIM's variances).
using AeMnist.Scoring;
using AeMnist.Tensors;

namespace AeMnist.Onnx;

/// <summary>How a score is built in a graph: a summary for the model's metadata, and the builder (the combined score needs the model's calibration).</summary>
internal sealed record ScoreGraph(string Summary, Func<OnnxGraph, string, string, ImageShape, ScoreCalibration?, (string Score, string Map)> Build);

internal static class ScoreGraphs
{
    // Scores.cs's windows: SSIM 11x11, sigma 1.5, C1 = 0.01², C2 = 0.03²; smoothed 5x5, sigma 1, zero padding. The tests
    // hold every exported score to Scores' own, so a change there that is not made here fails them.
    private const int SsimWindow = 11, SmoothWindow = 5;
    private const double SsimSigma = 1.5, SmoothSigma = 1.0, C1 = 0.01 * 0.01, C2 = 0.03 * 0.03;

    private static readonly Dictionary<ScoreKind, ScoreGraph> Table = new()
    {
        [ScoreKind.Mse] = new("mean over pixels and channels of (r - x)^2; map: its mean over channels", (g, x, r, shape, _) => Mse(g, x, r, shape)),
        [ScoreKind.Ssim] = new("1 - mean SSIM (11x11 Gaussian window, sigma 1.5, C1 0.01^2, C2 0.03^2, data range 1, windows inside the image, mean over channels); map: 1 - SSIM of the window centred on each pixel, NaN within 5 pixels of the edge", (g, x, r, shape, _) => Ssim(g, x, r, shape)),
        [ScoreKind.Smoothed] = new("mean of the squared residual x - r blurred by a 5x5 Gaussian (sigma 1, zero padding); map: its mean over channels", (g, x, r, shape, _) => Smoothed(g, x, r, shape)),
        [ScoreKind.Combined] = new("exp of the mean over ssim and smoothed of (ln max(score, 1e-12) - mean) / std, each base's mean and std learnt on normal images (the model's score_calibration), the exponent clipped to [-80, 80]; map: smoothed's", Combined),
    };

    /// <summary>The score kinds an export can carry.</summary>
    public static IReadOnlyList<ScoreKind> Supported => [.. Scores.All.Where(Table.ContainsKey)];

    /// <summary>The graph of <paramref name="kind"/>; a kind without one is a <see cref="NotSupportedException"/> saying which can be exported.</summary>
    public static ScoreGraph Get(ScoreKind kind) => Table.TryGetValue(kind, out ScoreGraph? graph) ? graph
        : throw new NotSupportedException($"the ONNX export has no graph for the {Scores.Name(kind)} score; export with --score {string.Join(", ", Supported.Select(Scores.Name))}");

    // score = mean((r - x)^2) over (C, H, W), each square in double.
    private static (string, string) Mse(OnnxGraph g, string x, string r, ImageShape shape)
    {
        string d = ToDouble(g, g.Node("Sub", [r, x], "mse_residual"));
        string squares = g.Node("Mul", [d, d], "mse_squares");
        return (ToFloat(g, Mean(g, squares, [1, 2, 3], "mse_mean"), "mse_score"), ToFloat(g, Mean(g, squares, [1], "mse_map_mean"), "mse_map"));
    }

    private static (string, string) Ssim(OnnxGraph g, string x, string r, ImageShape shape)
    {
        int h = shape.Height, w = shape.Width, vh = h - SsimWindow + 1, vw = w - SsimWindow + 1;
        if (vh < 1 || vw < 1)
            throw new ArgumentException($"--score ssim needs images of at least {SsimWindow}x{SsimWindow}, and these are {shape}");
        double[] kernel = Scores.Gaussian(SsimWindow, SsimSigma);
        string rows = g.Constant("ssim_rows", Banded(vh, h, kernel, 0), vh, h);
        string columns = g.Constant("ssim_columns", Transpose(Banded(vw, w, kernel, 0), vw, w), w, vw);
        string Blur(string z, string hint) => g.Node("MatMul", [g.Node("MatMul", [rows, z], hint + "_rows"), columns], hint);
        string a = ToDouble(g, x), b = ToDouble(g, r);
        string muA = Blur(a, "ssim_mu_x"), muB = Blur(b, "ssim_mu_r");
        string sAA = Blur(g.Node("Mul", [a, a], "ssim_xx"), "ssim_e_xx");
        string sBB = Blur(g.Node("Mul", [b, b], "ssim_rr"), "ssim_e_rr");
        string sAB = Blur(g.Node("Mul", [a, b], "ssim_xr"), "ssim_e_xr");
        string muAA = g.Node("Mul", [muA, muA], "ssim_mu_xx"), muBB = g.Node("Mul", [muB, muB], "ssim_mu_rr"), muAB = g.Node("Mul", [muA, muB], "ssim_mu_xr");
        string va = g.Node("Sub", [sAA, muAA], "ssim_var_x"), vb = g.Node("Sub", [sBB, muBB], "ssim_var_r"), cov = g.Node("Sub", [sAB, muAB], "ssim_cov");
        string two = g.Scalar("ssim_two", 2.0), c1 = g.Scalar("ssim_c1", C1), c2 = g.Scalar("ssim_c2", C2);
        string left = g.Node("Add", [g.Node("Mul", [two, muAB], "ssim_2mu"), c1], "ssim_luminance_num");
        string right = g.Node("Add", [g.Node("Mul", [two, cov], "ssim_2cov"), c2], "ssim_contrast_num");
        string bottomLeft = g.Node("Add", [g.Node("Add", [muAA, muBB], "ssim_mu_sq"), c1], "ssim_luminance_den");
        string bottomRight = g.Node("Add", [g.Node("Add", [va, vb], "ssim_var_sum"), c2], "ssim_contrast_den");
        string map = g.Node("Div", [g.Node("Mul", [left, right], "ssim_num"), g.Node("Mul", [bottomLeft, bottomRight], "ssim_den")], "ssim_map_channels");
        string one = g.Scalar("ssim_one", 1.0);
        string score = g.Node("Sub", [one, Mean(g, map, [1, 2, 3], "ssim_mean")], "ssim_score_double");
        // The map: 1 - SSIM averaged over channels at the (H - 10) x (W - 10) window centres, NaN on the 5-pixel border.
        string centres = g.Node("Sub", [one, Mean(g, map, [1], "ssim_map_mean")], "ssim_map_centres");
        int border = SsimWindow / 2;
        string pads = g.Constant("ssim_map_pads", new long[] { 0, border, border, 0, border, border }, 6);
        string padded = g.Node("Pad", [centres, pads, g.Scalar("ssim_map_nan", double.NaN)], "ssim_map_padded", ("mode", "constant"));
        return (ToFloat(g, score, "ssim_score"), ToFloat(g, padded, "ssim_map"));
    }

    private static (string, string) Smoothed(OnnxGraph g, string x, string r, ImageShape shape)
    {
        int h = shape.Height, w = shape.Width, pad = SmoothWindow / 2;
        double[] kernel = Scores.Gaussian(SmoothWindow, SmoothSigma);
        // Zero padding: the same-size blur is a banded (H, H) matrix whose rows are cut at the edges.
        string rows = g.Constant("smoothed_rows", Banded(h, h, kernel, -pad), h, h);
        string columns = g.Constant("smoothed_columns", Transpose(Banded(w, w, kernel, -pad), w, w), w, w);
        string d = ToDouble(g, g.Node("Sub", [x, r], "smoothed_residual"));
        string blurred = g.Node("MatMul", [g.Node("MatMul", [rows, d], "smoothed_blur_rows"), columns], "smoothed_blur");
        string squares = g.Node("Mul", [blurred, blurred], "smoothed_squares");
        return (ToFloat(g, Mean(g, squares, [1, 2, 3], "smoothed_mean"), "smoothed_score"), ToFloat(g, Mean(g, squares, [1], "smoothed_map_mean"), "smoothed_map"));
    }

    // combined: the base scores as Scores computes them (float), each ln(max(s, 1e-12)) standardised in double with the
    // model's calibration, averaged, clipped and exponentiated, as ScoreCalibration.Combine does; the map is smoothed's.
    private static (string, string) Combined(OnnxGraph g, string x, string r, ImageShape shape, ScoreCalibration? calibration)
    {
        if (calibration is null)
            throw new ArgumentException("the combined score needs the model's calibration (score_calibration), and this model file has none; train with --score combined, or export with another --score");
        string? sum = null, smoothedMap = null;
        for (int k = 0; k < calibration.Bases.Count; k++)
        {
            BaseStatistics b = calibration.Bases[k];
            (string baseScore, string map) = b.Kind switch
            {
                ScoreKind.Ssim => Ssim(g, x, r, shape),
                ScoreKind.Smoothed => Smoothed(g, x, r, shape),
                _ => throw new NotSupportedException($"the combined score's base {Scores.Name(b.Kind)} has no graph"),
            };
            if (b.Kind == ScoreKind.Smoothed) smoothedMap = map;
            string name = "combined_" + Scores.Name(b.Kind);
            string log = g.Node("Log", [g.Node("Max", [ToDouble(g, baseScore), g.Scalar(name + "_floor", ScoreCalibration.Floor)], name + "_floored")], name + "_log");
            string z = g.Node("Div", [g.Node("Sub", [log, g.Scalar(name + "_mean", b.LogMean)], name + "_centred"), g.Scalar(name + "_std", b.LogStd)], name + "_z");
            sum = sum is null ? z : g.Node("Add", [sum, z], name + "_sum");
        }
        string mean = g.Node("Div", [sum!, g.Scalar("combined_count", (double)calibration.Bases.Count)], "combined_mean");
        string clipped = g.Node("Clip", [mean, g.Scalar("combined_min", -ScoreCalibration.MaxExponent), g.Scalar("combined_max", ScoreCalibration.MaxExponent)], "combined_clipped");
        string score = ToFloat(g, g.Node("Exp", [clipped], "combined_exp"), "combined_score");
        return (score, smoothedMap ?? throw new NotSupportedException("the combined score's map is smoothed's, and its calibration has no smoothed base"));
    }

    private static string Mean(OnnxGraph g, string value, long[] axes, string name) =>
        g.Node("ReduceMean", [value], name, ("axes", axes), ("keepdims", 0L));

    private static string ToDouble(OnnxGraph g, string value) => g.Node("Cast", [value], value + "_f64", ("to", (long)ElementType.Double));

    private static string ToFloat(OnnxGraph g, string value, string name) => g.Node("Cast", [value], name, ("to", (long)ElementType.Float));

    /// <summary>
    /// A (rows, columns) matrix M with M[i, i + j + offset] = kernel[j] where that column exists: M·z correlates each
    /// column of z with the kernel (offset 0: "valid" positions; offset -K/2: "same" size with zero padding).
    /// </summary>
    internal static double[] Banded(int rows, int columns, double[] kernel, int offset)
    {
        var m = new double[rows * columns];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < kernel.Length; j++)
            {
                int c = i + j + offset;
                if (c >= 0 && c < columns) m[i * columns + c] = kernel[j];
            }
        return m;
    }

    private static double[] Transpose(double[] m, int rows, int columns)
    {
        var t = new double[m.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++) t[j * rows + i] = m[i * columns + j];
        return t;
    }
}
