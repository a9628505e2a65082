// Standalone SVG charts for the report: line charts (loss, ROC, PR, F1), overlaid histograms, bars and a
// confusion matrix. Plotted data is readable back from the markup (class and data-* attributes) for tests.
using System.Globalization;

namespace AeMnist.Reporting;

/// <summary>
/// Each method returns one standalone SVG document (fixed viewBox, invariant culture, escaped text).
/// Readable markers: <c>rect.plot-area</c> carries the axis domains, <c>polyline.series[data-name]</c> the
/// lines, <c>rect.bar[data-count|data-value]</c> the bars, <c>rect.cell[data-count]</c> the matrix cells,
/// <c>text.tick-label[data-value]</c> the ticks, <c>line.marker[data-x]</c> a marked x.
/// </summary>
public static class SvgCharts
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A line chart of several series with an optional vertical marker and log axes.</summary>
    public static string Line(LineChartOptions options, IReadOnlyList<Series> series)
    {
        foreach (var s in series)
            if (s.X.Count != s.Y.Count) throw new ArgumentException($"Series '{s.Name}' has {s.X.Count} x values and {s.Y.Count} y values.", nameof(series));

        bool Usable(double v, bool log) => double.IsFinite(v) && (!log || v > 0);
        var xs = series.SelectMany(s => s.X).Where(v => Usable(v, options.LogX)).ToList();
        var ys = series.SelectMany(s => s.Y).Where(v => Usable(v, options.LogY)).ToList();
        if (options.Marker is { } m)
        {
            if (Usable(m.X, options.LogX)) xs.Add(m.X);
            if (m.Y is double my && Usable(my, options.LogY)) ys.Add(my);
        }
        AxisTicks xAxis = Axis(options.XRange, xs, options.LogX, maxTicks: 8);
        AxisTicks yAxis = Axis(options.YRange, ys, options.LogY, maxTicks: 6);

        var legend = new List<LegendItem>();
        var styled = new List<(Series S, string Colour, string Dash, int Glyph)>();
        int position = 0;
        foreach (var s in series)
        {
            if (s.Reference)
            {
                legend.Add(new LegendItem(s.Name, ChartFrame.ReferenceColour, ChartFrame.ReferenceDash, SwatchKind.Reference));
                continue;
            }
            int colour = s.Colour ?? position, dash = s.Dash ?? position;
            int glyph = s.ShowPoints ? colour : -1;
            styled.Add((s, Palette.Colour(colour), Palette.Dash(dash), glyph));
            legend.Add(new LegendItem(s.Name, Palette.Colour(colour), Palette.Dash(dash), SwatchKind.Line, glyph));
            position++;
        }
        // Lines first in the legend, reference lines after them.
        legend = [.. legend.Where(l => l.Kind != SwatchKind.Reference), .. legend.Where(l => l.Kind == SwatchKind.Reference)];

        var frame = new ChartFrame(options.Width, options.Height, options.Title, options.XLabel, options.YLabel, xAxis, yAxis, legend);
        var svg = new SvgBuilder(options.Width, options.Height, options.Title);
        frame.DrawBackground(svg);

        foreach (var s in series.Where(s => s.Reference))
            Polyline(svg, frame, s, ChartFrame.ReferenceColour, ChartFrame.ReferenceDash, 1.5, "reference", options);
        foreach (var (s, colour, dash, glyph) in styled)
        {
            Polyline(svg, frame, s, colour, dash, 2.25, "series", options);
            if (glyph >= 0)
            {
                svg.Begin("g", ("class", "points"), ("data-name", s.Name));
                for (int i = 0; i < s.X.Count; i++)
                    if (Usable(s.X[i], options.LogX) && Usable(s.Y[i], options.LogY))
                        ChartFrame.Glyph(svg, frame.X(s.X[i]), frame.Y(s.Y[i]), glyph, colour);
                svg.End("g");
            }
        }
        if (options.Marker is { } marker && Usable(marker.X, options.LogX)) DrawMarker(svg, frame, marker);
        return svg.Finish();
    }

    private static AxisTicks Axis((double Min, double Max)? range, List<double> values, bool log, int maxTicks)
    {
        if (range is var (lo, hi))
            return log ? Ticks.Log(lo, hi) : Ticks.Linear(lo, hi, maxTicks, expand: false);
        if (values.Count == 0) return log ? Ticks.Log(0.1, 1) : Ticks.Linear(0, 1, maxTicks);
        return log ? Ticks.Log(values.Min(), values.Max()) : Ticks.Linear(values.Min(), values.Max(), maxTicks);
    }

    private static void Polyline(SvgBuilder svg, ChartFrame frame, Series s, string colour, string dash, double width, string cls, LineChartOptions o)
    {
        var pixels = new List<(double X, double Y)>();
        for (int i = 0; i < s.X.Count; i++)
        {
            double x = s.X[i], y = s.Y[i];
            if (!double.IsFinite(x) || !double.IsFinite(y) || (o.LogX && x <= 0) || (o.LogY && y <= 0)) continue;
            pixels.Add((frame.X(x), frame.Y(y)));
        }
        var kept = Decimate(pixels);
        svg.Element("polyline", ("class", cls), ("data-name", s.Name),
            ("points", string.Join(" ", kept.Select(p => $"{SvgBuilder.Num(p.X)},{SvgBuilder.Num(p.Y)}"))),
            ("fill", "none"), ("stroke", colour), ("stroke-width", SvgBuilder.Num(width)),
            ("stroke-dasharray", dash == "" ? null : dash), ("stroke-linejoin", "round"), ("stroke-linecap", "round"));
    }

    /// <summary>
    /// Drops points closer than 0.75 px to the last kept one (a 10,000-point ROC curve draws the same with a
    /// few hundred); the first and last points are always kept.
    /// </summary>
    internal static List<(double X, double Y)> Decimate(List<(double X, double Y)> points)
    {
        if (points.Count <= 2) return points;
        var kept = new List<(double X, double Y)> { points[0] };
        for (int i = 1; i < points.Count - 1; i++)
        {
            var (px, py) = kept[^1];
            double dx = points[i].X - px, dy = points[i].Y - py;
            if (dx * dx + dy * dy >= 0.75 * 0.75) kept.Add(points[i]);
        }
        kept.Add(points[^1]);
        return kept;
    }

    private static void DrawMarker(SvgBuilder svg, ChartFrame frame, ChartMarker marker)
    {
        double x = frame.X(marker.X);
        svg.Begin("g", ("class", "marker-group"));
        svg.Element("line", ("class", "marker"), ("data-x", SvgBuilder.Data(marker.X)), ("x1", SvgBuilder.Num(x)), ("y1", SvgBuilder.Num(frame.Top)),
            ("x2", SvgBuilder.Num(x)), ("y2", SvgBuilder.Num(frame.Bottom)), ("stroke", "#000000"), ("stroke-width", "1.5"), ("stroke-dasharray", "6 3"));
        if (marker.Y is double y && double.IsFinite(y))
            svg.Element("circle", ("class", "marker-point"), ("cx", SvgBuilder.Num(x)), ("cy", SvgBuilder.Num(frame.Y(y))), ("r", "5.5"),
                ("fill", "none"), ("stroke", "#000000"), ("stroke-width", "2"));
        double width = SvgBuilder.TextWidth(marker.Label, 12) + 8;
        bool right = x + 6 + width <= frame.Right;
        double textX = right ? x + 6 : x - 6;
        double boxX = right ? textX - 3 : textX - width + 3;
        // The label goes at the top, unless the marked point is up there (a peak of F1): then at the bottom.
        bool high = marker.Y is double my && double.IsFinite(my) && frame.Y(my) < frame.Top + 0.3 * frame.PlotHeight;
        double boxY = high ? frame.Bottom - 21 : frame.Top + 4;
        svg.Element("rect", ("x", SvgBuilder.Num(boxX)), ("y", SvgBuilder.Num(boxY)), ("width", SvgBuilder.Num(width)), ("height", "17"),
            ("fill", "#ffffff"), ("fill-opacity", "0.85"));
        svg.Text(textX, boxY + 13, marker.Label, 12, right ? "start" : "end", "marker-label", weight: "bold");
        svg.End("g");
    }

    private static string F3OrNa(double v) => double.IsFinite(v) ? v.ToString("F3", Inv) : "n/a";

    /// <summary>ROC curves (false positive rate against true positive rate) with the chance diagonal; areas in the legend.</summary>
    public static string Roc(IReadOnlyList<AreaCurve> curves, string title = "ROC curve")
    {
        if (curves.Count == 1) title += $" (AUROC {F3OrNa(curves[0].Area)})";
        List<Series> series = [.. curves.Select(c => new Series($"{c.Name} (AUROC {F3OrNa(c.Area)})", c.X, c.Y))];
        series.Add(new Series("chance", [0.0, 1.0], [0.0, 1.0]) { Reference = true });
        return Line(new LineChartOptions(title, "false positive rate", "true positive rate")
        {
            XRange = (0, 1), YRange = (0, 1), Width = 500, Height = 460,
        }, series);
    }

    /// <summary>Precision against recall, with the chance level (the share of positives) when <paramref name="prevalence"/> is given.</summary>
    public static string PrecisionRecall(IReadOnlyList<AreaCurve> curves, double? prevalence = null, string title = "Precision-recall curve")
    {
        if (curves.Count == 1) title += $" (AP {F3OrNa(curves[0].Area)})";
        List<Series> series = [.. curves.Select(c => new Series($"{c.Name} (AP {F3OrNa(c.Area)})", c.X, c.Y))];
        if (prevalence is double p)
            series.Add(new Series($"chance ({p.ToString("0.###", Inv)})", [0.0, 1.0], [p, p]) { Reference = true });
        return Line(new LineChartOptions(title, "recall", "precision")
        {
            XRange = (0, 1), YRange = (0, 1), Width = 500, Height = 460,
        }, series);
    }

    /// <summary>F1 against the decision threshold, with the chosen threshold marked on the curve.</summary>
    public static string F1VsThreshold(IReadOnlyList<double> thresholds, IReadOnlyList<double> f1, double chosen, double chosenF1, bool logX,
        string title = "F1 score against threshold")
    {
        var series = new Series("F1 (anomaly positive)", thresholds, f1);
        string label = $"chosen {chosen.ToString("G3", Inv)}, F1 {F3OrNa(chosenF1)}";
        return Line(new LineChartOptions(title, logX ? "threshold on reconstruction error (log scale)" : "threshold on reconstruction error", "F1")
        {
            LogX = logX, YRange = (0, 1), Marker = new ChartMarker(chosen, label) { Y = chosenF1 },
        }, [series]);
    }

    /// <summary>
    /// Distributions overlaid on shared bins: per bin, each distribution's share of its own count, drawn as a
    /// translucent bar and an outline (solid, dashed, ...), with an optional threshold line.
    /// </summary>
    public static string Histogram(HistogramOptions options, IReadOnlyList<Distribution> distributions)
    {
        var (bins, xAxis) = Bins.Shared(distributions.Select(d => d.Values), options.Bins, options.LogX, options.Threshold);
        var counts = distributions.Select(d => bins.CountValues(d.Values)).ToList();
        var totals = counts.Select(c => c.Sum()).ToList();
        double maxShare = 0;
        for (int d = 0; d < counts.Count; d++)
            if (totals[d] > 0) maxShare = Math.Max(maxShare, counts[d].Max() / (double)totals[d]);
        AxisTicks yAxis = Ticks.Linear(0, Math.Max(maxShare * 100, 1), 6);

        var legend = distributions.Select((d, i) => new LegendItem(
            $"{d.Name} (n = {totals[i].ToString("N0", Inv)})", Palette.Colour(i), Palette.Dash(i), SwatchKind.Box)).ToList();
        var frame = new ChartFrame(options.Width, options.Height, options.Title, options.XLabel, options.YLabel, xAxis, yAxis, legend);
        var svg = new SvgBuilder(options.Width, options.Height, options.Title);
        frame.DrawBackground(svg);

        for (int d = 0; d < distributions.Count; d++)
        {
            svg.Begin("g", ("class", "bars"), ("data-name", distributions[d].Name), ("data-total", totals[d].ToString(Inv)));
            for (int b = 0; b < bins.Count; b++)
            {
                if (counts[d][b] == 0) continue;
                double share = 100.0 * counts[d][b] / totals[d];
                double x0 = frame.X(bins.Edges[b]), x1 = frame.X(bins.Edges[b + 1]), y = frame.Y(share);
                svg.Element("rect", ("class", "bar"), ("data-count", counts[d][b].ToString(Inv)),
                    ("data-lo", SvgBuilder.Data(bins.Edges[b])), ("data-hi", SvgBuilder.Data(bins.Edges[b + 1])),
                    ("x", SvgBuilder.Num(x0)), ("y", SvgBuilder.Num(y)), ("width", SvgBuilder.Num(x1 - x0)), ("height", SvgBuilder.Num(frame.Bottom - y)),
                    ("fill", Palette.Colour(d)), ("fill-opacity", "0.35"));
            }
            svg.End("g");
        }
        for (int d = 0; d < distributions.Count; d++)
        {
            if (totals[d] == 0) continue;
            // The outline of the bars as one step path from the first to the last non-empty bin, so
            // overlapping distributions stay apart in grayscale.
            int first = Array.FindIndex(counts[d], c => c > 0), last = Array.FindLastIndex(counts[d], c => c > 0);
            var path = new System.Text.StringBuilder($"M{SvgBuilder.Num(frame.X(bins.Edges[first]))},{SvgBuilder.Num(frame.Bottom)}");
            for (int b = first; b <= last; b++)
            {
                double y = frame.Y(100.0 * counts[d][b] / totals[d]);
                path.Append($" L{SvgBuilder.Num(frame.X(bins.Edges[b]))},{SvgBuilder.Num(y)} L{SvgBuilder.Num(frame.X(bins.Edges[b + 1]))},{SvgBuilder.Num(y)}");
            }
            path.Append($" L{SvgBuilder.Num(frame.X(bins.Edges[last + 1]))},{SvgBuilder.Num(frame.Bottom)}");
            svg.Element("path", ("class", "outline"), ("data-name", distributions[d].Name), ("d", path.ToString()), ("fill", "none"),
                ("stroke", Palette.Colour(d)), ("stroke-width", "2"), ("stroke-dasharray", Palette.Dash(d) == "" ? null : Palette.Dash(d)),
                ("stroke-linejoin", "round"));
        }
        if (options.Threshold is double t && double.IsFinite(t))
            DrawMarker(svg, frame, new ChartMarker(t, $"{options.ThresholdLabel} {t.ToString("G3", Inv)}"));
        return svg.Finish();
    }

    /// <summary>A bar per category with its value above it; groups differ in colour and fill strength, with a legend.</summary>
    public static string Bars(BarChartOptions options, IReadOnlyList<Bar> bars)
    {
        double max = bars.Select(b => b.Value).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        AxisTicks yAxis = options.YRange is var (lo, hi) ? Ticks.Linear(lo, hi, 6, expand: false) : Ticks.Linear(0, Math.Max(max, 1e-9), 6);
        var groups = bars.Select(b => b.Group).Distinct().Order().ToList();
        var legend = groups.Count > 1
            ? groups.Select(g => new LegendItem(g < options.GroupNames.Count ? options.GroupNames[g] : $"group {g}", Palette.Colour(g), Palette.Dash(g), SwatchKind.Box)).ToList()
            : [];
        var frame = new ChartFrame(options.Width, options.Height, options.Title, options.XLabel, options.YLabel, null, yAxis, legend);
        var svg = new SvgBuilder(options.Width, options.Height, options.Title);
        frame.DrawBackground(svg);

        double slot = frame.PlotWidth / Math.Max(1, bars.Count);
        svg.Begin("g", ("class", "bars"));
        for (int i = 0; i < bars.Count; i++)
        {
            var bar = bars[i];
            double cx = frame.Left + (i + 0.5) * slot, w = slot * 0.7;
            double value = double.IsFinite(bar.Value) ? bar.Value : 0;
            double y = frame.Y(Math.Clamp(value, yAxis.Min, yAxis.Max)), yBase = frame.Y(Math.Clamp(0, yAxis.Min, yAxis.Max));
            string colour = Palette.Colour(bar.Group);
            svg.Element("rect", ("class", "bar"), ("data-label", bar.Label), ("data-value", SvgBuilder.Data(bar.Value)), ("data-group", bar.Group.ToString(Inv)),
                ("x", SvgBuilder.Num(cx - w / 2)), ("y", SvgBuilder.Num(Math.Min(y, yBase))), ("width", SvgBuilder.Num(w)), ("height", SvgBuilder.Num(Math.Abs(yBase - y))),
                ("fill", colour), ("fill-opacity", bar.Group == 0 ? "0.85" : "0.35"), ("stroke", colour), ("stroke-width", "1.5"),
                ("stroke-dasharray", Palette.Dash(bar.Group) == "" ? null : Palette.Dash(bar.Group)));
            string valueLabel = bar.ValueLabel ?? bar.Value.ToString("0.#", Inv);
            svg.Text(cx, Math.Min(y, yBase) - 4, valueLabel, 11, "middle", "value-label");
            svg.Text(cx, frame.Bottom + 17, bar.Label, ChartFrame.TickSize, "middle", "category-label");
        }
        svg.End("g");
        return svg.Finish();
    }

    /// <summary>
    /// The 2×2 confusion matrix (rows: actual, columns: predicted) with counts; cell shade is the share of its row.
    /// </summary>
    public static string ConfusionMatrix(long truePositives, long falsePositives, long trueNegatives, long falseNegatives,
        string title = "Confusion matrix", string negative = "normal", string positive = "anomaly")
    {
        const double width = 440, height = 360, cellW = 140, cellH = 100, left = 150, top = 100;
        var svg = new SvgBuilder(width, height, title);
        svg.Text(width / 2, 24, title, ChartFrame.TitleSize, "middle", "title", weight: "bold");
        svg.Text(left + cellW, top - 38, "Predicted", ChartFrame.LabelSize, "middle", "x-label", weight: "bold");
        svg.Text(left - 92, top + cellH, "Actual", ChartFrame.LabelSize, "middle", "y-label", weight: "bold", rotate: -90);
        string[] names = [negative, positive];
        for (int i = 0; i < 2; i++)
        {
            svg.Text(left + (i + 0.5) * cellW, top - 12, names[i], ChartFrame.LabelSize, "middle", "category-label");
            svg.Text(left - 10, top + (i + 0.5) * cellH + 4, names[i], ChartFrame.LabelSize, "end", "category-label");
        }

        (string Short, long Count)[,] cells = { { ("TN", trueNegatives), ("FP", falsePositives) }, { ("FN", falseNegatives), ("TP", truePositives) } };
        for (int r = 0; r < 2; r++)
        {
            long rowTotal = cells[r, 0].Count + cells[r, 1].Count;
            for (int c = 0; c < 2; c++)
            {
                var (shortName, count) = cells[r, c];
                double share = rowTotal > 0 ? (double)count / rowTotal : 0;
                double x = left + c * cellW, y = top + r * cellH;
                svg.Element("rect", ("class", "cell"), ("data-actual", names[r]), ("data-predicted", names[c]), ("data-count", count.ToString(Inv)),
                    ("x", SvgBuilder.Num(x)), ("y", SvgBuilder.Num(y)), ("width", SvgBuilder.Num(cellW)), ("height", SvgBuilder.Num(cellH)),
                    ("fill", Shade(share)), ("stroke", "#ffffff"), ("stroke-width", "2"));
                string ink = share > 0.5 ? "#ffffff" : "#1a1a1a";
                svg.Text(x + cellW / 2, y + 28, shortName, 12, "middle", "cell-name", ink);
                svg.Text(x + cellW / 2, y + 58, count.ToString("N0", Inv), 24, "middle", "cell-count", ink, weight: "bold");
                svg.Text(x + cellW / 2, y + 80, $"{(100 * share).ToString("0.0", Inv)}% of actual", 11, "middle", "cell-share", ink);
            }
        }
        svg.Text(width / 2, height - 14, "Shade: share of the actual class (row)", 11, "middle", "note", "#555555");
        return svg.Finish();
    }

    // White to Okabe-Ito blue (#0072B2); the lightness alone carries the share, so it survives grayscale.
    private static string Shade(double share)
    {
        share = Math.Clamp(share, 0, 1);
        int r = (int)Math.Round(255 + (0x00 - 255) * share);
        int g = (int)Math.Round(255 + (0x72 - 255) * share);
        int b = (int)Math.Round(255 + (0xB2 - 255) * share);
        return $"#{r:X2}{g:X2}{b:X2}";
    }
}
