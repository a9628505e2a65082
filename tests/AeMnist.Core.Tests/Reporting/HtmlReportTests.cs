// The HTML report: self-contained, well-formed, every section present; each chart's labels (read back from its SVG
// text) and numbers (read back from the ScottPlot plottables) are the input's; readings and warnings; files written.
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using AeMnist.Reporting;
using ScottPlot;
using ScottPlot.Plottables;
using SkiaSharp;

namespace AeMnist.Core.Tests.Reporting;

public class HtmlReportTests
{
    private static readonly ReportInput Run = SyntheticRun.Create();
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static XDocument Parse(string html) => XDocument.Parse(html);

    private static IEnumerable<XElement> Named(XContainer root, string localName) => root.Descendants().Where(e => e.Name.LocalName == localName);

    private static IEnumerable<XElement> WithClass(XContainer root, string cls) =>
        root.Descendants().Where(e => ((string?)e.Attribute("class"))?.Split(' ').Contains(cls) == true);

    private static Chart Chart(ReportInput input, string name) => HtmlReport.Charts(input).Single(c => c.Name == name);

    private static string F3(double v) => v.ToString("0.000", Inv);

    internal static void AssertSelfContained(string html)
    {
        // Namespace names are identifiers, not fetches.
        string page = Regex.Replace(html, "xmlns(:\\w+)?=\"[^\"]*\"", "");
        Assert.DoesNotContain("http:", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https:", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", page, StringComparison.OrdinalIgnoreCase);
        foreach (Match m in Regex.Matches(page, @"url\(([^)]*)\)", RegexOptions.IgnoreCase)) Assert.StartsWith("#", m.Groups[1].Value);
        foreach (Match m in Regex.Matches(page, "(?:src|href)=\"([^\"]*)\"", RegexOptions.IgnoreCase))
            Assert.True(m.Groups[1].Value.StartsWith('#') || m.Groups[1].Value.StartsWith("data:image/png;base64,", StringComparison.Ordinal), m.Groups[1].Value);
        string withoutData = Regex.Replace(page, "data:image/png;base64,[A-Za-z0-9+/=]*", "data:");
        Assert.DoesNotContain("//", withoutData);
        // Ids are unique across the inline charts (each chart's clip paths are its own).
        var ids = Regex.Matches(page, " id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void Report_HasNoExternalReferences() => AssertSelfContained(HtmlReport.Render(Run));

    [Fact]
    public void Report_IsWellFormedWithEverySection()
    {
        string html = HtmlReport.Render(Run);
        Assert.StartsWith("<!DOCTYPE html>", html);
        var root = Parse(html).Root!;
        Assert.Equal("html", root.Name.LocalName);
        Assert.Equal(["training", "errors", "ranking", "threshold", "classification", "samples", "latent", "settings"],
            root.Descendants("section").Select(s => (string?)s.Attribute("id")));
        Assert.Equal(
            ["loss", "histogram", "roc", "pr", "f1", "confusion", "digits", "samples-best-normal", "samples-worst-normal", "samples-most-anomalous", "samples-least-anomalous", "latent"],
            Named(root, "svg").Select(s => (string?)s.Attribute("data-chart")));
        Assert.Equal(Run.Title, root.Descendants("h1").Single().Value);
        // Every chart's SVG says what it is, scales with the page, and names the shipped font first.
        foreach (XElement svg in Named(root, "svg"))
        {
            Assert.False(string.IsNullOrWhiteSpace(Named(svg, "title").First().Value));
            Assert.NotNull(svg.Attribute("viewBox"));
            Assert.All(Named(svg, "text"), t => Assert.StartsWith("'Liberation Sans', Arial", (string?)t.Attribute("font-family")));
        }
    }

    [Fact]
    public void Loss_ShowsBothCurvesAndTheEarlyStoppingPoint()
    {
        Chart loss = Chart(Run, "loss");
        var lines = loss.Plot.GetPlottables<Scatter>().ToList();
        Assert.Equal(["training loss", "validation loss"], lines.Select(l => l.LegendText));
        Assert.Equal(Run.History.Select(h => h.TrainLoss), lines[0].Data.GetScatterPoints().Select(p => p.Y));
        Assert.Equal(Run.BestEpoch!.Value, loss.Plot.GetPlottables<VerticalLine>().Single().X);
        var texts = loss.Texts();
        Assert.Contains($"early-stopping point (weights of epoch {Run.BestEpoch} kept)", texts);
        Assert.Contains("epoch", texts);
        Assert.Contains("Training and validation loss per epoch", texts);
    }

    [Fact]
    public void Histogram_BarsAreEachGroupsSharesAndTheThresholdIsMarked()
    {
        Chart histogram = Chart(Run, "histogram");
        var groups = histogram.Plot.GetPlottables<BarPlot>().ToList();
        int normals = Run.TestIsAnomaly.Count(a => !a), anomalies = Run.TestIsAnomaly.Count(a => a);
        Assert.Equal([$"normal (n = {normals:N0})", $"anomalous (n = {anomalies:N0})"], groups.Select(g => g.LegendText));
        foreach (BarPlot g in groups) Assert.Equal(100, g.Bars.Sum(b => b.Value), 9);
        // Log-spaced bins here (the synthetic errors span decades): the threshold line sits at log10 of it.
        Assert.Equal(Math.Log10(Run.Threshold), histogram.Plot.GetPlottables<VerticalLine>().Single().X, 12);
        var texts = histogram.Texts();
        Assert.Contains($"threshold {Run.Threshold.ToString("G3", Inv)} (flagged at or above)", texts);
        Assert.Contains("MSE (log scale)", texts);
        Assert.Contains("MSE of test digits", texts);
        Assert.Contains("share of group (%)", texts);
        // Every error lands in exactly one bin.
        var bins = Charts.Bin([Run.TestErrors.Select(e => (double)e).ToList()], 40, log: true, Run.Threshold);
        Assert.Equal(Run.TestErrors.Length, bins.Counts[0].Sum());
    }

    [Fact]
    public void RocAndPr_MarkTheOperatingPoint()
    {
        var m = Run.Metrics;
        double fpr = (double)m.FalsePositives / (m.FalsePositives + m.TrueNegatives);
        Chart roc = Chart(Run, "roc");
        Marker point = roc.Plot.GetPlottables<Marker>().First(p => p.LegendText.Length > 0);
        Assert.Equal((fpr, m.Recall), (point.X, point.Y));
        var texts = roc.Texts();
        Assert.Contains($"ROC curve (AUROC {F3(m.Auroc)})", texts);
        Assert.Contains($"the test split (AUROC {F3(m.Auroc)})", texts);
        Assert.Contains($"threshold {Run.Threshold.ToString("G3", Inv)}: FPR {F3(fpr)}, TPR {F3(m.Recall)}", texts);
        Assert.Contains("false positive rate", texts);
        var curve = roc.Plot.GetPlottables<Scatter>().First().Data.GetScatterPoints();
        Assert.Equal((1.0, 1.0), (curve[^1].X, curve[^1].Y));

        Chart pr = Chart(Run, "pr");
        Marker prPoint = pr.Plot.GetPlottables<Marker>().First(p => p.LegendText.Length > 0);
        Assert.Equal((m.Recall, m.Precision), (prPoint.X, prPoint.Y));
        Assert.Contains($"threshold {Run.Threshold.ToString("G3", Inv)}: recall {F3(m.Recall)}, precision {F3(m.Precision)}", pr.Texts());
        Assert.Contains("chance (share of anomalies 0.5)", pr.Texts());
    }

    [Fact]
    public void F1_MarksTheChosenThresholdAndTheBestOnlyAsAReference()
    {
        Chart f1 = Chart(Run, "f1");
        var markers = f1.Plot.GetPlottables<Marker>().ToList();
        Marker chosen = markers.Single(p => p.LegendText.StartsWith("chosen", StringComparison.Ordinal));
        Assert.Equal(Math.Log10(Run.Threshold), chosen.X, 12);
        Assert.Equal(Run.Metrics.F1, chosen.Y);
        var (thresholds, values) = F1Curve.Compute(Run.TestErrors, Run.TestIsAnomaly);
        int best = Array.IndexOf(values, values.Max());
        Marker reference = markers.Single(p => p.LegendText.StartsWith("best", StringComparison.Ordinal));
        Assert.Equal(values[best], reference.Y);
        Assert.Contains($"best F1 on these labels (reference only): {F3(values[best])} at {thresholds[best].ToString("G3", Inv)}", f1.Texts());
        string html = HtmlReport.Render(Run);
        Assert.Contains($"the best F1 would be {F3(values[best])}, at threshold {thresholds[best].ToString("G4", Inv)}", html);
    }

    [Fact]
    public void ConfusionMatrixAndDigitRates_ShowTheCounts()
    {
        var m = Run.Metrics;
        var texts = Chart(Run, "confusion").Texts();
        foreach (var (name, count) in new[] { ("true positives", m.TruePositives), ("false positives", m.FalsePositives), ("true negatives", m.TrueNegatives), ("false negatives", m.FalseNegatives) })
        {
            int at = texts.ToList().IndexOf(name);
            Assert.True(at >= 0, name);
            Assert.Equal(count.ToString("N0", Inv), texts[at + 1]);
        }

        Chart digits = Chart(Run, "digits");
        var bars = digits.Plot.GetPlottables<BarPlot>().Single().Bars;
        for (int d = 0; d < 10; d++) Assert.Equal(100 * m.ClassFlagRates[d], bars[d].Value, 9);
        var labels = digits.Texts();
        Assert.Contains("3 (normal)", labels);
        Assert.Contains((100 * m.ClassFlagRates[4]).ToString("0.#", Inv), labels);
        Assert.NotEqual(bars[3].FillColor, bars[4].FillColor);
    }

    [Fact]
    public void Samples_ShowOriginalReconstructionAndErrorWithCaptions()
    {
        Chart chart = Chart(Run, "samples-best-normal");
        var heatmaps = chart.Plot.GetPlottables<Heatmap>().ToList();
        Assert.Equal(3 * Run.Samples!.BestNormals.Count, heatmaps.Count);
        var first = Run.Samples.BestNormals[0];
        // The third heatmap of the first column is its squared error, pixel by pixel.
        var error = heatmaps[2];
        Assert.Equal(Math.Pow(first.Reconstruction[300] - first.Original[300], 2), error.GetValue(new Coordinates(300 % 28 + 0.5, -64 + 28 - 300 / 28 - 0.5)), 6);
        var texts = chart.Texts();
        Assert.Contains($"{first.Label} · {first.Error.ToString("G3", Inv)}", texts);
        Assert.Contains("squared error", texts);
        Assert.Contains("(x − x̂)² per pixel", texts);
    }

    [Fact]
    public void Latent_ColoursEachDigit()
    {
        Chart latent = Chart(Run, "latent");
        var groups = latent.Plot.GetPlottables<Markers>().ToList();
        Assert.Equal(Run.Latent!.Labels.Distinct().Count(), groups.Count);
        Assert.Equal(Run.Latent.Labels.Length, groups.Sum(g => g.Data.GetScatterPoints().Count));
        Assert.Contains(latent.Texts(), t => t.StartsWith("3 (normal, n = ", StringComparison.Ordinal));
        Assert.Contains(latent.Texts(), t => t.StartsWith("PC 1 (", StringComparison.Ordinal));
    }

    [Fact]
    public void Reading_SaysWhatTheResultMeans()
    {
        var doc = Parse(HtmlReport.Render(Run));
        string reading = WithClass(doc, "reading").Single().Value;
        Assert.StartsWith($"AUROC {Run.Metrics.Auroc.ToString("0.00", Inv)}: {Readings.Describe(Run.Metrics.Auroc)}.", reading);
        Assert.Empty(WithClass(doc, "warnings"));

        Assert.Equal("close to chance", Readings.Describe(0.59));
        Assert.StartsWith("worse than chance", Readings.Describe(0.4));
        Assert.StartsWith("strong", Readings.Describe(0.95));

        var warned = Run with { TestUsedForEarlyStopping = true, ConstantOutput = true };
        var warnings = WithClass(Parse(HtmlReport.Render(warned)), "warnings").Single().Descendants("li").Select(li => li.Value).ToList();
        Assert.Contains(warnings, w => w.StartsWith("Collapsed model", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.StartsWith("Early stopping watched the test split", StringComparison.Ordinal));

        // A threshold above every error flags nothing, and the report says so.
        double high = Run.TestErrors.Max() * 2;
        var nothing = Run with
        {
            Threshold = high,
            Metrics = SyntheticRun.Metrics(Run.TestErrors, Run.TestLabels, Run.TestIsAnomaly, high),
        };
        Assert.Contains(Readings.Read(nothing).Warnings, w => w.Contains("flags none of the 2,000 test digits", StringComparison.Ordinal));

        // A model from elsewhere: no claim about its early stopping, and a note that its training is unknown.
        var foreign = Run with { History = [], BestEpoch = null, TestUsedForEarlyStopping = null, TrainedElsewhere = true };
        string html = HtmlReport.Render(foreign);
        Assert.DoesNotContain("Early stopping watched", html);
        Assert.Contains("trained elsewhere", html);
    }

    [Fact]
    public void Report_EscapesText()
    {
        var run = Run with { Title = "<script>alert('x')</script> & co", Settings = [("a<b", "\"quoted\" & <tag>")] };
        string html = HtmlReport.Render(run);
        Assert.DoesNotContain("<script>", html);
        var doc = Parse(html);
        Assert.Equal(run.Title, doc.Descendants("h1").Single().Value);
        Assert.Equal(run.Title, doc.Descendants("title").First().Value);
        Assert.Equal("\"quoted\" & <tag>", doc.Descendants("td").Last().Value);
    }

    [Fact]
    public void Report_WithoutHistoryOrSamples_LeavesThoseSectionsOut()
    {
        var run = Run with { History = [], BestEpoch = null, Samples = null, Settings = [], Latent = null };
        var doc = Parse(HtmlReport.Render(run));
        Assert.Equal(["errors", "ranking", "threshold", "classification"], doc.Descendants("section").Select(s => (string?)s.Attribute("id")));
    }

    [Fact]
    public void Report_DegenerateInputsStillRender()
    {
        var nanMetrics = Run.Metrics with
        {
            Precision = double.NaN, F1 = double.NaN, Auroc = double.NaN, AveragePrecision = double.NaN,
            RocFpr = [], RocTpr = [], PrRecall = [], PrPrecision = [],
            ClassFlagRates = [.. Enumerable.Repeat(double.NaN, 10)],
        };
        var flat = Run with
        {
            TestErrors = [.. Enumerable.Repeat(0.01f, 50)], TestLabels = new byte[50], TestIsAnomaly = new bool[50], Metrics = nanMetrics, Latent = null,
        };
        var doc = Parse(HtmlReport.Render(flat));
        Assert.Contains("n/a", doc.Descendants("table").First().Value);
        Assert.Contains(Named(doc, "svg"), svg => Named(svg, "title").First().Value == "ROC curve (AUROC n/a)");
        var empty = Run with { TestErrors = [], TestLabels = [], TestIsAnomaly = [], Metrics = nanMetrics, Samples = null, Latent = null };
        AssertSelfContained(HtmlReport.Render(empty));
        Assert.Equal("(no errors to show)\n", TextHistogram.Render([], [], 0.01));
    }

    [Fact]
    public void Report_RejectsMismatchedArrays()
    {
        var e = Assert.Throws<ArgumentException>(() => HtmlReport.Render(Run with { TestLabels = new byte[3] }));
        Assert.Contains("TestLabels (3)", e.Message);
    }

    [Fact]
    public void Write_WritesTheReportAndEveryChartAsSvgAndPng()
    {
        string dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "aemnist-report-" + Guid.NewGuid().ToString("N"))).FullName;
        try
        {
            var written = HtmlReport.Write(dir, Run);
            string[] charts = ["loss", "histogram", "roc", "pr", "f1", "confusion", "digits", "latent",
                "samples-best-normal", "samples-worst-normal", "samples-most-anomalous", "samples-least-anomalous"];
            string[] expected = [.. charts.SelectMany(c => new[] { c + ".svg", c + ".png" }), "report.html"];
            Assert.Equal(expected.Order(), written.Select(Path.GetFileName).Order()!);
            Assert.Equal(expected.Order(), Directory.GetFiles(dir).Select(Path.GetFileName).Order()!); // no temporary files left
            foreach (string name in charts)
            {
                string svg = File.ReadAllText(Path.Combine(dir, name + ".svg"));
                Assert.NotEmpty(AeMnist.Reporting.Chart.SvgTexts(svg));
                using SKBitmap png = SKBitmap.Decode(Path.Combine(dir, name + ".png"));
                Assert.True(png.Width > 300 && png.Height > 200, $"{name}.png is {png.Width}x{png.Height}");
            }
            Assert.Equal(HtmlReport.Render(Run), File.ReadAllText(Path.Combine(dir, "report.html")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Comparison_PutsRunsSideBySideAndExplainsItsBoldCells()
    {
        var other = SyntheticRun.Create(seed: 11, normalDigit: 5, title: "Conv autoencoder");
        string html = HtmlReport.RenderComparison([("dense", Run), ("conv", other)]);
        AssertSelfContained(html);
        var doc = Parse(html);
        var roc = Named(doc, "svg").Single(s => (string?)s.Attribute("data-chart") == "roc");
        var texts = Named(roc, "text").Select(t => t.Value.Trim()).ToList();
        Assert.Contains($"dense (AUROC {F3(Run.Metrics.Auroc)})", texts);
        Assert.Contains($"conv (AUROC {F3(other.Metrics.Auroc)})", texts);
        var table = doc.Descendants("section").Single(s => (string?)s.Attribute("id") == "metrics").Descendants("table").Single();
        Assert.Equal(["", "dense", "conv"], table.Descendants("thead").Single().Descendants("th").Select(th => th.Value));
        var aurocRow = table.Descendants("tr").Single(tr => tr.Element("th")!.Value == "AUROC").Elements("td").ToList();
        Assert.Equal([F3(Run.Metrics.Auroc), F3(other.Metrics.Auroc)], aurocRow.Select(td => td.Value));
        int better = Run.Metrics.Auroc > other.Metrics.Auroc ? 0 : 1;
        Assert.Contains("best", (string?)aurocRow[better].Attribute("class"));
        Assert.DoesNotContain("best", (string?)aurocRow[1 - better].Attribute("class"));
        var thresholdRow = table.Descendants("tr").Single(tr => tr.Element("th")!.Value == "threshold").Elements("td");
        Assert.All(thresholdRow, td => Assert.DoesNotContain("best", (string?)td.Attribute("class")));
        Assert.Contains("Bold in a metric row: the best value among the runs", html);
        Assert.Contains("Bold in a settings row: the runs differ in it", html);
        var loss = Named(doc, "svg").Single(s => (string?)s.Attribute("data-chart") == "loss");
        Assert.Contains("conv: validation loss", Named(loss, "text").Select(t => t.Value.Trim()));
    }

    [Fact]
    public void F1Curve_MatchesBruteForce()
    {
        float[] errors = [0.5f, 0.1f, 0.3f, 0.3f, 0.9f, 0.2f, 0.7f];
        bool[] anomaly = [true, false, false, true, true, false, true];
        var (thresholds, f1) = F1Curve.Compute(errors, anomaly);
        Assert.Equal([0.1, 0.2, 0.3, 0.5, 0.7, 0.9], thresholds.Select(t => Math.Round(t, 6)));
        Assert.Equal(1.0 * 8 / 11, f1[0], 12);
        for (int j = 0; j < thresholds.Length; j++)
        {
            int tp = 0, fp = 0, fn = 0;
            for (int i = 0; i < errors.Length; i++)
            {
                bool flagged = errors[i] >= thresholds[j];
                if (flagged && anomaly[i]) tp++;
                else if (flagged) fp++;
                else if (anomaly[i]) fn++;
            }
            Assert.Equal(2.0 * tp / (2 * tp + fp + fn), f1[j], 12);
        }
        var many = Enumerable.Range(0, 5000).Select(i => (float)i).ToArray();
        var (t2, _) = F1Curve.Compute(many, [.. many.Select(v => v > 2500)], maxPoints: 100);
        Assert.Equal(100, t2.Length);
        Assert.Equal(0, t2[0]);
        Assert.Equal(4999, t2[^1]);
    }

    [Fact]
    public void SampleReport_ForTheBrowserCheck()
    {
        // Set AEMNIST_SAMPLE_REPORT_DIR to keep the sample and render it in Chromium.
        string? target = Environment.GetEnvironmentVariable("AEMNIST_SAMPLE_REPORT_DIR");
        string dir = Directory.CreateDirectory(target ?? Path.Combine(Path.GetTempPath(), "aemnist-sample-" + Guid.NewGuid().ToString("N"))).FullName;
        try
        {
            HtmlReport.Write(dir, Run);
            HtmlReport.WriteComparison(Path.Combine(dir, "compare.html"),
                [("dense", Run), ("conv", SyntheticRun.Create(seed: 11, title: "Conv autoencoder"))]);
            Assert.True(File.Exists(Path.Combine(dir, "report.html")));
            Assert.True(File.Exists(Path.Combine(dir, "compare.html")));
        }
        finally
        {
            if (target is null) Directory.Delete(dir, recursive: true);
        }
    }
}
