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
/// Latent codes of test images projected onto their first two principal components (<see cref="Pca"/>), with each
/// point's class (an index into <see cref="ClassNames"/>; null: MNIST's digits, named by their number);
/// <see cref="Explained"/> is the share of the codes' variance each component carries.
/// </summary>
public sealed record LatentProjection(double[] X, double[] Y, byte[] Labels, double[] Explained, int Dimensions, int Normal,
    IReadOnlyList<string>? ClassNames = null)
{
    /// <summary>The name of class <paramref name="label"/>.</summary>
    public string ClassName(int label) => ClassNames is { } names && label < names.Count ? names[label] : label.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// The colour-blind-safe Okabe-Ito palette (blue, vermillion, bluish green, reddish purple, orange, sky blue, black;
/// yellow left out, unreadable on white), and distinct colours for the classes of the latent projection.
/// </summary>
public static class Palette
{
    public static readonly IReadOnlyList<Color> Colours =
        [.. new[] { "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000" }.Select(Color.FromHex)];

    public static Color Colour(int index) => Colours[((index % Colours.Count) + Colours.Count) % Colours.Count];

    /// <summary>Ten colours for digits 0-9 (Tableau's Category10, as matplotlib's default cycle).</summary>
    public static Color Digit(int digit) => new ScottPlot.Palettes.Category10().GetColor(digit);

    /// <summary>The most classes <see cref="Class"/> tells apart: Category10's colours, then Category20's lighter ones.</summary>
    public const int DistinctClasses = 20;

    /// <summary>Colour <paramref name="index"/> of <see cref="DistinctClasses"/>: Category10 for the first ten (so digits keep theirs), then Category20's lighter shades.</summary>
    public static Color Class(int index) => index < 10 ? Digit(index) : new ScottPlot.Palettes.Category20().GetColor(2 * (index % 10) + 1);

    public static readonly Color Reference = Color.FromHex("#8A8A8A");
}
