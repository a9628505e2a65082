// The report's charts, each built on ScottPlot from plain numbers: loss curves, error histograms, ROC and PR curves
// with the operating point, F1 against threshold, per-digit flag rates, the confusion matrix, per-pixel error
// heatmaps beside originals and reconstructions, and the latent codes' 2-D projection. Every label is a real
// <text> in the SVG and is drawn with the shipped font (ChartFonts). Lines are solid: Skia's SVG writer has no
// dash effects (it would print "Unsupported path effect" and draw them solid), so series differ by colour and markers.
using System.Globalization;
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
    /// Groups' errors overlaid on shared bins, each bar its group's share of its own count (a small group is as
    /// visible as a large one), with the threshold as a black line; log-spaced bins when the errors span decades.
    /// </summary>
    public static Chart ErrorHistogram(IReadOnlyList<Group> groups, double? threshold, string title = "Reconstruction error of test digits", string name = "histogram")
    {
        bool log = PrefersLog(groups.SelectMany(g => g.Values));
        Binned bins = Bin([.. groups.Select(g => g.Values)], 40, log, threshold);
        Plot plot = NewPlot(title, log ? "reconstruction error (log scale)" : "reconstruction error", "share of group (%)");
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
        string title = "F1 score against threshold", string name = "f1")
    {
        Plot plot = NewPlot(title, log ? "threshold on reconstruction error (log scale)" : "threshold on reconstruction error", "F1 (anomaly positive)");
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

    // ---------------------------------------------------------------- per-digit flag rates

    /// <summary>The share of each digit's test images flagged, the normal digit(s) in blue, anomalous ones in vermillion.</summary>
    public static Chart ClassFlagRates(IReadOnlyList<double> rates, IReadOnlySet<int> normalDigits, string title = "Share of each digit flagged as anomalous", string name = "digits")
    {
        Plot plot = NewPlot(title, "digit", "flagged (%)");
        var bars = new List<Bar>();
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int d = 0; d < rates.Count; d++)
        {
            bool normal = normalDigits.Contains(d);
            double rate = rates[d];
            Color colour = Palette.Colour(normal ? 0 : 1);
            bars.Add(new Bar
            {
                Position = d, Value = double.IsFinite(rate) ? 100 * rate : 0, Size = 0.7,
                FillColor = normal ? colour : colour.WithAlpha(0.75), LineWidth = 0,
                Label = double.IsFinite(rate) ? (100 * rate).ToString("0.#", Inv) : "n/a",
            });
            ticks.AddMajor(d, normal ? $"{d} (normal)" : d.ToString(Inv));
        }
        BarPlot plotted = plot.Add.Bars(bars);
        plotted.ValueLabelStyle.FontSize = 11;
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.SetLimits(-0.6, rates.Count - 0.4, 0, 108);
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "normal digit", FillColor = Palette.Colour(0) });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "anomalous digit", FillColor = Palette.Colour(1).WithAlpha(0.75) });
        plot.ShowLegend(Alignment.UpperRight);
        return new Chart(name, title, plot, 680, 380);
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

    // ---------------------------------------------------------------- samples: original, reconstruction, per-pixel error

    /// <summary>
    /// Test digits in columns: the original on top (white ink on black, as MNIST), the reconstruction below it, and
    /// the per-pixel squared error (x − x̂)² at the bottom on one colour scale for the whole chart, with its colour
    /// bar; each column is captioned with the digit and its reconstruction error (the mean of the bottom image).
    /// </summary>
    public static Chart Samples(IReadOnlyList<ImageSample> samples, string title, string name)
    {
        if (samples.Count == 0) throw new ArgumentException("A samples chart needs at least one image.", nameof(samples));
        const int side = 28, step = 32;
        ChartFonts.EnsureInstalled();
        var plot = new Plot();
        plot.Title(title, 14);
        double max = 0;
        var errors = new List<double[,]>();
        foreach (var s in samples)
        {
            if (s.Original.Length != side * side || s.Reconstruction.Length != side * side)
                throw new ArgumentException($"Sample images must have {side * side} values.", nameof(samples));
            var e = new double[side, side];
            for (int i = 0; i < side * side; i++)
            {
                double d = s.Reconstruction[i] - s.Original[i];
                e[i / side, i % side] = double.IsFinite(d) ? d * d : 0;
                max = Math.Max(max, e[i / side, i % side]);
            }
            errors.Add(e);
        }
        max = max > 0 ? max : 1;
        Heatmap? scale = null;
        for (int c = 0; c < samples.Count; c++)
        {
            double left = c * step;
            Image(plot, samples[c].Original, left, 0, new ScottPlot.Colormaps.Grayscale(), 0, 1);
            Image(plot, samples[c].Reconstruction, left, -step, new ScottPlot.Colormaps.Grayscale(), 0, 1);
            scale = Image(plot, errors[c], left, -2 * step, new ScottPlot.Colormaps.Inferno(), 0, max);
            Text(plot, $"{samples[c].Label} · {G3(samples[c].Error)}", left + side / 2.0, side + 1, 11, Colors.Black, alignment: Alignment.LowerCenter);
        }
        string[] rows = ["original", "reconstruction", "squared error"];
        for (int r = 0; r < rows.Length; r++)
            Text(plot, rows[r], -4, side / 2.0 - r * step, 11, Colors.Black, alignment: Alignment.MiddleRight);
        ScottPlot.Panels.ColorBar bar = plot.Add.ColorBar(scale!, Edge.Right);
        bar.Label = "(x − x̂)² per pixel";
        bar.LabelStyle.FontSize = 11;
        bar.Axis.TickLabelStyle.FontSize = 10;
        foreach (IAxis axis in new IAxis[] { plot.Axes.Bottom, plot.Axes.Left, plot.Axes.Top, plot.Axes.Right }) axis.IsVisible = false;
        plot.HideGrid();
        plot.Axes.SetLimits(-92, samples.Count * step, -2 * step - 2, side + 16);
        plot.Axes.SquareUnits();
        // Two pixels per data unit (a digit is 56 px), plus the colour bar and the title.
        int width = 2 * (92 + samples.Count * step) + 120, height = 2 * (side + 16 + 2 * step + 2) + 50;
        return new Chart(name, title, plot, width, height);
    }

    private static Heatmap Image(Plot plot, float[] pixels, double left, double bottom, IColormap map, double lo, double hi)
    {
        var data = new double[28, 28];
        // Shown clamped to the scale (a ReLU output may exceed 1); the error of the caption uses the values as they are.
        for (int i = 0; i < 784; i++) data[i / 28, i % 28] = float.IsFinite(pixels[i]) ? Math.Clamp(pixels[i], lo, hi) : 0;
        return Image(plot, data, left, bottom, map, lo, hi);
    }

    private static Heatmap Image(Plot plot, double[,] data, double left, double bottom, IColormap map, double lo, double hi)
    {
        Heatmap heatmap = plot.Add.Heatmap(data);
        heatmap.Colormap = map;
        heatmap.ManualRange = new ScottPlot.Range(lo, hi);
        heatmap.Extent = new CoordinateRect(left, left + 28, bottom, bottom + 28);
        heatmap.Smooth = false;
        return heatmap;
    }

    // ---------------------------------------------------------------- latent codes

    /// <summary>The latent codes' projection on their first two principal components, one colour per digit, the normal digit on top.</summary>
    public static Chart Latent(LatentProjection p, string title = "Latent codes of test digits (PCA)", string name = "latent")
    {
        string Axis(int k) => $"PC {k + 1} ({(100 * p.Explained[k]).ToString("0.#", Inv)}% of variance)";
        Plot plot = NewPlot($"{title}: {p.Dimensions}-dimensional codes", Axis(0), Axis(1));
        var digits = p.Labels.Distinct().OrderBy(d => d == p.NormalDigit ? 1 : 0).ThenBy(d => d).ToList();
        foreach (byte d in digits)
        {
            int[] mine = [.. Enumerable.Range(0, p.Labels.Length).Where(i => p.Labels[i] == d)];
            bool normal = d == p.NormalDigit;
            Markers points = plot.Add.Markers(mine.Select(i => p.X[i]).ToArray(), mine.Select(i => p.Y[i]).ToArray(),
                normal ? MarkerShape.FilledCircle : MarkerShape.FilledCircle, normal ? 4.5f : 3.5f, Palette.Digit(d).WithAlpha(normal ? 0.9 : 0.6));
            points.LegendText = normal ? $"{d} (normal, n = {Count(mine.Length)})" : $"{d} (n = {Count(mine.Length)})";
        }
        plot.ShowLegend(Edge.Right);
        plot.Legend.FontSize = 11;
        return new Chart(name, title, plot, 720, 520);
    }
}
