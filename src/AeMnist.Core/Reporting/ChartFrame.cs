// The common layout of the x-y charts: title, legend rows under it, plot area, grid, ticks and axis labels.
// Sizes come from estimated text widths, so long tick labels and legends push the plot area instead of overlapping it.
namespace AeMnist.Reporting;

internal enum SwatchKind { Line, Box, Reference }

internal sealed record LegendItem(string Name, string Colour, string Dash, SwatchKind Kind, int Glyph = -1);

internal sealed class ChartFrame
{
    public const double TitleSize = 15, LabelSize = 13, TickSize = 11.5, LegendSize = 12, LegendRow = 18;

    public double Width { get; }
    public double Height { get; }
    public double Left { get; }
    public double Top { get; }
    public double Right { get; }
    public double Bottom { get; }
    public AxisTicks? XTicks { get; }
    public AxisTicks YTicks { get; }

    private readonly string _title, _xLabel, _yLabel;
    private readonly IReadOnlyList<LegendItem> _legend;
    private readonly List<(double X, double Y, LegendItem Item)> _legendPlaces = [];
    private readonly Func<double, string> _yLabelOf;

    // xTicks is null for a categorical x axis whose labels the chart draws itself.
    public ChartFrame(double width, double height, string title, string xLabel, string yLabel,
        AxisTicks? xTicks, AxisTicks yTicks, IReadOnlyList<LegendItem> legend)
    {
        (Width, Height, _title, _xLabel, _yLabel, XTicks, YTicks, _legend) = (width, height, title, xLabel, yLabel, xTicks, yTicks, legend);
        _yLabelOf = yTicks.Label;

        double yTickWidth = yTicks.Values.Select(v => SvgBuilder.TextWidth(_yLabelOf(v), TickSize)).DefaultIfEmpty(0).Max();
        Left = 10 + LabelSize + 8 + yTickWidth + 8;
        double lastXLabel = xTicks is { Values.Count: > 0 } ? SvgBuilder.TextWidth(xTicks.Label(xTicks.Values[^1]), TickSize) : 0;
        Right = width - Math.Max(18, lastXLabel / 2 + 6);
        Bottom = height - 48;

        // Legend rows between the title and the plot, wrapped to the plot's width.
        double x = Left, y = 44;
        int rows = legend.Count > 1 ? 1 : 0;
        if (legend.Count > 1)
        {
            foreach (var item in legend)
            {
                double w = 30 + SvgBuilder.TextWidth(item.Name, LegendSize) + 18;
                if (x > Left && x + w > width - 10)
                {
                    x = Left;
                    y += LegendRow;
                    rows++;
                }
                _legendPlaces.Add((x, y, item));
                x += w;
            }
        }
        Top = 36 + rows * LegendRow + 10;
    }

    public double PlotWidth => Right - Left;
    public double PlotHeight => Bottom - Top;

    public double X(double v) => XTicks is null ? throw new InvalidOperationException("Categorical x axis.") : Map(v, XTicks, Left, Right);

    public double Y(double v) => Map(v, YTicks, Bottom, Top);

    private static double Map(double v, AxisTicks axis, double p0, double p1)
    {
        double t;
        if (axis.Log)
        {
            double lv = Math.Log10(Math.Max(v, axis.Min));
            t = (lv - Math.Log10(axis.Min)) / (Math.Log10(axis.Max) - Math.Log10(axis.Min));
        }
        else
        {
            t = (v - axis.Min) / (axis.Max - axis.Min);
        }
        return p0 + t * (p1 - p0);
    }

