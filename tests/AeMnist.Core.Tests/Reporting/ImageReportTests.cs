// The report of a run on data other than MNIST (3x40x40 RGB discs, classes chunk/good/scratch): it names its classes,
// its data and its score, never says "digit" or "MNIST", draws RGB samples in colour with the score's own per-pixel map
// (whose mean is the caption's number), and the comparison page says when runs were evaluated on different data.
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using AeMnist.Reporting;
using AeMnist.Scoring;
using AeMnist.Tensors;
using ScottPlot;
using ScottPlot.Plottables;

namespace AeMnist.Core.Tests.Reporting;

public class ImageReportTests
{
    private static readonly ReportInput Discs = SyntheticRun.CreateDiscs();
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static IEnumerable<XElement> Named(XContainer root, string localName) => root.Descendants().Where(e => e.Name.LocalName == localName);

    private static Chart Chart(ReportInput input, string name) => HtmlReport.Charts(input).Single(c => c.Name == name);

    // Every word a reader sees: the page's text and every chart's SVG text (which the page inlines), and the file names.
    private static string Visible(ReportInput input) =>
        string.Join("\n", [XDocument.Parse(HtmlReport.Render(input)).Root!.Value, .. HtmlReport.Charts(input).SelectMany(c => c.Texts().Append(c.Name).Append(c.Title))]);

