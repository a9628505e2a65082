// The charts parse as XML and draw the data they were given: points, bar heights, counts, markers, escaping.
using AeMnist.Reporting;
using static AeMnist.Core.Tests.Reporting.SvgReader;

namespace AeMnist.Core.Tests.Reporting;

public class SvgChartsTests
{
    private const double Pixel = 0.011; // coordinates are written with two decimals

    [Fact]
    public void Line_PointsMatchTheDataOnLinearAxes()
    {
        double[] x = [1, 2, 3, 4, 5], y = [0.9, 0.5, 0.31, 0.27, 0.25];
        string svg = SvgCharts.Line(new LineChartOptions("Loss", "epoch", "loss"), [new Series("train", x, y)]);
        var r = new SvgReader(svg);
        var points = r.Points("train");
        Assert.Equal(x.Length, points.Count);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(r.PixelX(x[i]), points[i].X, Pixel);
            Assert.Equal(r.PixelY(y[i]), points[i].Y, Pixel);
        }
    }

    [Fact]
    public void Line_LogY_MapsThroughLog10()
    {
        double[] x = [1, 2, 3], y = [0.1, 0.01, 0.001];
        var r = new SvgReader(SvgCharts.Line(new LineChartOptions("Loss", "epoch", "loss") { LogY = true }, [new Series("train", x, y)]));
        Assert.Equal("log", (string?)r.Single("plot-area").Attribute("data-y-scale"));
        var points = r.Points("train");
        // Equal ratios are equal pixel steps on a log axis.
        Assert.Equal(points[1].Y - points[0].Y, points[2].Y - points[1].Y, 0.02);
        Assert.Equal(r.PixelY(0.001), points[2].Y, Pixel);
        Assert.All(r.TickLabels("y"), l => Assert.Matches(@"^(0\.0*1|1|1e-?\d+)$|^0\.0*[25]$", l));
    }

    [Fact]
    public void Line_LegendOnlyWithSeveralSeries()
    {
        double[] x = [0, 1];
        var one = new SvgReader(SvgCharts.Line(new LineChartOptions("t", "x", "y"), [new Series("a", x, x)]));
        Assert.Empty(one.WithClass("legend-item"));
        var two = new SvgReader(SvgCharts.Line(new LineChartOptions("t", "x", "y"), [new Series("a", x, x), new Series("b", x, [1.0, 0])]));
        Assert.Equal(["a", "b"], two.WithClass("legend-item").Select(e => (string?)e.Attribute("data-name")));
        var lines = two.WithClass("series").ToList();
        Assert.NotEqual((string?)lines[0].Attribute("stroke"), (string?)lines[1].Attribute("stroke"));
        Assert.NotEqual((string?)lines[0].Attribute("stroke-dasharray"), (string?)lines[1].Attribute("stroke-dasharray"));
    }

    [Fact]
    public void Line_MarkerIsAtItsX()
    {
        double[] x = [1, 2, 3, 4], y = [4, 3, 2, 2.5];
        var options = new LineChartOptions("t", "x", "y") { Marker = new ChartMarker(3, "best epoch 3") { Y = 2 } };
        var r = new SvgReader(SvgCharts.Line(options, [new Series("s", x, y)]));
        var marker = r.Single("marker");
        Assert.Equal(3, D(marker, "data-x"));
        Assert.Equal(r.PixelX(3), D(marker, "x1"), Pixel);
        Assert.Equal("best epoch 3", r.Single("marker-label").Value);
        Assert.Equal(r.PixelY(2), D(r.Single("marker-point"), "cy"), Pixel);
    }

    [Fact]
    public void Line_TickLabelsAreNiceNumbers()
    {
        var r = new SvgReader(SvgCharts.Line(new LineChartOptions("t", "x", "y"), [new Series("s", [0.013, 0.77], [17.0, 1234])]));
        foreach (string axis in new[] { "x", "y" })
        {
            var values = r.WithClass(axis + "-ticks").Single().Elements(Svg + "text").Select(t => D(t, "data-value")).ToList();
            Assert.True(values.Count >= 3);
            double step = values[1] - values[0];
            Assert.True(TicksTests.IsNiceStep(step), $"{axis} step {step}");
        }
    }

    [Fact]
    public void Text_IsEscaped()
    {
        const string nasty = "a < b & \"c\" > 'd'";
        string svg = SvgCharts.Line(new LineChartOptions(nasty, nasty, nasty), [new Series(nasty, [0.0, 1], [0.0, 1]), new Series("x", [0.0, 1], [1.0, 0])]);
        Assert.DoesNotContain("a < b", svg);
        var r = new SvgReader(svg);
        Assert.Equal(nasty, r.Single("title").Value);
        Assert.Equal(nasty, r.Single("x-label").Value);
        Assert.Contains(r.WithClass("legend-item"), e => (string?)e.Attribute("data-name") == nasty);
    }

    [Fact]
    public void Roc_EndsAtTheCornerAndShowsTheArea()
    {
        double[] fpr = [0, 0, 0.1, 0.5, 1], tpr = [0, 0.4, 0.8, 0.95, 1];
        var r = new SvgReader(SvgCharts.Roc([new AreaCurve("dense", fpr, tpr, 0.9123)]));
        var plot = r.Single("plot-area");
        var points = r.Points("dense (AUROC 0.912)");
        Assert.Equal((D(plot, "x"), D(plot, "y") + D(plot, "height")), points[0]);
        Assert.Equal(D(plot, "x") + D(plot, "width"), points[^1].X, Pixel);
        Assert.Equal(D(plot, "y"), points[^1].Y, Pixel);
        for (int i = 0; i < fpr.Length; i++)
        {
            Assert.Equal(r.PixelX(fpr[i]), points[i].X, Pixel);
            Assert.Equal(r.PixelY(tpr[i]), points[i].Y, Pixel);
        }
        Assert.Contains("0.912", r.Single("title").Value);
        var diagonal = ParsePoints((string)r.Single("reference").Attribute("points")!);
        Assert.Equal(points[0], diagonal[0]);
        Assert.Equal(points[^1].X, diagonal[^1].X, Pixel);
    }

    [Fact]
    public void Roc_SeveralRuns_OneLineAndLegendEntryEach()
    {
        double[] f = [0, 1];
        var r = new SvgReader(SvgCharts.Roc([new AreaCurve("dense", f, f, 0.5), new AreaCurve("conv", f, f, 0.75)]));
        Assert.Equal(2, r.WithClass("series").Count());
        Assert.Equal(["dense (AUROC 0.500)", "conv (AUROC 0.750)", "chance"], r.WithClass("legend-item").Select(e => (string?)e.Attribute("data-name")));
    }

    [Fact]
    public void PrecisionRecall_HasChanceLineAtPrevalence()
    {
        var r = new SvgReader(SvgCharts.PrecisionRecall([new AreaCurve("run", [0.0, 0.5, 1], [1.0, 0.8, 0.5], 0.8)], prevalence: 0.5));
        var chance = ParsePoints((string)r.Single("reference").Attribute("points")!);
        Assert.All(chance, p => Assert.Equal(r.PixelY(0.5), p.Y, Pixel));
        Assert.Contains("AP 0.800", r.Single("title").Value);
    }

    [Fact]
    public void Decimate_KeepsEndsAndDropsPointsUnderAPixel()
    {
        var points = Enumerable.Range(0, 10001).Select(i => (i * 0.01, Math.Sqrt(i) * 0.5)).ToList();
        var kept = SvgCharts.Decimate(points);
        Assert.True(kept.Count < 2000, $"{kept.Count} points kept");
        Assert.Equal(points[0], kept[0]);
        Assert.Equal(points[^1], kept[^1]);
    }

    [Fact]
    public void Histogram_BarHeightsFollowTheCounts()
    {
        double[] normal = [0.1, 0.1, 0.12, 0.2, 0.21, 0.22, 0.23, 0.5];
        double[] anomalous = [0.4, 0.45, 0.9];
        var options = new HistogramOptions("Errors", "error") { Bins = 10, Threshold = 0.3 };
        var r = new SvgReader(SvgCharts.Histogram(options, [new Distribution("normal", normal), new Distribution("anomalous", anomalous)]));
        var groups = r.WithClass("bars").ToList();
        Assert.Equal(2, groups.Count);
        double[][] data = [normal, anomalous];
        double baseline = r.PixelY(0);
        for (int g = 0; g < 2; g++)
        {
            var bars = groups[g].Elements(Svg + "rect").ToList();
            Assert.Equal(data[g].Length, bars.Sum(b => (int)D(b, "data-count")));
            foreach (var bar in bars)
            {
                double lo = D(bar, "data-lo"), hi = D(bar, "data-hi"), count = D(bar, "data-count");
                Assert.Equal(data[g].Count(v => v >= lo && (v < hi || hi == bars.Max(b => D(b, "data-hi")) && v <= hi)), count);
                double expectedHeight = baseline - r.PixelY(100 * count / data[g].Length);
                Assert.Equal(expectedHeight, D(bar, "height"), Pixel);
                Assert.Equal(r.PixelX(lo), D(bar, "x"), Pixel);
            }
        }
        Assert.Equal(r.PixelX(0.3), D(r.Single("marker"), "x1"), Pixel);
        Assert.Equal(["normal (n = 8)", "anomalous (n = 3)"], r.WithClass("legend-item").Select(e => (string?)e.Attribute("data-name")));
    }

    [Fact]
    public void Histogram_LogX_BinsAreEqualInLogSpace()
    {
        double[] values = [0.001, 0.002, 0.01, 0.05, 0.3];
        var r = new SvgReader(SvgCharts.Histogram(new HistogramOptions("E", "error") { Bins = 12, LogX = true }, [new Distribution("all", values)]));
        Assert.Equal("log", (string?)r.Single("plot-area").Attribute("data-x-scale"));
        var bars = r.WithClass("bar").ToList();
        Assert.Equal(values.Length, bars.Sum(b => (int)D(b, "data-count")));
        var widths = bars.Select(b => D(b, "width")).ToList();
        Assert.All(widths, w => Assert.Equal(widths[0], w, 0.02));
        Assert.All(r.TickLabels("x"), l => Assert.Matches(@"^0\.0*[125]$|^[125]$", l));
    }

    [Fact]
    public void Bars_HeightsProportionalToValues()
    {
        var bars = Enumerable.Range(0, 10).Select(d => new Bar(d.ToString(), d * 10.0, d == 3 ? 0 : 1)).ToList();
        var r = new SvgReader(SvgCharts.Bars(new BarChartOptions("Flagged", "digit", "%") { GroupNames = ["normal", "anomalous"], YRange = (0, 100) }, bars));
        var rects = r.WithClass("bar").ToList();
        Assert.Equal(10, rects.Count);
        double full = r.PixelY(0) - r.PixelY(100);
        for (int d = 0; d < 10; d++)
        {
            Assert.Equal(d.ToString(), (string?)rects[d].Attribute("data-label"));
            Assert.Equal(full * d / 10, D(rects[d], "height"), Pixel);
        }
        Assert.Equal(2, r.WithClass("legend-item").Count());
        Assert.Equal("30", r.WithClass("value-label").ElementAt(3).Value);
    }

    [Fact]
    public void ConfusionMatrix_CellsHoldTheCounts()
    {
        var r = new SvgReader(SvgCharts.ConfusionMatrix(truePositives: 812, falsePositives: 95, trueNegatives: 905, falseNegatives: 188));
        var cells = r.WithClass("cell").ToDictionary(c => ((string)c.Attribute("data-actual")!, (string)c.Attribute("data-predicted")!), c => (long)D(c, "data-count"));
        Assert.Equal(905, cells[("normal", "normal")]);
        Assert.Equal(95, cells[("normal", "anomaly")]);
        Assert.Equal(188, cells[("anomaly", "normal")]);
        Assert.Equal(812, cells[("anomaly", "anomaly")]);
        Assert.Equal(["905", "95", "188", "812"], r.WithClass("cell-count").Select(t => t.Value));
    }

    [Fact]
    public void F1VsThreshold_MarksTheChosenThreshold()
    {
        var r = new SvgReader(SvgCharts.F1VsThreshold([0.01, 0.02, 0.03], [0.6, 0.8, 0.7], chosen: 0.02, chosenF1: 0.8, logX: false));
        Assert.Equal(r.PixelX(0.02), D(r.Single("marker"), "x1"), Pixel);
        Assert.Equal(r.PixelY(0.8), D(r.Single("marker-point"), "cy"), Pixel);
        Assert.Contains("0.02", r.Single("marker-label").Value);
    }
}
