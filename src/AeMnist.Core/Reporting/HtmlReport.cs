// One self-contained report.html per run (inline SVG, PNG as data: URIs, inline CSS, no scripts, nothing
// fetched from anywhere), with each chart also written as .svg and each image grid as .png beside it.
// The markup is also well-formed XML (void elements self-closed), so tests can parse the whole page.
using System.Globalization;
using System.Net;
using System.Text;
using AeMnist.IO;

namespace AeMnist.Reporting;

public static class HtmlReport
{
    public const string FileName = "report.html";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private sealed record Chart(string FileName, string Svg);

    private sealed record SampleGrid(string FileName, string Title, string Note, ImageGridResult Grid, IReadOnlyList<string> Captions);

    /// <summary>
    /// Writes report.html and beside it loss.svg (when there is a history), histogram.svg, roc.svg, pr.svg,
    /// f1.svg, confusion.svg, digits.svg and samples-*.png, each atomically; returns the paths written.
    /// </summary>
    public static IReadOnlyList<string> Write(string directory, ReportInput input)
    {
        // The directory must exist: a run directory removed meanwhile is never re-created holding only a report.
        if (!Directory.Exists(directory)) throw new IOException($"{directory}: directory does not exist (removed meanwhile?); nothing was written");
        var charts = Charts(input);
        var grids = Grids(input);
        var written = new List<string>();
        void Put(string name, byte[] bytes)
        {
            string path = Path.Combine(directory, name);
            AtomicFile.WriteAllBytes(path, bytes);
            written.Add(path);
        }
        foreach (var chart in charts.Values) Put(chart.FileName, Encoding.UTF8.GetBytes(chart.Svg));
        foreach (var grid in grids) Put(grid.FileName, grid.Grid.Png);
        Put(FileName, Encoding.UTF8.GetBytes(Html(input, charts, grids)));
        return written;
    }

    /// <summary>The report's HTML, as <see cref="Write"/> writes it.</summary>
    public static string Render(ReportInput input) => Html(input, Charts(input), Grids(input));

    private static void Validate(ReportInput input)
    {
        if (input.TestErrors.Length != input.TestIsAnomaly.Length || input.TestErrors.Length != input.TestLabels.Length)
            throw new ArgumentException(
                $"TestErrors ({input.TestErrors.Length}), TestLabels ({input.TestLabels.Length}) and TestIsAnomaly ({input.TestIsAnomaly.Length}) must have one entry per test image.",
                nameof(input));
    }

    private static Dictionary<string, Chart> Charts(ReportInput input)
    {
        Validate(input);
        var m = input.Metrics;
        var charts = new Dictionary<string, Chart>();
        void Add(string key, string svg) => charts[key] = new Chart(key + ".svg", svg);

        if (input.History.Count > 0) Add("loss", LossChart([("", input)], "Training and " + input.MonitorName + " per epoch"));

        var normal = input.TestErrors.Where((_, i) => !input.TestIsAnomaly[i]).Select(e => (double)e).ToList();
        var anomalous = input.TestErrors.Where((_, i) => input.TestIsAnomaly[i]).Select(e => (double)e).ToList();
        bool logErrors = Bins.PrefersLog(input.TestErrors.Select(e => (double)e));
        Add("histogram", SvgCharts.Histogram(
            new HistogramOptions("Reconstruction error of test digits", logErrors ? "reconstruction error (log scale)" : "reconstruction error")
            {
                LogX = logErrors, Threshold = input.Threshold,
            },
            [new Distribution("normal", normal), new Distribution("anomalous", anomalous)]));

        Add("roc", SvgCharts.Roc([new AreaCurve("test set", m.RocFpr, m.RocTpr, m.Auroc)]));
        double? prevalence = input.TestIsAnomaly.Length > 0 ? (double)anomalous.Count / input.TestIsAnomaly.Length : null;
        Add("pr", SvgCharts.PrecisionRecall([new AreaCurve("test set", m.PrRecall, m.PrPrecision, m.AveragePrecision)], prevalence));

        var (thresholds, f1) = F1Curve.Compute(input.TestErrors, input.TestIsAnomaly);
        Add("f1", SvgCharts.F1VsThreshold(thresholds, f1, input.Threshold, m.F1, logErrors));

        Add("confusion", SvgCharts.ConfusionMatrix(m.TruePositives, m.FalsePositives, m.TrueNegatives, m.FalseNegatives,
            $"Confusion matrix at threshold {input.Threshold.ToString("G4", Inv)}"));

        // A digit is drawn as normal when any of its test images is normal (the protocols split by digit).
        var normalDigits = input.TestLabels.Where((_, i) => !input.TestIsAnomaly[i]).ToHashSet();
        var bars = m.DigitFlagRates.Select((rate, d) => new Bar(d.ToString(Inv), double.IsFinite(rate) ? 100 * rate : 0, normalDigits.Contains((byte)d) ? 0 : 1)
        {
            ValueLabel = double.IsFinite(rate) ? (100 * rate).ToString("0.#", Inv) : "n/a",
        }).ToList();
        Add("digits", SvgCharts.Bars(new BarChartOptions("Share of each digit flagged as anomalous", "digit", "flagged (%)")
        {
            GroupNames = ["normal digit", "anomalous digit"], YRange = (0, 100),
        }, bars));
        return charts;
    }

