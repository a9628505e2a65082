// The inputs of the SVG charts: plain records of numbers and names, no drawing state.
namespace AeMnist.Reporting;

/// <summary>
/// One line of a line chart. <see cref="Colour"/> and <see cref="Dash"/> pick from <see cref="Palette"/>
/// (by default the series' position among the non-reference series), so lines differ in colour and in
/// dash pattern and stay apart in grayscale. A <see cref="Reference"/> series (chance line) is thin, gray and dotted.
/// </summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y)
{
    public int? Colour { get; init; }
    public int? Dash { get; init; }

    /// <summary>Draw a glyph at every point (circle, square, diamond, triangle by series), for short series such as epochs.</summary>
    public bool ShowPoints { get; init; }

    public bool Reference { get; init; }
}

/// <summary>A vertical line at <see cref="X"/> with a label, and a ring at (X, Y) when <see cref="Y"/> is given.</summary>
public sealed record ChartMarker(double X, string Label)
{
    public double? Y { get; init; }
}

/// <summary>Options of <see cref="SvgCharts.Line"/>; ranges default to the data's, grown to nice ticks.</summary>
public sealed record LineChartOptions(string Title, string XLabel, string YLabel)
{
    public bool LogX { get; init; }
    public bool LogY { get; init; }
    public (double Min, double Max)? XRange { get; init; }
    public (double Min, double Max)? YRange { get; init; }
    public ChartMarker? Marker { get; init; }
    public int Width { get; init; } = 640;
    public int Height { get; init; } = 400;
}

/// <summary>A named sample of values for <see cref="SvgCharts.Histogram"/>.</summary>
public sealed record Distribution(string Name, IReadOnlyList<double> Values);

/// <summary>
/// Options of <see cref="SvgCharts.Histogram"/>. Bars show each distribution's share of its own count
/// per bin, so a small group is as visible as a large one; the exact counts are in the data-count attributes.
/// </summary>
public sealed record HistogramOptions(string Title, string XLabel)
{
    public string YLabel { get; init; } = "share of group (%)";
    public int Bins { get; init; } = 40;

    /// <summary>Bins equally wide in log10(x); values at or below zero fall into the first bin.</summary>
    public bool LogX { get; init; }

    public double? Threshold { get; init; }
    public string ThresholdLabel { get; init; } = "threshold";
    public int Width { get; init; } = 640;
    public int Height { get; init; } = 400;
}

/// <summary>A bar of <see cref="SvgCharts.Bars"/>; <see cref="Group"/> picks its colour and legend entry.</summary>
public sealed record Bar(string Label, double Value, int Group = 0)
{
    /// <summary>Text above the bar; by default the value with up to one decimal.</summary>
    public string? ValueLabel { get; init; }
}

/// <summary>Options of <see cref="SvgCharts.Bars"/>; <see cref="GroupNames"/> become the legend when there are several.</summary>
public sealed record BarChartOptions(string Title, string XLabel, string YLabel)
{
    public IReadOnlyList<string> GroupNames { get; init; } = [];
    public (double Min, double Max)? YRange { get; init; }
    public int Width { get; init; } = 640;
    public int Height { get; init; } = 360;
}

/// <summary>A curve with the area under it (ROC with AUROC, precision-recall with average precision).</summary>
public sealed record AreaCurve(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, double Area);

/// <summary>The colour-blind-safe Okabe-Ito palette, and dash patterns so series also differ in grayscale.</summary>
public static class Palette
{
    /// <summary>Blue, vermillion, bluish green, reddish purple, orange, sky blue, black (yellow left out: unreadable on white).</summary>
    public static readonly IReadOnlyList<string> Colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];

    /// <summary>SVG stroke-dasharray values; the first is solid.</summary>
    public static readonly IReadOnlyList<string> Dashes = ["", "7 4", "2 3", "10 3 2 3", "4 2", "1 2"];

    public static string Colour(int index) => Colours[((index % Colours.Count) + Colours.Count) % Colours.Count];

    public static string Dash(int index) => Dashes[((index % Dashes.Count) + Dashes.Count) % Dashes.Count];
}