    /// <summary>Title, legend, grid, the plot area's frame with its domain as data attributes, ticks and axis labels.</summary>
    public void DrawBackground(SvgBuilder svg)
    {
        double titleSize = TitleSize;
        while (titleSize > 10 && SvgBuilder.TextWidth(_title, titleSize) > Width - 20) titleSize -= 0.5;
        svg.Text(Width / 2, 24, _title, titleSize, "middle", "title", weight: "bold");

        DrawLegend(svg);

        svg.Begin("g", ("class", "grid"));
        foreach (double v in YTicks.Values) svg.Line(Left, Y(v), Right, Y(v), "#e3e3e3");
        if (XTicks is not null)
            foreach (double v in XTicks.Values) svg.Line(X(v), Top, X(v), Bottom, "#e3e3e3");
        svg.End("g");

        svg.Element("rect", ("class", "plot-area"), ("x", SvgBuilder.Num(Left)), ("y", SvgBuilder.Num(Top)),
            ("width", SvgBuilder.Num(PlotWidth)), ("height", SvgBuilder.Num(PlotHeight)), ("fill", "none"), ("stroke", "#888888"),
            ("data-x-min", XTicks is null ? null : SvgBuilder.Data(XTicks.Min)), ("data-x-max", XTicks is null ? null : SvgBuilder.Data(XTicks.Max)),
            ("data-x-scale", XTicks is null ? "category" : XTicks.Log ? "log" : "linear"),
            ("data-y-min", SvgBuilder.Data(YTicks.Min)), ("data-y-max", SvgBuilder.Data(YTicks.Max)), ("data-y-scale", YTicks.Log ? "log" : "linear"));

        svg.Begin("g", ("class", "y-ticks"));
        foreach (double v in YTicks.Values)
        {
            svg.Line(Left - 4, Y(v), Left, Y(v), "#555555");
            svg.Text(Left - 7, Y(v) + 4, _yLabelOf(v), TickSize, "end", "tick-label", extra: ("data-value", SvgBuilder.Data(v)));
        }
        svg.End("g");

        if (XTicks is not null)
        {
            // Thin out labels that would collide; every tick keeps its grid line.
            double maxLabel = XTicks.Values.Select(v => SvgBuilder.TextWidth(XTicks.Label(v), TickSize)).DefaultIfEmpty(0).Max();
            double spacing = XTicks.Values.Count > 1
                ? XTicks.Values.Zip(XTicks.Values.Skip(1), (a, b) => Math.Abs(X(b) - X(a))).Min()
                : double.PositiveInfinity;
            int every = Math.Max(1, (int)Math.Ceiling((maxLabel + 8) / spacing));
            svg.Begin("g", ("class", "x-ticks"));
            for (int i = 0; i < XTicks.Values.Count; i++)
            {
                double v = XTicks.Values[i];
                svg.Line(X(v), Bottom, X(v), Bottom + 4, "#555555");
                if (i % every == 0)
                    svg.Text(X(v), Bottom + 17, XTicks.Label(v), TickSize, "middle", "tick-label", extra: ("data-value", SvgBuilder.Data(v)));
            }
            svg.End("g");
        }

        svg.Text((Left + Right) / 2, Height - 10, _xLabel, LabelSize, "middle", "x-label");
        svg.Text(10 + LabelSize, (Top + Bottom) / 2, _yLabel, LabelSize, "middle", "y-label", rotate: -90);
    }

    private void DrawLegend(SvgBuilder svg)
    {
        if (_legendPlaces.Count == 0) return;
        svg.Begin("g", ("class", "legend"));
        foreach (var (x, y, item) in _legendPlaces)
        {
            svg.Begin("g", ("class", "legend-item"), ("data-name", item.Name));
            double mid = y - 4;
            switch (item.Kind)
            {
                case SwatchKind.Box:
                    svg.Element("rect", ("x", SvgBuilder.Num(x)), ("y", SvgBuilder.Num(mid - 6)), ("width", "24"), ("height", "12"),
                        ("fill", item.Colour), ("fill-opacity", "0.35"), ("stroke", item.Colour), ("stroke-width", "2"),
                        ("stroke-dasharray", item.Dash == "" ? null : item.Dash));
                    break;
                case SwatchKind.Reference:
                    svg.Line(x, mid, x + 24, mid, ReferenceColour, 1.5, ReferenceDash);
                    break;
                default:
                    svg.Line(x, mid, x + 24, mid, item.Colour, 2.5, item.Dash);
                    if (item.Glyph >= 0) Glyph(svg, x + 12, mid, item.Glyph, item.Colour);
                    break;
            }
            svg.Text(x + 30, y, item.Name, LegendSize);
            svg.End("g");
        }
        svg.End("g");
    }

    public const string ReferenceColour = "#777777", ReferenceDash = "3 3";

    /// <summary>Point glyphs that differ in shape, not only colour: circle, square, diamond, triangle.</summary>
    public static void Glyph(SvgBuilder svg, double x, double y, int kind, string colour)
    {
        string n(double v) => SvgBuilder.Num(v);
        const double r = 3.2;
        switch (kind % 4)
        {
            case 0:
                svg.Element("circle", ("cx", n(x)), ("cy", n(y)), ("r", n(r)), ("fill", colour));
                break;
            case 1:
                svg.Element("rect", ("x", n(x - r)), ("y", n(y - r)), ("width", n(2 * r)), ("height", n(2 * r)), ("fill", colour));
                break;
            case 2:
                svg.Element("polygon", ("points", $"{n(x)},{n(y - r - 1)} {n(x + r + 1)},{n(y)} {n(x)},{n(y + r + 1)} {n(x - r - 1)},{n(y)}"), ("fill", colour));
                break;
            default:
                svg.Element("polygon", ("points", $"{n(x)},{n(y - r - 1)} {n(x + r + 1)},{n(y + r)} {n(x - r - 1)},{n(y + r)}"), ("fill", colour));
                break;
        }
    }
}