    private static string LossChart(IReadOnlyList<(string RunName, ReportInput Input)> runs, string title)
    {
        var series = new List<Series>();
        ChartMarker? marker = null;
        for (int r = 0; r < runs.Count; r++)
        {
            var (name, input) = runs[r];
            string prefix = name == "" ? "" : name + ": ";
            bool points = runs.Count == 1 && input.History.Count <= 40;
            double[] epochs = [.. input.History.Select(h => (double)h.Epoch)];
            series.Add(new Series(prefix + "training loss", epochs, [.. input.History.Select(h => h.TrainLoss)]) { Colour = runs.Count == 1 ? 0 : r, Dash = 0, ShowPoints = points });
            var monitored = input.History.Where(h => h.MonitorLoss is double v && double.IsFinite(v)).ToList();
            if (monitored.Count > 0)
                series.Add(new Series(prefix + input.MonitorName, [.. monitored.Select(h => (double)h.Epoch)], [.. monitored.Select(h => h.MonitorLoss!.Value)])
                {
                    Colour = runs.Count == 1 ? 1 : r, Dash = 1, ShowPoints = points,
                });
            if (runs.Count == 1 && input.BestEpoch is int best)
            {
                var row = input.History.FirstOrDefault(h => h.Epoch == best);
                marker = new ChartMarker(best, $"kept: epoch {best}") { Y = row?.MonitorLoss ?? row?.TrainLoss };
            }
        }
        var losses = series.SelectMany(s => s.Y).Where(v => v > 0 && double.IsFinite(v)).ToList();
        bool logY = losses.Count > 0 && losses.Max() / losses.Min() > 10;
        return SvgCharts.Line(new LineChartOptions(title, "epoch", logY ? "loss (log scale)" : "loss") { LogY = logY, Marker = marker }, series);
    }

