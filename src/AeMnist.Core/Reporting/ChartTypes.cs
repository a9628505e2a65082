// The inputs of the charts: plain records of numbers and names, no drawing state; and the palette they share.
using ScottPlot;

namespace AeMnist.Reporting;

/// <summary>A curve with the area under it (ROC with AUROC, precision-recall with average precision).</summary>
public sealed record AreaCurve(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, double Area);

/// <summary>Where the chosen threshold puts the classifier on a curve, e.g. (false positive rate, true positive rate).</summary>
public sealed record OperatingPoint(double X, double Y, double Threshold);

/// <summary>One run's losses for a loss chart; <see cref="BestEpoch"/> is the early-stopping point (the weights kept).</summary>
public sealed record LossCurves(string Name, IReadOnlyList<HistoryRow> History, string MonitorName, int? BestEpoch);

/// <summary>
/// Latent codes of test digits projected onto their first two principal components (<see cref="Pca"/>), with each
/// point's digit; <see cref="Explained"/> is the share of the codes' variance each component carries.
/// </summary>
public sealed record LatentProjection(double[] X, double[] Y, byte[] Labels, double[] Explained, int Dimensions, int NormalDigit);

/// <summary>
/// The colour-blind-safe Okabe-Ito palette (blue, vermillion, bluish green, reddish purple, orange, sky blue, black;
/// yellow left out, unreadable on white), and ten distinct colours for the digits of the latent projection.
/// </summary>
public static class Palette
{
    public static readonly IReadOnlyList<Color> Colours =
        [.. new[] { "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000" }.Select(Color.FromHex)];

    public static Color Colour(int index) => Colours[((index % Colours.Count) + Colours.Count) % Colours.Count];

    /// <summary>Ten colours for digits 0-9 (Tableau's Category10, as matplotlib's default cycle).</summary>
    public static Color Digit(int digit) => new ScottPlot.Palettes.Category10().GetColor(digit);

    public static readonly Color Reference = Color.FromHex("#8A8A8A");
}
