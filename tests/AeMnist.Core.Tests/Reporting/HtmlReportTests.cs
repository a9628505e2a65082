// The HTML report: self-contained (only data: URIs), well-formed, every section present, charts showing
// the input's numbers, and the files written beside it.
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using AeMnist.Imaging;
using AeMnist.Reporting;

namespace AeMnist.Core.Tests.Reporting;

public class HtmlReportTests
{
    private static readonly ReportInput Run = SyntheticRun.Create();

    private static XDocument Parse(string html) => XDocument.Parse(html);

    private static IEnumerable<XElement> WithClass(XContainer root, string cls) =>
        root.Descendants().Where(e => ((string?)e.Attribute("class"))?.Split(' ').Contains(cls) == true);

    private static double D(XElement e, string attribute) => double.Parse((string)e.Attribute(attribute)!, CultureInfo.InvariantCulture);

    internal static void AssertSelfContained(string html)
    {
        Assert.DoesNotContain("http:", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https:", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("href=", html, StringComparison.OrdinalIgnoreCase);
        foreach (Match m in Regex.Matches(html, "src=\"([^\"]*)\"", RegexOptions.IgnoreCase))
            Assert.StartsWith("data:image/png;base64,", m.Groups[1].Value);
        // Base64 may contain "//"; nothing else may (a protocol-relative URL).
        string withoutData = Regex.Replace(html, "data:image/png;base64,[A-Za-z0-9+/=]*", "data:");
        Assert.DoesNotContain("//", withoutData);
    }

    [Fact]
    public void Report_HasNoExternalReferences() => AssertSelfContained(HtmlReport.Render(Run));

    [Fact]
    public void Report_IsWellFormedWithEverySection()
    {
        string html = HtmlReport.Render(Run);
        Assert.StartsWith("<!DOCTYPE html>", html);
        var doc = Parse(html);
        var root = doc.Root!;
        Assert.Equal("html", root.Name.LocalName);
        Assert.Single(root.Elements("head"));
        Assert.Single(root.Elements("body"));
        Assert.Single(root.Descendants("main"));
        var sections = root.Descendants("section").Select(s => (string?)s.Attribute("id")).ToList();
        Assert.Equal(["training", "errors", "ranking", "threshold", "classification", "samples", "settings"], sections);
        Assert.Equal(7, root.Descendants("svg").Count());
        Assert.Equal(4, root.Descendants("img").Count());
        Assert.Equal(Run.Title, root.Descendants("h1").Single().Value);
    }

    [Fact]
    public void Report_ChartsShowTheInputsNumbers()
    {
        var doc = Parse(HtmlReport.Render(Run));
        var m = Run.Metrics;

        var histogram = doc.Descendants("section").Single(s => (string?)s.Attribute("id") == "errors");
        var groups = WithClass(histogram, "bars").ToDictionary(g => (string)g.Attribute("data-name")!, g => g.Elements("rect").Sum(r => (long)D(r, "data-count")));
        Assert.Equal(Run.TestIsAnomaly.Count(a => !a), groups["normal"]);
        Assert.Equal(Run.TestIsAnomaly.Count(a => a), groups["anomalous"]);

        var cells = WithClass(doc, "cell").ToDictionary(c => ((string)c.Attribute("data-actual")!, (string)c.Attribute("data-predicted")!), c => (long)D(c, "data-count"));
        Assert.Equal(m.TruePositives, cells[("anomaly", "anomaly")]);
        Assert.Equal(m.FalsePositives, cells[("normal", "anomaly")]);
        Assert.Equal(m.TrueNegatives, cells[("normal", "normal")]);
        Assert.Equal(m.FalseNegatives, cells[("anomaly", "normal")]);

        var digitSection = doc.Descendants("svg").Single(s => s.Element("title")!.Value.StartsWith("Share of each digit"));
        var bars = WithClass(digitSection, "bar").ToList();
        Assert.Equal(10, bars.Count);
        for (int d = 0; d < 10; d++) Assert.Equal(100 * m.DigitFlagRates[d], D(bars[d], "data-value"), 9);
        Assert.Equal("0", (string?)bars[3].Attribute("data-group")); // the normal digit
        Assert.Equal("1", (string?)bars[4].Attribute("data-group"));

        var roc = doc.Descendants("svg").Single(s => s.Element("title")!.Value.StartsWith("ROC"));
        var plot = WithClass(roc, "plot-area").Single();
        var points = SvgReader.ParsePoints((string)WithClass(roc, "series").Single().Attribute("points")!);
        Assert.Equal(D(plot, "x") + D(plot, "width"), points[^1].X, 0.011);
        Assert.Equal(D(plot, "y"), points[^1].Y, 0.011);

        var loss = doc.Descendants("svg").Single(s => s.Element("title")!.Value.StartsWith("Training"));
        Assert.Equal(Run.BestEpoch!.Value, D(WithClass(loss, "marker").Single(), "data-x"));
        Assert.Equal(2, WithClass(loss, "series").Count());

        var f1 = doc.Descendants("svg").Single(s => s.Element("title")!.Value.StartsWith("F1"));
        Assert.Equal(Run.Threshold, D(WithClass(f1, "marker").Single(), "data-x"), 12);

        var settings = doc.Descendants("table").Single(t => (string?)t.Attribute("class") == "settings");
        Assert.Equal(Run.Settings.Select(s => s.Key), settings.Descendants("th").Select(th => th.Value));
    }

    [Fact]
    public void Report_CaptionsEachSampleWithLabelAndError()
    {
        var doc = Parse(HtmlReport.Render(Run));
        var grids = WithClass(doc, "grid").Where(e => e.Name.LocalName == "div").ToList();
        Assert.Equal(4, grids.Count);
        var first = Run.Samples!.BestNormals[0];
        var caption = WithClass(grids[0], "cap").First().Value;
        Assert.Equal($"{first.Label} · {first.Error.ToString("G3", CultureInfo.InvariantCulture)}", caption);
        string src = (string)grids[0].Element("img")!.Attribute("src")!;
        var (_, w, h) = Png.Decode(Convert.FromBase64String(src["data:image/png;base64,".Length..]), "grid");
        Assert.Equal((string?)grids[0].Element("img")!.Attribute("width"), w.ToString(CultureInfo.InvariantCulture));
        Assert.Equal((string?)grids[0].Element("img")!.Attribute("height"), h.ToString(CultureInfo.InvariantCulture));
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
        var run = Run with { History = [], BestEpoch = null, Samples = null, Settings = [] };
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
            DigitFlagRates = [.. Enumerable.Repeat(double.NaN, 10)],
        };
        // No anomalies at all, every error equal.
        var flat = Run with
        {
            TestErrors = [.. Enumerable.Repeat(0.01f, 50)], TestLabels = new byte[50], TestIsAnomaly = new bool[50], Metrics = nanMetrics,
        };
        var doc = Parse(HtmlReport.Render(flat));
        Assert.Contains("n/a", doc.Descendants("table").First().Value);
        Assert.Contains(doc.Descendants("svg"), svg => svg.Element("title")!.Value == "ROC curve (AUROC n/a)");
        // An empty test set.
        var empty = Run with { TestErrors = [], TestLabels = [], TestIsAnomaly = [], Metrics = nanMetrics, Samples = null };
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
    public void Write_WritesTheReportEveryChartAndGrid()
    {
        string dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "aemnist-report-" + Guid.NewGuid().ToString("N"))).FullName;
        try
        {
            var written = HtmlReport.Write(dir, Run);
            string[] expected =
            [
                "loss.svg", "histogram.svg", "roc.svg", "pr.svg", "f1.svg", "confusion.svg", "digits.svg",
                "samples-best-normal.png", "samples-worst-normal.png", "samples-most-anomalous.png", "samples-least-anomalous.png", "report.html",
            ];
            Assert.Equal(expected.Order(), written.Select(Path.GetFileName).Order()!);
            Assert.Equal(expected.Order(), Directory.GetFiles(dir).Select(Path.GetFileName).Order()!); // no temporary files left
            foreach (string svg in Directory.GetFiles(dir, "*.svg")) _ = new SvgReader(File.ReadAllText(svg));
            foreach (string png in Directory.GetFiles(dir, "*.png")) Png.Decode(File.ReadAllBytes(png), png);
            Assert.Equal(HtmlReport.Render(Run), File.ReadAllText(Path.Combine(dir, "report.html")));

            HtmlReport.Write(dir, Run); // overwriting works
            Assert.Equal(expected.Length, Directory.GetFiles(dir).Length);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Comparison_PutsRunsSideBySide()
    {
        var other = SyntheticRun.Create(seed: 11, normalDigit: 5, title: "Conv autoencoder");
        string html = HtmlReport.RenderComparison([("dense", Run), ("conv", other)]);
        AssertSelfContained(html);
        var doc = Parse(html);
        var roc = doc.Descendants("svg").Single(s => s.Element("title")!.Value.StartsWith("ROC"));
        Assert.Equal(
            [$"dense (AUROC {Run.Metrics.Auroc.ToString("F3", CultureInfo.InvariantCulture)})", $"conv (AUROC {other.Metrics.Auroc.ToString("F3", CultureInfo.InvariantCulture)})"],
            WithClass(roc, "series").Select(s => (string?)s.Attribute("data-name")));
        var table = doc.Descendants("table").First();
        Assert.Equal(["", "dense", "conv"], table.Descendants("thead").Single().Descendants("th").Select(th => th.Value));
        var aurocRow = table.Descendants("tr").Single(tr => tr.Element("th")!.Value == "AUROC");
        Assert.Equal([Run.Metrics.Auroc.ToString("0.000", CultureInfo.InvariantCulture), other.Metrics.Auroc.ToString("0.000", CultureInfo.InvariantCulture)],
            aurocRow.Elements("td").Select(td => td.Value));
        var loss = doc.Descendants("svg").Single(s => s.Element("title")!.Value.StartsWith("Loss"));
        Assert.Equal(4, WithClass(loss, "series").Count());
    }

    [Fact]
    public void F1Curve_MatchesBruteForce()
    {
        float[] errors = [0.5f, 0.1f, 0.3f, 0.3f, 0.9f, 0.2f, 0.7f];
        bool[] anomaly = [true, false, false, true, true, false, true];
        var (thresholds, f1) = F1Curve.Compute(errors, anomaly);
        Assert.Equal([0.1, 0.2, 0.3, 0.5, 0.7, 0.9], thresholds.Select(t => Math.Round(t, 6)));
        Assert.Equal(1.0 * 8 / 11, f1[0], 12); // everything flagged: TP 4, FP 3
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
        // .ci/browser-check.sh sets AEMNIST_SAMPLE_REPORT_DIR to render the sample in Chromium.
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