    private static List<SampleGrid> Grids(ReportInput input)
    {
        var grids = new List<SampleGrid>();
        if (input.Samples is not { } s) return grids;
        void Add(string file, string title, string note, IReadOnlyList<ImageSample> samples)
        {
            if (samples.Count == 0) return;
            var grid = ImageGrid.Pairs([.. samples.Select(x => (x.Original, x.Reconstruction))]);
            grids.Add(new SampleGrid(file, title, note, grid, [.. samples.Select(x => $"{x.Label} · {x.Error.ToString("G3", Inv)}")]));
        }
        Add("samples-best-normal.png", "Best reconstructed normal digits", "lowest error among normal test digits", s.BestNormals);
        Add("samples-worst-normal.png", "Worst reconstructed normal digits", "highest error among normal test digits: the likely false alarms", s.WorstNormals);
        Add("samples-most-anomalous.png", "Most anomalous anomalies", "highest error among anomalous test digits", s.MostAnomalous);
        Add("samples-least-anomalous.png", "Least anomalous anomalies", "lowest error among anomalous test digits: the likely misses", s.LeastAnomalous);
        return grids;
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string F3(double v) => double.IsFinite(v) ? v.ToString("0.000", Inv) : "n/a";

    private static string Count(long v) => v.ToString("N0", Inv);

    private static string Html(ReportInput input, Dictionary<string, Chart> charts, List<SampleGrid> grids)
    {
        var m = input.Metrics;
        int anomalies = input.TestIsAnomaly.Count(a => a), total = input.TestIsAnomaly.Length;
        var h = new StringBuilder();
        Head(h, input.Title);
        h.Append($"<header>\n<h1>{E(input.Title)}</h1>\n");
        h.Append($"<p class=\"lede\">Autoencoder anomaly detection on MNIST: {Count(total)} test digits ({Count(total - anomalies)} normal, {Count(anomalies)} anomalous); ")
         .Append($"a digit is flagged as anomalous when its reconstruction error is at or above the threshold {E(input.Threshold.ToString("G4", Inv))}.</p>\n");
        // Warnings (a collapsed model, a threshold that flags none or all) stand at the top, not only among the settings.
        foreach (var (_, warning) in input.Settings.Where(s => s.Key == "warning"))
            h.Append($"<p class=\"warning\"><strong>Warning:</strong> {E(warning)}</p>\n");
        h.Append("<div class=\"tiles\">\n");
        foreach (var (key, value) in new[]
                 {
                     ("AUROC", F3(m.Auroc)), ("average precision", F3(m.AveragePrecision)), ("F1 (anomaly positive)", F3(m.F1)),
                     ("F1 (normal positive)", F3(m.F1Normal)), ("accuracy", F3(m.Accuracy)), ("threshold", input.Threshold.ToString("G4", Inv)),
                 })
            h.Append($"<div class=\"tile\"><div class=\"v\">{E(value)}</div><div class=\"k\">{E(key)}</div></div>\n");
        h.Append("</div>\n</header>\n");

        if (charts.TryGetValue("loss", out var loss))
        {
            double seconds = input.History.Sum(r => r.Seconds);
            string kept = input.BestEpoch is int b ? $" The dashed line marks epoch {b}, whose weights were kept (early stopping on the {E(input.MonitorName)})." : "";
            Section(h, "training", "Training",
                Figure(loss, $"Mean loss per epoch over {input.History.Count} epochs ({seconds.ToString("0.#", Inv)} s in all).{kept}"));
        }
        Section(h, "errors", "Reconstruction error",
            Figure(charts["histogram"], "Each group's share of digits per bin, normal and anomalous test digits on shared bins; the black dashed line is the threshold. Counts are in the SVG's data."));
        Section(h, "ranking", "Ranking quality",
            $"<div class=\"row\">\n{Figure(charts["roc"], "ROC curve: how well the error ranks anomalies above normal digits, over all thresholds.")}"
            + $"{Figure(charts["pr"], "Precision-recall curve; the dotted line is the share of anomalies in the test set.")}</div>\n");
        Section(h, "threshold", "Choice of threshold",
            Figure(charts["f1"], "F1 (anomalies as the positive class) for every threshold between observed errors; the ring marks the chosen threshold."));
        Section(h, "classification", "At the chosen threshold",
            $"<div class=\"row\">\n{Figure(charts["confusion"], "Rows: actual class; columns: predicted class.")}"
            + $"{Figure(charts["digits"], "Share of each digit's test images flagged as anomalous.")}</div>\n" + MetricsTable(m, input.Threshold));

        if (grids.Count > 0)
        {
            var g = new StringBuilder("<p class=\"note\">Each pair shows the original digit (left) beside its reconstruction (right); the caption gives the digit label and the reconstruction error.</p>\n");
            foreach (var grid in grids) g.Append(GridHtml(grid));
            Section(h, "samples", "Originals and reconstructions", g.ToString());
        }
        if (input.Settings.Count > 0)
        {
            var t = new StringBuilder("<table class=\"settings\">\n<tbody>\n");
            foreach (var (key, value) in input.Settings) t.Append($"<tr><th scope=\"row\">{E(key)}</th><td>{E(value)}</td></tr>\n");
            t.Append("</tbody>\n</table>\n");
            Section(h, "settings", "Settings", t.ToString());
        }
        Foot(h);
        return h.ToString();
    }

    private static string MetricsTable(ReportMetrics m, double threshold)
    {
        var rows = new (string, string)[]
        {
            ("threshold", threshold.ToString("G4", Inv)), ("accuracy", F3(m.Accuracy)), ("precision (anomaly)", F3(m.Precision)),
            ("recall (anomaly)", F3(m.Recall)), ("F1 (anomaly positive)", F3(m.F1)), ("F1 (normal positive)", F3(m.F1Normal)),
            ("AUROC", F3(m.Auroc)), ("average precision", F3(m.AveragePrecision)),
            ("true positives", Count(m.TruePositives)), ("false positives", Count(m.FalsePositives)),
            ("true negatives", Count(m.TrueNegatives)), ("false negatives", Count(m.FalseNegatives)),
        };
        var t = new StringBuilder("<table class=\"metrics\">\n<tbody>\n");
        foreach (var (k, v) in rows) t.Append($"<tr><th scope=\"row\">{E(k)}</th><td class=\"num\">{E(v)}</td></tr>\n");
        return t.Append("</tbody>\n</table>\n").ToString();
    }

    private static string GridHtml(SampleGrid grid)
    {
        var r = grid.Grid;
        string Pct(double v) => (100 * v).ToString("0.###", Inv) + "%";
        var s = new StringBuilder($"<div class=\"samples\">\n<h3>{E(grid.Title)}</h3>\n<p class=\"note\">{E(grid.Note)}</p>\n");
        s.Append($"<div class=\"grid\" style=\"width: {r.Width}px\">")
         .Append($"<img src=\"data:image/png;base64,{Convert.ToBase64String(r.Png)}\" width=\"{r.Width}\" height=\"{r.Height}\" alt=\"{E(grid.Title)}\" />\n");
        foreach (var cell in r.Cells)
            s.Append($"<span class=\"cap\" style=\"left: {Pct((double)cell.X / r.Width)}; top: {Pct((double)cell.CaptionY / r.Height)}; width: {Pct((double)cell.Width / r.Width)}\">")
             .Append(E(grid.Captions[cell.Index])).Append("</span>\n");
        return s.Append("</div>\n</div>\n").ToString();
    }

    private static string Figure(Chart chart, string caption) =>
        $"<figure class=\"chart\">\n{SvgBuilder.ForInline(chart.Svg)}<figcaption>{caption}</figcaption>\n</figure>\n";

    private static void Section(StringBuilder h, string id, string title, string body) =>
        h.Append($"<section id=\"{id}\">\n<h2>{E(title)}</h2>\n{body}</section>\n");

    private const string Css = """
        :root { color-scheme: light; }
        body { margin: 0; background: #ffffff; color: #1a1a1a; font: 15px/1.45 Helvetica, Arial, 'Liberation Sans', sans-serif; }
        main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 40px; }
        h1 { font-size: 26px; margin: 0 0 6px; }
        h2 { font-size: 20px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d6d6d6; }
        h3 { font-size: 16px; margin: 18px 0 2px; }
        .lede { color: #444444; margin: 0 0 14px; max-width: 820px; }
        .note { color: #555555; font-size: 13px; margin: 2px 0 8px; }
        .warning { border: 1px solid #c0392b; background: #fdecea; color: #7b1d12; border-radius: 6px; padding: 8px 12px; margin: 0 0 14px; max-width: 820px; }
        .tiles { display: flex; flex-wrap: wrap; gap: 10px; }
        .tile { border: 1px solid #cfcfcf; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
        .tile .v { font-size: 22px; font-weight: bold; font-variant-numeric: tabular-nums; }
        .tile .k { font-size: 12px; color: #555555; }
        .row { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
        figure { margin: 0 0 12px; max-width: 100%; }
        figure svg { display: block; max-width: 100%; height: auto; }
        figcaption { font-size: 13px; color: #444444; max-width: 620px; margin-top: 4px; }
        table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
        th, td { text-align: left; padding: 4px 18px 4px 0; border-bottom: 1px solid #e2e2e2; vertical-align: top; }
        th { font-weight: normal; color: #444444; }
        thead th { font-weight: bold; color: #1a1a1a; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        table.comparison thead th { text-align: right; }
        td.differs { font-weight: bold; }
        .grid { position: relative; max-width: 100%; }
        .grid img { display: block; width: 100%; height: auto; image-rendering: pixelated; }
        .grid .cap { position: absolute; text-align: center; font-size: 11px; line-height: 1.3; color: #333333; white-space: nowrap; overflow: hidden; }
        footer { margin-top: 36px; color: #777777; font-size: 12px; }
        @media print {
          body { font-size: 12px; }
          main { max-width: none; padding: 0; }
          h2 { break-after: avoid; }
          figure, table, .samples, .tiles { break-inside: avoid; }
          .grid .cap { font-size: 9px; }
        }
        """;

    private static void Head(StringBuilder h, string title)
    {
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n")
         .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n")
         .Append($"<title>{E(title)}</title>\n<style>\n{Css}\n</style>\n</head>\n<body>\n<main>\n");
    }

    private static void Foot(StringBuilder h) =>
        h.Append("<footer>Written by aemnist; this page is self-contained and needs no network access.</footer>\n</main>\n</body>\n</html>\n");

    /// <summary>
    /// Writes one HTML page comparing runs: their metrics and settings side by side, ROC and precision-recall
    /// curves of all runs on shared axes, and their loss curves.
    /// </summary>
    public static void WriteComparison(string path, IReadOnlyList<(string RunName, ReportInput Input)> runs)
    {
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(RenderComparison(runs)));
    }

    /// <summary>The comparison page's HTML, as <see cref="WriteComparison"/> writes it.</summary>
    public static string RenderComparison(IReadOnlyList<(string RunName, ReportInput Input)> runs)
    {
        if (runs.Count == 0) throw new ArgumentException("Nothing to compare.", nameof(runs));
        foreach (var (_, input) in runs) Validate(input);
        var h = new StringBuilder();
        string title = $"Comparison of {runs.Count} runs";
        Head(h, title);
        h.Append($"<header>\n<h1>{E(title)}</h1>\n<p class=\"lede\">{E(string.Join(", ", runs.Select(r => r.RunName)))}</p>\n</header>\n");

        var table = new StringBuilder("<table class=\"comparison\">\n<thead>\n<tr><th></th>");
        foreach (var (name, _) in runs) table.Append($"<th scope=\"col\">{E(name)}</th>");
        table.Append("</tr>\n</thead>\n<tbody>\n");
        var metricRows = new (string Name, Func<ReportInput, string> Value)[]
        {
            ("AUROC", r => F3(r.Metrics.Auroc)), ("average precision", r => F3(r.Metrics.AveragePrecision)),
            ("F1 (anomaly positive)", r => F3(r.Metrics.F1)), ("F1 (normal positive)", r => F3(r.Metrics.F1Normal)),
            ("precision", r => F3(r.Metrics.Precision)), ("recall", r => F3(r.Metrics.Recall)), ("accuracy", r => F3(r.Metrics.Accuracy)),
            ("threshold", r => r.Threshold.ToString("G4", Inv)),
            ("TP / FP / TN / FN", r => $"{Count(r.Metrics.TruePositives)} / {Count(r.Metrics.FalsePositives)} / {Count(r.Metrics.TrueNegatives)} / {Count(r.Metrics.FalseNegatives)}"),
            ("epochs (kept)", r => r.History.Count == 0 ? "n/a" : $"{r.History.Count} ({(r.BestEpoch is int b ? b.ToString(Inv) : "last")})"),
            ("training time", r => r.History.Count == 0 ? "n/a" : r.History.Sum(x => x.Seconds).ToString("0.#", Inv) + " s"),
        };
        foreach (var (name, value) in metricRows)
        {
            table.Append($"<tr><th scope=\"row\">{E(name)}</th>");
            foreach (var (_, input) in runs) table.Append($"<td class=\"num\">{E(value(input))}</td>");
            table.Append("</tr>\n");
        }
        table.Append("</tbody>\n</table>\n");
        Section(h, "metrics", "Metrics", table.ToString());

        var roc = new Chart("roc.svg", SvgCharts.Roc([.. runs.Select(r => new AreaCurve(r.RunName, r.Input.Metrics.RocFpr, r.Input.Metrics.RocTpr, r.Input.Metrics.Auroc))], "ROC curves"));
        var pr = new Chart("pr.svg", SvgCharts.PrecisionRecall(
            [.. runs.Select(r => new AreaCurve(r.RunName, r.Input.Metrics.PrRecall, r.Input.Metrics.PrPrecision, r.Input.Metrics.AveragePrecision))],
            title: "Precision-recall curves"));
        Section(h, "ranking", "Ranking quality",
            $"<div class=\"row\">\n{Figure(roc, "ROC curves of all runs; areas in the legend.")}{Figure(pr, "Precision-recall curves; average precision in the legend.")}</div>\n");

        var withHistory = runs.Where(r => r.Input.History.Count > 0).ToList();
        if (withHistory.Count > 0)
        {
            var loss = new Chart("loss.svg", LossChart(withHistory, "Loss per epoch"));
            Section(h, "training", "Training", Figure(loss, "Solid: training loss; dashed: the monitored loss; one colour per run."));
        }

        var keys = runs.SelectMany(r => r.Input.Settings.Select(s => s.Key)).Distinct().ToList();
        if (keys.Count > 0)
        {
            var t = new StringBuilder("<table class=\"settings\">\n<thead>\n<tr><th></th>");
            foreach (var (name, _) in runs) t.Append($"<th scope=\"col\">{E(name)}</th>");
            t.Append("</tr>\n</thead>\n<tbody>\n");
            foreach (string key in keys)
            {
                t.Append($"<tr><th scope=\"row\">{E(key)}</th>");
                // Values that differ between runs are bold: usually what the comparison is about.
                var values = runs.Select(r => r.Input.Settings.Where(s => s.Key == key).Select(s => s.Value).FirstOrDefault() ?? "").ToList();
                string cls = values.Distinct().Count() > 1 ? " class=\"differs\"" : "";
                foreach (string value in values) t.Append($"<td{cls}>{E(value)}</td>");
                t.Append("</tr>\n");
            }
            t.Append("</tbody>\n</table>\n");
            Section(h, "settings", "Settings", t.ToString());
        }
        Foot(h);
        return h.ToString();
    }
}