    [Theory]
    [InlineData(ScoreKind.Mse)]
    [InlineData(ScoreKind.Ssim)]
    [InlineData(ScoreKind.Smoothed)]
    public void ImageReport_NeverSaysDigitOrMnist(ScoreKind score)
    {
        ReportInput run = SyntheticRun.CreateDiscs(score);
        string text = Visible(run);
        Assert.DoesNotContain("digit", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("MNIST", text, StringComparison.Ordinal);
        HtmlReportTests.AssertSelfContained(HtmlReport.Render(run));
        // The MNIST report does say them (its wording is kept).
        string mnist = Visible(SyntheticRun.Create());
        Assert.Contains("test digits", mnist);
        Assert.Contains("on MNIST", mnist);
    }

    [Fact]
    public void ImageReport_NamesItsDataClassesAndScore()
    {
        var doc = XDocument.Parse(HtmlReport.Render(Discs));
        Assert.Equal(Discs.Title, doc.Descendants("h1").Single().Value);
        string lede = doc.Descendants("p").Single(p => (string?)p.Attribute("class") == "lede").Value;
        Assert.StartsWith("Autoencoder anomaly detection on /data/discs (MVTec AD): 600 test images (40x40 RGB) from the test split", lede);
        Assert.Contains("40x40 RGB", lede);
        Assert.Contains("normal: good;", lede);
        Assert.Contains("anomalous: chunk, scratch)", lede);
        Assert.Contains("an image is flagged as anomalous when its score (1 − SSIM) is at or above the threshold", lede);
        string facts = doc.Descendants("p").Single(p => (string?)p.Attribute("class") == "facts").Value;
        Assert.Contains("data: MVTec AD at /data/discs (sha256 " + Discs.Data!.Sha256 + ")", facts);
        Assert.Contains("score: 1 − SSIM", facts);
        Assert.Contains("engine: native (cpu, 2 threads)", facts);
        Assert.Equal(["loss", "histogram", "roc", "pr", "f1", "confusion", "classes", "samples-best-normal", "samples-worst-normal", "samples-most-anomalous", "samples-least-anomalous", "latent"],
            Named(doc, "svg").Select(s => (string?)s.Attribute("data-chart")));
        // Images given to evaluate --input are named by the name they were given.
        var given = XDocument.Parse(HtmlReport.Render(Discs with { Data = ReportData.Input("mine") }));
        Assert.StartsWith("Autoencoder anomaly detection on --input mine: 600 test images (40x40 RGB) (300 normal", given.Descendants("p").Single(p => (string?)p.Attribute("class") == "lede").Value);
        Assert.StartsWith("data: --input mine · score", given.Descendants("p").Single(p => (string?)p.Attribute("class") == "facts").Value);
        Assert.Equal("Score (1 − SSIM)", doc.Descendants("section").Single(s => (string?)s.Attribute("id") == "errors").Element("h2")!.Value);
    }

    [Theory]
    [InlineData(ScoreKind.Mse, "MSE")]
    [InlineData(ScoreKind.Ssim, "1 − SSIM")]
    [InlineData(ScoreKind.Smoothed, "smoothed MSE")]
    public void EveryAxisAndCaptionNamesTheScore(ScoreKind score, string label)
    {
        ReportInput run = SyntheticRun.CreateDiscs(score);
        Assert.Equal(label, Scores.Label(score));
        var histogram = Chart(run, "histogram").Texts();
        Assert.Contains(histogram, t => t == label || t == label + " (log scale)");
        Assert.Contains($"{label} of test images", histogram);
        Assert.Contains(Chart(run, "f1").Texts(), t => t == $"threshold on {label}" || t == $"threshold on {label} (log scale)");
        var samples = Chart(run, "samples-most-anomalous").Texts();
        Assert.Contains(Charts.MapLabels(score, 3).Row, samples);
        Assert.Contains(Charts.MapLabels(score, 3).Bar, samples);
        Assert.EndsWith(", mean of channels", Charts.MapLabels(score, 3).Bar);
        // The colour bar's label runs along the bar: the chart is high enough to show it whole (it was cut at both ends).
        Assert.True(Chart(run, "samples-most-anomalous").Height >= Charts.BarLabelHeight(Charts.MapLabels(score, 3).Bar),
            $"{Chart(run, "samples-most-anomalous").Height} px for '{Charts.MapLabels(score, 3).Bar}'");
        string note = XDocument.Parse(HtmlReport.Render(run)).Descendants("section").Single(s => (string?)s.Attribute("id") == "samples").Element("p")!.Value;
        Assert.Contains(score == ScoreKind.Mse ? "reconstruction error (MSE)" : $"score ({label})", note);
        Assert.Contains("averaged over the channels", note);
        Assert.Equal(score == ScoreKind.Ssim, note.Contains("gray border", StringComparison.Ordinal));
        // The text histogram names it too.
        string text = TextHistogram.Render([0.1, 0.2], [0.3], 0.25, new TextHistogramOptions { ValueName = label });
        Assert.StartsWith("  " + label, text);
    }

    [Theory]
    [InlineData(ScoreKind.Mse)]
    [InlineData(ScoreKind.Ssim)]
    [InlineData(ScoreKind.Smoothed)]
    public void Samples_DrawRgbInColourAndTheScoresMapWhoseMeanIsTheCaption(ScoreKind score)
    {
        ReportInput run = SyntheticRun.CreateDiscs(score);
        Chart chart = Chart(run, "samples-most-anomalous");
        var samples = run.Samples!.MostAnomalous;
        // Originals and reconstructions as RGB bitmaps, the map as the one heatmap per column.
        var pictures = chart.Plot.GetPlottables<ImageRect>().ToList();
        var maps = chart.Plot.GetPlottables<Heatmap>().ToList();
        Assert.Equal(2 * samples.Count, pictures.Count);
        Assert.Equal(samples.Count, maps.Count);
        ScottPlot.Image picture = pictures[0].Image!;
        Assert.Equal(40, picture.Width);
        using (SkiaSharp.SKBitmap decoded = SkiaSharp.SKBitmap.Decode(picture.GetImageBytes()))
        {
            float[] original = samples[0].Original;
            foreach (var (y, x) in new[] { (20, 20), (3, 5), (30, 12) })
            {
                SkiaSharp.SKColor pixel = decoded.GetPixel(x, y);
                Assert.Equal([(byte)Math.Round(255 * original[y * 40 + x]), (byte)Math.Round(255 * original[1600 + y * 40 + x]), (byte)Math.Round(255 * original[3200 + y * 40 + x])],
                    new[] { pixel.Red, pixel.Green, pixel.Blue });
            }
        }
        for (int c = 0; c < samples.Count; c++)
        {
            var expected = new float[1600];
            Scores.Map(score, samples[c].Original, samples[c].Reconstruction, SyntheticRun.DiscShape, expected);
            double[,] shown = maps[c].Intensities;
            var finite = new List<double>();
            for (int y = 0; y < 40; y++)
                for (int x = 0; x < 40; x++)
                {
                    Assert.Equal(float.IsFinite(expected[y * 40 + x]), double.IsFinite(shown[y, x]));
                    if (double.IsFinite(shown[y, x])) finite.Add(shown[y, x]);
                }
            Assert.Equal(samples[c].Error, finite.Average(), 1e-5 * samples[c].Error + 1e-7);
            Assert.Equal(score == ScoreKind.Ssim ? 30 * 30 : 1600, finite.Count);
        }
        Assert.Equal(Charts.Uncovered, maps[0].NaNCellColor);
        var texts = chart.Texts();
        Assert.Contains(samples[0].Error.ToString("G3", Inv), texts);
        Assert.Contains(run.ClassNames[samples[0].Label], texts);
    }

    [Fact]
    public void Samples_OfLargeGrayImagesAreShownShrunkAndStillMapped()
    {
        var shape = new ImageShape(1, 300, 260);
        var rng = new Rng(3);
        float[] image = [.. Enumerable.Range(0, shape.Length).Select(_ => rng.NextSingle())];
        float[] reconstruction = [.. image.Select(v => 0.5f * v + 0.25f)];
        var score = new float[1];
        Scores.FromReconstructions(ScoreKind.Mse, image, reconstruction, 1, shape, score);
        Chart chart = Charts.Samples([new ImageSample(image, reconstruction, score[0], 0)], shape, ScoreKind.Mse, ["a class with a rather long name indeed"], "Large", "samples-large");
        var heatmaps = chart.Plot.GetPlottables<Heatmap>().ToList();
        Assert.Equal(3, heatmaps.Count);  // gray: original and reconstruction as heatmaps, then the map
        Assert.Equal((100, 87), (heatmaps[0].Intensities.GetLength(0), heatmaps[0].Intensities.GetLength(1)));
        Assert.Contains(chart.Texts(), t => t.StartsWith("a class", StringComparison.Ordinal) && t.EndsWith('…'));
        Assert.True(chart.Width < 500 && chart.Height < 800, $"{chart.Width}x{chart.Height}");
        string note = HtmlReport.Render(Discs with { Shape = shape, Samples = null });
        Assert.DoesNotContain("averaged over blocks", note);  // no samples, no note
    }

    [Fact]
    public void ClassRates_NameEveryClassReadably()
    {
        Chart chart = Chart(Discs, "classes");
        BarPlot bars = chart.Plot.GetPlottables<BarPlot>().Single();
        Assert.All(bars.Bars, b => Assert.Equal(Orientation.Horizontal, b.Orientation));
        for (int c = 0; c < 3; c++) Assert.Equal(100 * Discs.Metrics.ClassFlagRates[c], bars.Bars[c].Value, 9);
        var texts = chart.Texts();
        Assert.Contains("good (normal)", texts);
        Assert.Contains("scratch", texts);
        Assert.Contains("chunk", texts);
        Assert.Contains("anomalous class", texts);
        Assert.Contains("Share of each class flagged as anomalous", texts);

        // Any number of classes, long names cut, the chart growing with them.
        string[] names = [.. Enumerable.Range(0, 14).Select(i => i == 5 ? "a defect class whose name goes on and on for quite a while" : $"defect {i}")];
        Chart many = Charts.ClassFlagRates([.. Enumerable.Range(0, 14).Select(i => i / 14.0)], new HashSet<int> { 2 }, names);
        Assert.Equal(14, many.Plot.GetPlottables<BarPlot>().Single().Bars.Count);
        Assert.Contains(Charts.Shorten(names[5]), many.Texts());
        Assert.Equal(Charts.MaxClassNameLength, Charts.Shorten(names[5]).Length);
        Assert.Contains("defect 2 (normal)", many.Texts());
        Assert.True(many.Height > Chart(Discs, "classes").Height);
    }

    [Fact]
    public void Latent_ColoursAndNamesEachClass()
    {
        Chart latent = Chart(Discs, "latent");
        var groups = latent.Plot.GetPlottables<Markers>().ToList();
        Assert.Equal(3, groups.Count);
        Assert.Contains(latent.Texts(), t => t.StartsWith("good (normal, n = ", StringComparison.Ordinal));
        Assert.Contains(latent.Texts(), t => t.StartsWith("scratch (n = ", StringComparison.Ordinal));
        Assert.Equal(3, groups.Select(g => g.Color).Distinct().Count());

        // More classes than colours: the normal class and the largest others keep theirs, the rest are one gray group.
        var rng = new Rng(9);
        byte[] labels = [.. Enumerable.Range(0, 600).Select(i => (byte)(i % 25 == 0 ? 24 : i % 24))];
        var p = new LatentProjection([.. labels.Select(_ => rng.NextDouble())], [.. labels.Select(_ => rng.NextDouble())], labels, [0.5, 0.2], 8, 24,
            [.. Enumerable.Range(0, 25).Select(i => $"c{i}")]);
        Chart crowded = Charts.Latent(p);
        var crowd = crowded.Plot.GetPlottables<Markers>().ToList();
        Assert.Equal(AeMnist.Reporting.Palette.DistinctClasses, crowd.Count);
        Assert.Equal(600, crowd.Sum(g => g.Data.GetScatterPoints().Count));
        Assert.Contains(crowded.Texts(), t => t.StartsWith("c24 (normal, n = ", StringComparison.Ordinal));
        Assert.Contains(crowded.Texts(), t => t.StartsWith("6 other classes (n = ", StringComparison.Ordinal));
    }

    [Fact]
    public void Comparison_HasADataRowAndWarnsWhenTheDataDiffer()
    {
        ReportInput mnist = SyntheticRun.Create() with { Data = new ReportData("MNIST", "/data/mnist", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2") };
        string html = HtmlReport.RenderComparison([("digits", mnist), ("discs", Discs)]);
        HtmlReportTests.AssertSelfContained(html);
        var doc = XDocument.Parse(html);
        string warning = doc.Descendants("div").Single(d => (string?)d.Attribute("class") == "warnings").Value;
        Assert.Contains("evaluated on different data", warning);
        Assert.Contains("digits on MNIST at /data/mnist (sha256 a1b2c3d4e5f6…)", warning);
        Assert.Contains("discs on MVTec AD at /data/discs", warning);
        var data = doc.Descendants("section").Single(s => (string?)s.Attribute("id") == "data").Descendants("table").Single();
        var row = data.Descendants("tr").Single(tr => tr.Element("th")!.Value == "data").Elements("td").ToList();
        Assert.Equal(["MNIST at /data/mnist", "MVTec AD at /data/discs"], row.Select(td => td.Value));
        Assert.All(row, td => Assert.Equal("differs", (string?)td.Attribute("class")));
        Assert.Equal([mnist.Data!.Sha256, Discs.Data!.Sha256], data.Descendants("tr").Single(tr => tr.Element("th")!.Value == "sha256").Elements("td").Select(td => td.Value));
        Assert.Equal(["MSE", "1 − SSIM"], data.Descendants("tr").Single(tr => tr.Element("th")!.Value == "score").Elements("td").Select(td => td.Value));

        // The same data under another path (same checksum): no warning; the same data twice: none either.
        var moved = Discs with { Data = Discs.Data with { Path = "/elsewhere/discs" } };
        string same = HtmlReport.RenderComparison([("a", Discs), ("b", moved)]);
        Assert.DoesNotContain("different data", same);
        Assert.DoesNotContain("different data", HtmlReport.RenderComparison([("a", Discs), ("b", SyntheticRun.CreateDiscs(ScoreKind.Mse))]));
        // Unknown data beside known: said so.
        Assert.Contains("is not known", HtmlReport.RenderComparison([("a", Discs), ("hand", SyntheticRun.Create())]));
        Assert.Matches(new Regex("Best AUROC: .*images"), XDocument.Parse(HtmlReport.RenderComparison([("a", Discs), ("b", moved)])).Root!.Value);

        // The same data, other test images (the seed protocol's 2,000 of MNIST's test part against one-class's 10,000): warned.
        var oneClass = Discs with { TestImages = "1111" };
        var fewer = Discs with { TestImages = "2222", TestErrors = Discs.TestErrors[..10], TestLabels = Discs.TestLabels[..10], TestIsAnomaly = Discs.TestIsAnomaly[..10] };
        var other = XDocument.Parse(HtmlReport.RenderComparison([("all", oneClass), ("some", fewer)]));
        string otherImages = other.Descendants("div").Single(d => (string?)d.Attribute("class") == "warnings").Value;
        Assert.Contains($"evaluated on different test images of the same data, so their figures are not measured on the same images: all on the test split ({Discs.TestErrors.Length} images); some on the test split (10 images)", otherImages);
        Assert.All(other.Descendants("tr").Single(tr => tr.Element("th")!.Value == "evaluated on").Elements("td"), td => Assert.Equal("differs", (string?)td.Attribute("class")));
        Assert.DoesNotContain("different test images", HtmlReport.RenderComparison([("a", oneClass), ("b", oneClass)]));
        Assert.DoesNotContain("different test images", HtmlReport.RenderComparison([("a", oneClass), ("b", Discs)]));  // one unknown: not claimed
    }

    [Fact]
    public void Readings_UseTheDatasWords()
    {
        var warned = Discs with { TestUsedForEarlyStopping = true, ConstantOutput = true };
        var reading = Readings.Read(warned);
        Assert.Contains("normal images", reading.Headline);
        Assert.Contains(reading.Warnings, w => w.StartsWith("Collapsed model", StringComparison.Ordinal) && w.Contains("scores only measure", StringComparison.Ordinal));
        Assert.Contains(reading.Warnings, w => w.Contains("these very images", StringComparison.Ordinal));
        double high = Discs.TestErrors.Max() * 2;
        var nothing = Discs with { Threshold = high, Metrics = SyntheticRun.Metrics(Discs.TestErrors, Discs.TestLabels, Discs.TestIsAnomaly, high) };
        Assert.Contains(Readings.Read(nothing).Warnings, w => w.Contains("flags none of the 600 test images (every score is below it)", StringComparison.Ordinal));
    }

    [Fact]
    public void SampleImageReport_ForTheBrowserCheck()
    {
        // Set AEMNIST_SAMPLE_REPORT_DIR to keep the sample (in images/) and render it in Chromium.
        string? target = Environment.GetEnvironmentVariable("AEMNIST_SAMPLE_REPORT_DIR");
        string dir = Directory.CreateDirectory(Path.Combine(target ?? Path.Combine(Path.GetTempPath(), "aemnist-sample-" + Guid.NewGuid().ToString("N")), "images")).FullName;
        try
        {
            HtmlReport.Write(dir, Discs);
            HtmlReport.WriteComparison(Path.Combine(dir, "compare.html"), [("discs-ssim", Discs), ("discs-mse", SyntheticRun.CreateDiscs(ScoreKind.Mse, seed: 8))]);
            Assert.True(File.Exists(Path.Combine(dir, "classes.svg")));
            Assert.False(File.Exists(Path.Combine(dir, "digits.svg")));
        }
        finally
        {
            if (target is null) Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true);
        }
    }
}
