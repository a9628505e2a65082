// The report's charts, each built on ScottPlot from plain numbers: loss curves, score histograms, ROC and PR curves
// with the operating point, F1 against threshold, per-class flag rates, the confusion matrix, the score's per-pixel
// map (Scores.Map) beside originals and reconstructions of any size (RGB in colour), and the latent codes' 2-D projection. Every label is a real
// <text> in the SVG and is drawn with the shipped font (ChartFonts). Lines are solid: Skia's SVG writer has no
// dash effects (it would print "Unsupported path effect" and draw them solid), so series differ by colour and markers.
using System.Globalization;
using AeMnist.Scoring;
using AeMnist.Tensors;
using ScottPlot;
using ScottPlot.Plottables;

namespace AeMnist.Reporting;

public static class Charts
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    internal static string G3(double v) => double.IsFinite(v) ? v.ToString("G3", Inv) : "n/a";

    internal static string F3(double v) => double.IsFinite(v) ? v.ToString("0.000", Inv) : "n/a";

    private static string Count(long v) => v.ToString("N0", Inv);

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        ChartFonts.EnsureInstalled();
        var plot = new Plot();
        plot.Title(title, 15);
        plot.XLabel(xLabel, 13);
        plot.YLabel(yLabel, 13);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 11;
        plot.Axes.Left.TickLabelStyle.FontSize = 11;
        plot.Legend.FontSize = 11;
        return plot;
    }

    /// <summary>Whether values are better shown on a log axis: all positive and the middle 98% spans more than a factor of 10.</summary>
    public static bool PrefersLog(IEnumerable<double> values)
    {
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length < 2 || sorted[0] <= 0) return false;
        double lo = sorted[(int)(0.01 * (sorted.Length - 1))], hi = sorted[(int)Math.Ceiling(0.99 * (sorted.Length - 1))];
        return hi / lo > 10;
    }

    /// <summary>
    /// A log10 axis over [lo, hi] (in log10 units): major ticks at 1, 2 and 5 times the powers of ten inside it,
    /// labelled with the value itself, minor ticks at the other integers.
    /// </summary>
    private static void LogTicks(IAxis axis, double lo, double hi)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        int majors = 0;
        for (int k = (int)Math.Floor(lo) - 1; k <= (int)Math.Ceiling(hi); k++)
            for (int m = 1; m <= 9; m++)
            {
                double v = Math.Log10(m * Math.Pow(10, k));
                if (v < lo - 1e-9 || v > hi + 1e-9) continue;
                if (m is 1 or 2 or 5) { ticks.AddMajor(v, G3(m * Math.Pow(10, k))); majors++; }
                else ticks.AddMinor(v);
            }
        if (majors < 2) { ticks.AddMajor(lo, G3(Math.Pow(10, lo))); ticks.AddMajor(hi, G3(Math.Pow(10, hi))); }
        axis.TickGenerator = ticks;
    }

    /// <summary>Keeps a curve's points at least 0.002 of the unit square apart (first and last always), so a 10,000-point curve stays a small SVG.</summary>
    internal static (double[] X, double[] Y) Thin(IReadOnlyList<double> xs, IReadOnlyList<double> ys, double xSpan = 1, double ySpan = 1)
    {
        var x = new List<double>();
        var y = new List<double>();
        for (int i = 0; i < xs.Count; i++)
        {
            if (!double.IsFinite(xs[i]) || !double.IsFinite(ys[i])) continue;
            bool last = i == xs.Count - 1;
            if (x.Count > 0 && !last)
            {
                double dx = (xs[i] - x[^1]) / xSpan, dy = (ys[i] - y[^1]) / ySpan;
                if (dx * dx + dy * dy < 0.002 * 0.002) continue;
            }
            x.Add(xs[i]);
            y.Add(ys[i]);
        }
        return ([.. x], [.. y]);
    }

    // ---------------------------------------------------------------- loss

    /// <summary>Training and monitored loss per epoch for one run (with its early-stopping point) or several.</summary>
    public static Chart Loss(IReadOnlyList<LossCurves> runs, string title, string name = "loss")
    {
        var all = runs.SelectMany(r => r.History.SelectMany(h => new[] { h.TrainLoss, h.MonitorLoss ?? double.NaN })).Where(v => double.IsFinite(v) && v > 0).ToList();
        bool log = all.Count > 1 && all.Max() / all.Min() > 10;
        Plot plot = NewPlot(title, "epoch", log ? "loss (log scale)" : "loss");
        double T(double v) => log ? Math.Log10(v) : v;
        bool single = runs.Count == 1;
        for (int r = 0; r < runs.Count; r++)
        {
            LossCurves run = runs[r];
            string prefix = single ? "" : run.Name + ": ";
            bool points = !single || run.History.Count <= 40;
            var train = run.History.Where(h => double.IsFinite(h.TrainLoss) && (!log || h.TrainLoss > 0)).ToList();
            Scatter trainLine = plot.Add.Scatter(train.Select(h => (double)h.Epoch).ToArray(), train.Select(h => T(h.TrainLoss)).ToArray(), Palette.Colour(single ? 0 : r));
            trainLine.LegendText = prefix + "training loss";
            trainLine.LineWidth = 2;
            trainLine.MarkerSize = points ? 5 : 0;
            var monitored = run.History.Where(h => h.MonitorLoss is double v && double.IsFinite(v) && (!log || v > 0)).ToList();
            if (monitored.Count > 0)
            {
                Scatter line = plot.Add.Scatter(monitored.Select(h => (double)h.Epoch).ToArray(), monitored.Select(h => T(h.MonitorLoss!.Value)).ToArray(), Palette.Colour(single ? 1 : r));
                line.LegendText = prefix + run.MonitorName;
                line.LineWidth = 2;
                line.MarkerSize = points ? 6 : 0;
                line.MarkerShape = MarkerShape.FilledSquare;
            }
            if (single && run.BestEpoch is int best)
            {
                VerticalLine kept = plot.Add.VerticalLine(best, 1.5f, Colors.Black);
                kept.LegendText = $"early-stopping point (weights of epoch {best} kept)";
            }
        }
        if (log && all.Count > 0)
        {
            double lo = Math.Log10(all.Min()), hi = Math.Log10(all.Max()), pad = 0.04 * (hi - lo);
            plot.Axes.SetLimitsY(lo - pad, hi + pad);
            LogTicks(plot.Axes.Left, lo - pad, hi + pad);
        }
        plot.ShowLegend(Alignment.UpperRight);
        return new Chart(name, title, plot, 680, 400);
    }

    // ---------------------------------------------------------------- error histogram

    /// <summary>A group of values for <see cref="ErrorHistogram"/>.</summary>
    public sealed record Group(string Name, IReadOnlyList<double> Values);

    /// <summary>The bin counts a histogram chart shows, per group (for the text histogram and tests).</summary>
    public sealed record Binned(double[] Edges, bool Log, IReadOnlyList<long[]> Counts);

    /// <summary>
    /// Shared bins over every finite value of the groups and <paramref name="include"/> (the threshold): equal in x,
    /// or in log10(x) when <paramref name="log"/> (values at or below zero then go to the first bin). Counted by
    /// ScottPlot's histogram; every finite value lands in exactly one bin.
    /// </summary>
    public static Binned Bin(IReadOnlyList<IReadOnlyList<double>> groups, int count, bool log, double? include = null)
    {
        var finite = groups.SelectMany(g => g).Where(double.IsFinite).ToList();
        if (include is double extra && double.IsFinite(extra)) finite.Add(extra);
        double floor = finite.Where(v => v > 0).DefaultIfEmpty(1).Min();
        double T(double v) => log ? Math.Log10(Math.Max(v, floor)) : v;
        double lo = finite.Count == 0 ? 0 : finite.Min(T), hi = finite.Count == 0 ? 1 : finite.Max(T);
        if (!(hi > lo)) { lo -= log ? 0.1 : 0.5 * Math.Max(Math.Abs(lo), 1e-6); hi = lo + 2 * (log ? 0.1 : 0.5 * Math.Max(Math.Abs(lo), 1e-6)); }
        var counts = new List<long[]>();
        double[] edges = [];
        foreach (var g in groups)
        {
            var h = ScottPlot.Statistics.Histogram.WithBinCount(count, lo, hi);
            h.AddRange(g.Where(double.IsFinite).Select(T));
            counts.Add([.. h.Counts.Select(c => (long)c)]);
            edges = h.Edges;
        }
        if (edges.Length == 0) edges = ScottPlot.Statistics.Histogram.WithBinCount(count, lo, hi).Edges;
        return new Binned(log ? [.. edges.Select(e => Math.Pow(10, e))] : edges, log, counts);
    }

    /// <summary>
    /// Groups' scores overlaid on shared bins, each bar its group's share of its own count (a small group is as
    /// visible as a large one), with the threshold as a black line; log-spaced bins when the scores span decades.
    /// <paramref name="valueLabel"/> names the score on the x axis ("MSE", "1 − SSIM").
    /// </summary>
    public static Chart ErrorHistogram(IReadOnlyList<Group> groups, double? threshold, string valueLabel, string title, string name = "histogram")
    {
        bool log = PrefersLog(groups.SelectMany(g => g.Values));
        Binned bins = Bin([.. groups.Select(g => g.Values)], 40, log, threshold);
        Plot plot = NewPlot(title, log ? $"{valueLabel} (log scale)" : valueLabel, "share of group (%)");
        double T(double v) => log ? Math.Log10(v) : v;
        for (int g = 0; g < groups.Count; g++)
        {
            long total = bins.Counts[g].Sum();
            Color colour = Palette.Colour(g);
            var bars = new List<Bar>();
            for (int b = 0; b + 1 < bins.Edges.Length; b++)
            {
                if (bins.Counts[g][b] == 0) continue;
                double x0 = T(bins.Edges[b]), x1 = T(bins.Edges[b + 1]);
                bars.Add(new Bar
                {
                    Position = (x0 + x1) / 2, Size = x1 - x0, Value = 100.0 * bins.Counts[g][b] / total,
                    FillColor = colour.WithAlpha(0.4), LineColor = colour, LineWidth = 1,
                });
            }
            BarPlot plotted = plot.Add.Bars(bars);
            plotted.LegendText = $"{groups[g].Name} (n = {Count(total)})";
            plotted.Color = colour.WithAlpha(0.4);
        }
        if (threshold is double t && double.IsFinite(t) && (!log || t > 0))
        {
            VerticalLine line = plot.Add.VerticalLine(T(t), 2, Colors.Black);
            line.LegendText = $"threshold {G3(t)} (flagged at or above)";
        }
        if (log) LogTicks(plot.Axes.Bottom, T(bins.Edges[0]), T(bins.Edges[^1]));
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperRight);
        return new Chart(name, title, plot, 680, 400);
    }

    // ---------------------------------------------------------------- ROC and PR

    private static void Curves(Plot plot, IReadOnlyList<AreaCurve> curves, string areaName)
    {
        for (int i = 0; i < curves.Count; i++)
        {
            var (x, y) = Thin(curves[i].X, curves[i].Y);
            Scatter line = plot.Add.ScatterLine(x, y, Palette.Colour(i));
            line.LineWidth = 2.25f;
            line.MarkerSize = 0;
            line.LegendText = $"{curves[i].Name} ({areaName} {F3(curves[i].Area)})";
        }
    }

    private static void MarkOperatingPoint(Plot plot, OperatingPoint? point, string text)
    {
        if (point is not { } p || !double.IsFinite(p.X) || !double.IsFinite(p.Y)) return;
        Marker marker = plot.Add.Marker(p.X, p.Y, MarkerShape.FilledCircle, 11, Colors.Black);
        marker.LegendText = text;
        Marker ring = plot.Add.Marker(p.X, p.Y, MarkerShape.OpenCircle, 17, Colors.Black);
        ring.LineWidth = 1.5f;
    }

    private static void UnitSquare(Plot plot)
    {
        plot.Axes.SetLimits(-0.02, 1.02, -0.02, 1.02);
        plot.Axes.SquareUnits();
    }

    /// <summary>ROC curves with the chance diagonal and the chosen threshold's (false positive rate, true positive rate).</summary>
    public static Chart Roc(IReadOnlyList<AreaCurve> curves, OperatingPoint? point, string? title = null, string name = "roc")
    {
        title ??= curves.Count == 1 ? $"ROC curve (AUROC {F3(curves[0].Area)})" : "ROC curves";
        Plot plot = NewPlot(title, "false positive rate", "true positive rate");
        Curves(plot, curves, "AUROC");
        Scatter chance = plot.Add.ScatterLine(new double[] { 0, 1 }, new double[] { 0, 1 }, Palette.Reference);
        chance.LineWidth = 1.25f;
        chance.LegendText = "chance";
        if (point is { } p)
            MarkOperatingPoint(plot, p, $"threshold {G3(p.Threshold)}: FPR {F3(p.X)}, TPR {F3(p.Y)}");
        UnitSquare(plot);
        plot.ShowLegend(Alignment.LowerRight);
        return new Chart(name, title, plot, 520, 500);
    }

    /// <summary>Precision against recall, with the chance level (the share of anomalies) and the chosen threshold's point.</summary>
    public static Chart PrecisionRecall(IReadOnlyList<AreaCurve> curves, double? prevalence, OperatingPoint? point, string? title = null, string name = "pr")
    {
        title ??= curves.Count == 1 ? $"Precision-recall curve (AP {F3(curves[0].Area)})" : "Precision-recall curves";
        Plot plot = NewPlot(title, "recall", "precision");
        Curves(plot, curves, "AP");
        if (prevalence is double share && double.IsFinite(share))
        {
            Scatter chance = plot.Add.ScatterLine(new double[] { 0, 1 }, new[] { share, share }, Palette.Reference);
            chance.LineWidth = 1.25f;
            chance.LegendText = $"chance (share of anomalies {share.ToString("0.###", Inv)})";
        }
        if (point is { } p)
            MarkOperatingPoint(plot, p, $"threshold {G3(p.Threshold)}: recall {F3(p.X)}, precision {F3(p.Y)}");
        UnitSquare(plot);
        plot.ShowLegend(Alignment.LowerLeft);
        return new Chart(name, title, plot, 520, 500);
    }

    // ---------------------------------------------------------------- F1 against threshold

    /// <summary>
    /// F1 (anomalies positive) for every threshold, the chosen threshold marked on the curve, and the threshold that
    /// would maximise F1 on these very labels marked as a reference only.
    /// </summary>
    public static Chart F1VsThreshold(IReadOnlyList<double> thresholds, IReadOnlyList<double> f1, double chosen, double chosenF1, bool log,
        string valueLabel, string title = "F1 score against threshold", string name = "f1")
    {
        Plot plot = NewPlot(title, log ? $"threshold on {valueLabel} (log scale)" : $"threshold on {valueLabel}", "F1 (anomaly positive)");
        double T(double v) => log ? Math.Log10(v) : v;
        var keep = Enumerable.Range(0, thresholds.Count).Where(i => double.IsFinite(thresholds[i]) && double.IsFinite(f1[i]) && (!log || thresholds[i] > 0)).ToList();
        double[] xs = [.. keep.Select(i => T(thresholds[i]))], ys = [.. keep.Select(i => f1[i])];
        Scatter curve = plot.Add.ScatterLine(xs, ys, Palette.Colour(0));
        curve.LineWidth = 2.25f;
        curve.LegendText = "F1 at each threshold";
        if (keep.Count > 0)
        {
            int best = keep.MaxBy(i => f1[i]);
            Marker reference = plot.Add.Marker(T(thresholds[best]), f1[best], MarkerShape.OpenDiamond, 13, Palette.Colour(1));
            reference.LineWidth = 2;
            reference.LegendText = $"best F1 on these labels (reference only): {F3(f1[best])} at {G3(thresholds[best])}";
        }
        if (double.IsFinite(chosen) && (!log || chosen > 0))
        {
            VerticalLine line = plot.Add.VerticalLine(T(chosen), 1, Colors.Black);
            line.ExcludeFromLegend = true;
            if (double.IsFinite(chosenF1))
            {
                Marker marker = plot.Add.Marker(T(chosen), chosenF1, MarkerShape.FilledCircle, 10, Colors.Black);
                marker.LegendText = $"chosen threshold {G3(chosen)}: F1 {F3(chosenF1)}";
            }
        }
        if (log && xs.Length > 0)
        {
            double lo = xs.Append(double.IsFinite(chosen) && chosen > 0 ? T(chosen) : xs[0]).Min(), hi = xs.Append(double.IsFinite(chosen) && chosen > 0 ? T(chosen) : xs[0]).Max();
            double pad = 0.03 * Math.Max(hi - lo, 1e-9);
            plot.Axes.SetLimitsX(lo - pad, hi + pad);
            LogTicks(plot.Axes.Bottom, lo - pad, hi + pad);
        }
        plot.Axes.SetLimitsY(0, 1.05);
        plot.ShowLegend(Alignment.LowerCenter);
        return new Chart(name, title, plot, 680, 400);
    }

    // ---------------------------------------------------------------- per-class flag rates

    /// <summary>The most characters of a class name a chart shows; longer names end in "…".</summary>
    public const int MaxClassNameLength = 32;

    /// <summary><paramref name="text"/> cut to <paramref name="max"/> characters, the last one "…" when cut.</summary>
    public static string Shorten(string text, int max = MaxClassNameLength) => text.Length <= max ? text : text[..(max - 1)] + "…";

    /// <summary>
    /// The share of each class's test images flagged, the normal class(es) in blue, anomalous ones in vermillion. MNIST's
    /// digits (<paramref name="classNames"/> null) stand as vertical bars labelled 0-9; named classes, any number of them,
    /// as horizontal bars with their names (up to <see cref="MaxClassNameLength"/> characters) read across.
    /// </summary>
    public static Chart ClassFlagRates(IReadOnlyList<double> rates, IReadOnlySet<int> normalClasses, IReadOnlyList<string>? classNames = null,
        string? title = null, string? name = null)
    {
        bool digits = classNames is null;
        title ??= digits ? "Share of each digit flagged as anomalous" : "Share of each class flagged as anomalous";
        name ??= digits ? "digits" : "classes";
        string noun = digits ? "digit" : "class";
        Plot plot = digits ? NewPlot(title, "digit", "flagged (%)") : NewPlot(title, "flagged (%)", "");
        var bars = new List<Bar>();
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int d = 0; d < rates.Count; d++)
        {
            bool normal = normalClasses.Contains(d);
            double rate = rates[d];
            Color colour = Palette.Colour(normal ? 0 : 1);
            // Named classes read top to bottom in their order.
            double position = digits ? d : rates.Count - 1 - d;
            bars.Add(new Bar
            {
                Position = position, Value = double.IsFinite(rate) ? 100 * rate : 0, Size = 0.7,
                FillColor = normal ? colour : colour.WithAlpha(0.75), LineWidth = 0,
                Label = double.IsFinite(rate) ? (100 * rate).ToString("0.#", Inv) : "n/a",
            });
            string label = digits ? d.ToString(Inv) : Shorten(d < classNames!.Count ? classNames[d] : d.ToString(Inv));
            ticks.AddMajor(position, normal ? $"{label} (normal)" : label);
        }
        BarPlot plotted = plot.Add.Bars(bars);
        plotted.ValueLabelStyle.FontSize = 11;
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"normal {noun}", FillColor = Palette.Colour(0) });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"anomalous {noun}", FillColor = Palette.Colour(1).WithAlpha(0.75) });
        if (digits)
        {
            plot.Axes.Bottom.TickGenerator = ticks;
            plot.Axes.SetLimits(-0.6, rates.Count - 0.4, 0, 108);
            plot.ShowLegend(Alignment.UpperRight);
            return new Chart(name, title, plot, 680, 380);
        }
        plotted.Horizontal = true;
        plot.Axes.Left.TickGenerator = ticks;
        var percent = new ScottPlot.TickGenerators.NumericManual();
        for (int v = 0; v <= 100; v += 10) percent.AddMajor(v, v.ToString(Inv));
        plot.Axes.Bottom.TickGenerator = percent;
        plot.Axes.Left.TickLabelStyle.FontSize = 12;
        // Room on the right for the value labels and the legend beside the bars.
        plot.Axes.SetLimits(0, 118, -0.6, rates.Count - 0.4);
        plot.ShowLegend(Edge.Bottom);
        return new Chart(name, title, plot, 720, Math.Max(280, 130 + 26 * rates.Count));
    }

    // ---------------------------------------------------------------- confusion matrix

    /// <summary>The 2x2 confusion matrix, anomalies positive: each cell's count and its share of the actual class, shaded by that share.</summary>
    public static Chart ConfusionMatrix(long tp, long fp, long tn, long fn, string title, string name = "confusion")
    {
        Plot plot = NewPlot(title, "predicted", "actual");
        // Row 1 (top) is actual normal, row 0 actual anomaly; column 0 predicted normal, column 1 predicted anomaly.
        (string Short, long Count, int Column, int Row, long RowTotal)[] cells =
        [
            ("true negatives", tn, 0, 1, tn + fp), ("false positives", fp, 1, 1, tn + fp),
            ("false negatives", fn, 0, 0, fn + tp), ("true positives", tp, 1, 0, fn + tp),
        ];
        Color blue = Palette.Colour(0);
        foreach (var c in cells)
        {
            double share = c.RowTotal > 0 ? (double)c.Count / c.RowTotal : 0;
            var fill = new Color((byte)(255 + (blue.R - 255) * share), (byte)(255 + (blue.G - 255) * share), (byte)(255 + (blue.B - 255) * share));
            Rectangle rect = plot.Add.Rectangle(c.Column - 0.5, c.Column + 0.5, c.Row - 0.5, c.Row + 0.5);
            rect.FillColor = fill;
            rect.LineColor = Colors.White;
            rect.LineWidth = 3;
            Color ink = share > 0.5 ? Colors.White : Color.FromHex("#1A1A1A");
            Text(plot, c.Short, c.Column, c.Row + 0.28, 12, ink);
            Text(plot, Count(c.Count), c.Column, c.Row + 0.02, 24, ink, bold: true);
            Text(plot, $"{(100 * share).ToString("0.0", Inv)}% of actual", c.Column, c.Row - 0.26, 11, ink);
        }
        var x = new ScottPlot.TickGenerators.NumericManual();
        x.AddMajor(0, "normal");
        x.AddMajor(1, "anomaly");
        var y = new ScottPlot.TickGenerators.NumericManual();
        y.AddMajor(0, "anomaly");
        y.AddMajor(1, "normal");
        plot.Axes.Bottom.TickGenerator = x;
        plot.Axes.Left.TickGenerator = y;
        plot.Axes.SetLimits(-0.5, 1.5, -0.5, 1.5);
        plot.HideGrid();
        return new Chart(name, title, plot, 440, 400);
    }

    private static Text Text(Plot plot, string text, double x, double y, float size, Color colour, bool bold = false, Alignment alignment = Alignment.MiddleCenter)
    {
        Text label = plot.Add.Text(text, x, y);
        label.LabelFontSize = size;
        label.LabelFontColor = colour;
        label.LabelBold = bold;
        label.LabelAlignment = alignment;
        return label;
    }

    // ---------------------------------------------------------------- samples: original, reconstruction, per-pixel score

    /// <summary>The largest side an image is drawn at in a samples chart; larger images are shown averaged over blocks of pixels.</summary>
    public const int MaxShownSide = 128;

    /// <summary>What the bottom row of a samples chart shows for a score: the row's name and the colour bar's label.</summary>
    public static (string Row, string Bar) MapLabels(ScoreKind kind, int channels)
    {
        string mean = channels > 1 ? ", mean of channels" : "";
        // Short: the label runs along the colour bar, which is as high as three rows of images (the caption under the
        // chart says the rest: the window, the blur, which part of the combined score).
        return kind switch
        {
            ScoreKind.Mse => ("squared error", $"(x − x̂)² per pixel{mean}"),
            ScoreKind.Ssim => ("1 − SSIM", $"1 − SSIM per pixel{mean}"),
            _ => ("smoothed sq. error", $"(blurred x − x̂)² per pixel{mean}"),
        };
    }

    /// <summary>The least chart height, in pixels, whose colour bar shows <paramref name="label"/> whole.</summary>
    public static int BarLabelHeight(string label) => (int)Math.Ceiling(6.5 * label.Length) + 90;

    /// <summary>The colour of the pixels a map leaves undefined (ssim's border): a mid gray that no Inferno colour is.</summary>
    public static readonly Color Uncovered = Color.FromHex("#A8A8A8");

    /// <summary>
    /// Test images in columns: the original on top (gray as the data is, light ink on black for MNIST; RGB in colour),
    /// the reconstruction below it, and the <paramref name="score"/>'s per-pixel map (<see cref="Scores.Map"/>) at the
    /// bottom, on one colour scale for the whole chart with its colour bar; ssim's border, which no window centres on, is
    /// <see cref="Uncovered"/>. Each column is captioned with its class (<paramref name="classNames"/>; null: MNIST's digit
    /// numbers) and its score, the mean of its map. Images of any C x H x W; sides over <see cref="MaxShownSide"/> are
    /// shown averaged over blocks (the map computed at full size first).
    /// </summary>
    public static Chart Samples(IReadOnlyList<ImageSample> samples, ImageShape shape, ScoreKind score, IReadOnlyList<string>? classNames,
        string title, string name)
    {
        if (samples.Count == 0) throw new ArgumentException("A samples chart needs at least one image.", nameof(samples));
        int h = shape.Height, w = shape.Width, plane = h * w;
        foreach (var s in samples)
            if (s.Original.Length != shape.Length || s.Reconstruction.Length != shape.Length)
                throw new ArgumentException($"Sample images of {shape} must have {shape.Length} values; got {s.Original.Length} and {s.Reconstruction.Length}.", nameof(samples));
        int block = (Math.Max(h, w) + MaxShownSide - 1) / MaxShownSide;
        int dh = (h + block - 1) / block, dw = (w + block - 1) / block;
        // Data units: two chart pixels each. An image is drawn 2 px per pixel up to 50x50, else at most 100 px wide or high.
        double unit = Math.Max(dh, dw) <= 50 ? 1 : 50.0 / Math.Max(dh, dw);
        double cellW = dw * unit, cellH = dh * unit, gap = 4, stepX = cellW + gap, stepY = cellH + gap;
        bool digits = classNames is null;
        double captionRoom = digits ? 16 : 24;
        ChartFonts.EnsureInstalled();
        var plot = new Plot();
        plot.Title(title, 14);
        var maps = new List<double[,]>();
        double max = 0;
        var map = new float[plane];
        foreach (var s in samples)
        {
            AnomalyMaps.Map(score, s.Original, s.Reconstruction, shape, map);
            double[,] shown = Shrink(map, h, w, block);
            foreach (double v in shown) if (double.IsFinite(v)) max = Math.Max(max, v);
            maps.Add(shown);
        }
        max = max > 0 ? max : 1;
        Heatmap? scale = null;
        for (int c = 0; c < samples.Count; c++)
        {
            double left = c * stepX;
            Picture(plot, samples[c].Original, shape, block, new CoordinateRect(left, left + cellW, 0, cellH));
            Picture(plot, samples[c].Reconstruction, shape, block, new CoordinateRect(left, left + cellW, -stepY, -stepY + cellH));
            scale = Heat(plot, maps[c], new CoordinateRect(left, left + cellW, -2 * stepY, -2 * stepY + cellH), AnomalyMaps.Colormap, 0, max);
            string scoreText = G3(samples[c].Error);
            if (digits)
                Text(plot, $"{samples[c].Label} · {scoreText}", left + cellW / 2, cellH + 1, 11, Colors.Black, alignment: Alignment.LowerCenter);
            else
            {
                // Two lines, the class name cut to the column (about 6 px per character at 11 px).
                int fits = Math.Max(4, (int)(2 * stepX / 6.2));
                string label = samples[c].Label < classNames!.Count ? classNames[samples[c].Label] : samples[c].Label.ToString(Inv);
                Text(plot, scoreText, left + cellW / 2, cellH + 1, 11, Colors.Black, alignment: Alignment.LowerCenter);
                Text(plot, Shorten(label, fits), left + cellW / 2, cellH + 10, 11, Colors.Black, alignment: Alignment.LowerCenter);
            }
        }
        var (mapRow, barLabel) = MapLabels(score, shape.Channels);
        string[] rows = ["original", "reconstruction", mapRow];
        for (int r = 0; r < rows.Length; r++)
            Text(plot, rows[r], -4, cellH / 2.0 - r * stepY, 11, Colors.Black, alignment: Alignment.MiddleRight);
        ScottPlot.Panels.ColorBar bar = plot.Add.ColorBar(scale!, Edge.Right);
        bar.Label = barLabel;
        bar.LabelStyle.FontSize = 11;
        bar.Axis.TickLabelStyle.FontSize = 10;
        foreach (IAxis axis in new IAxis[] { plot.Axes.Bottom, plot.Axes.Left, plot.Axes.Top, plot.Axes.Right }) axis.IsVisible = false;
        plot.HideGrid();
        plot.Axes.SetLimits(-92, samples.Count * stepX, -2 * stepY - 2, cellH + captionRoom);
        plot.Axes.SquareUnits();
        // Two pixels per data unit, plus the colour bar and the title.
        int width = (int)Math.Ceiling(2 * (92 + samples.Count * stepX)) + 120, height = (int)Math.Ceiling(2 * (cellH + captionRoom + 2 * stepY + 2)) + 50;
        // At least as high as the colour bar's label is long (about 6.5 px a character at 11 px, plus the title's room).
        height = Math.Max(height, BarLabelHeight(barLabel));
        return new Chart(name, title, plot, width, height);
    }

    // An image (C, H, W) in its frame: gray (one channel, or the mean of channels other than three) as a heatmap, RGB as a bitmap.
    private static void Picture(Plot plot, float[] pixels, ImageShape shape, int block, CoordinateRect rect)
    {
        int h = shape.Height, w = shape.Width, plane = h * w;
        // Shown clamped to [0, 1] (a ReLU output may exceed 1); the score of the caption uses the values as they are.
        static double Shown(float v) => float.IsFinite(v) ? Math.Clamp(v, 0, 1) : 0;
        if (shape.Channels != 3)
        {
            var gray = new float[plane];
            for (int i = 0; i < plane; i++)
            {
                double sum = 0;
                for (int c = 0; c < shape.Channels; c++) sum += Shown(pixels[c * plane + i]);
                gray[i] = (float)(sum / shape.Channels);
            }
            Heat(plot, Shrink(gray, h, w, block), rect, new ScottPlot.Colormaps.Grayscale(), 0, 1);
            return;
        }
        double[][,] channels = [.. Enumerable.Range(0, 3).Select(c =>
        {
            var values = new float[plane];
            for (int i = 0; i < plane; i++) values[i] = (float)Shown(pixels[c * plane + i]);
            return Shrink(values, h, w, block);
        })];
        int dh = channels[0].GetLength(0), dw = channels[0].GetLength(1);
        var rgb = new byte[dh, dw, 3];
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++)
                for (int c = 0; c < 3; c++) rgb[y, x, c] = (byte)Math.Round(255 * channels[c][y, x]);
        ImageRect image = plot.Add.ImageRect(new ScottPlot.Image(rgb), rect);
        image.AntiAlias = false;
    }

    // values (H, W) -> (ceil(H / block), ceil(W / block)): the mean of each block's finite values, NaN where it has none.
    private static double[,] Shrink(float[] values, int h, int w, int block)
    {
        int dh = (h + block - 1) / block, dw = (w + block - 1) / block;
        var shown = new double[dh, dw];
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++)
            {
                double sum = 0;
                int count = 0;
                for (int r = y * block; r < Math.Min(h, (y + 1) * block); r++)
                    for (int c = x * block; c < Math.Min(w, (x + 1) * block); c++)
                        if (float.IsFinite(values[r * w + c])) { sum += values[r * w + c]; count++; }
                shown[y, x] = count > 0 ? sum / count : double.NaN;
            }
        return shown;
    }

    private static Heatmap Heat(Plot plot, double[,] data, CoordinateRect rect, IColormap map, double lo, double hi)
    {
        // Values outside the scale are shown at its ends (the colour bar's range is the chart's).
        for (int y = 0; y < data.GetLength(0); y++)
            for (int x = 0; x < data.GetLength(1); x++)
                if (double.IsFinite(data[y, x])) data[y, x] = Math.Clamp(data[y, x], lo, hi);
        Heatmap heatmap = plot.Add.Heatmap(data);
        heatmap.Colormap = map;
        heatmap.ManualRange = new ScottPlot.Range(lo, hi);
        heatmap.Extent = rect;
        heatmap.Smooth = false;
        heatmap.NaNCellColor = Uncovered;
        return heatmap;
    }

    // ---------------------------------------------------------------- latent codes

    /// <summary>
    /// The latent codes' projection on their first two principal components, one colour per class (digit), the normal
    /// class drawn last, on top. With more than <see cref="Palette.DistinctClasses"/> classes, the normal class and the
    /// most numerous others keep a colour each and the rest are one gray group, "other classes".
    /// </summary>
    public static Chart Latent(LatentProjection p, string? title = null, string name = "latent")
    {
        bool digits = p.ClassNames is null;
        title ??= digits ? "Latent codes of test digits (PCA)" : "Latent codes of test images (PCA)";
        string Axis(int k) => $"PC {k + 1} ({(100 * p.Explained[k]).ToString("0.#", Inv)}% of variance)";
        Plot plot = NewPlot($"{title}: {p.Dimensions}-dimensional codes", Axis(0), Axis(1));
        var counts = p.Labels.GroupBy(l => (int)l).ToDictionary(g => g.Key, g => g.Count());
        // The classes that get a colour of their own: all of them, or the normal class and the most numerous others.
        HashSet<int> own = counts.Keys.Count <= Palette.DistinctClasses ? [.. counts.Keys]
            : counts.Keys.OrderByDescending(k => k == p.Normal).ThenByDescending(k => counts[k]).ThenBy(k => k).Take(Palette.DistinctClasses - 1).ToHashSet();
        var others = counts.Keys.Where(k => !own.Contains(k)).ToHashSet();
        if (others.Count > 0)
        {
            int[] mine = [.. Enumerable.Range(0, p.Labels.Length).Where(i => others.Contains(p.Labels[i]))];
            Markers rest = plot.Add.Markers(mine.Select(i => p.X[i]).ToArray(), mine.Select(i => p.Y[i]).ToArray(), MarkerShape.FilledCircle, 3, Palette.Reference.WithAlpha(0.5));
            rest.LegendText = $"{others.Count} other classes (n = {Count(mine.Length)})";
        }
        // Colours by class number for digits (as matplotlib's cycle) and by rank among the coloured classes otherwise.
        var ranked = own.OrderBy(k => k).ToList();
        foreach (int d in own.OrderBy(k => k == p.Normal ? 1 : 0).ThenBy(k => k))
        {
            int[] mine = [.. Enumerable.Range(0, p.Labels.Length).Where(i => p.Labels[i] == d)];
            bool normal = d == p.Normal;
            Color colour = digits ? Palette.Digit(d) : Palette.Class(ranked.IndexOf(d));
            Markers points = plot.Add.Markers(mine.Select(i => p.X[i]).ToArray(), mine.Select(i => p.Y[i]).ToArray(),
                MarkerShape.FilledCircle, normal ? 4.5f : 3.5f, colour.WithAlpha(normal ? 0.9 : 0.6));
            string label = Shorten(p.ClassName(d));
            points.LegendText = normal ? $"{label} (normal, n = {Count(mine.Length)})" : $"{label} (n = {Count(mine.Length)})";
        }
        plot.ShowLegend(Edge.Right);
        plot.Legend.FontSize = 11;
        return new Chart(name, title, plot, 720, Math.Max(520, 60 + 18 * (own.Count + (others.Count > 0 ? 1 : 0))));
    }
}
