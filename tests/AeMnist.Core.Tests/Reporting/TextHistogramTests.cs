// The terminal histogram: aligned lines, counts that add up, bars that follow the shares, the threshold marked.
using System.Globalization;
using AeMnist.Reporting;

namespace AeMnist.Core.Tests.Reporting;

public class TextHistogramTests
{
    private static readonly ReportInput Run = SyntheticRun.Create();

    private static (List<double> Normal, List<double> Anomalous) Errors() =>
        (Run.TestErrors.Where((_, i) => !Run.TestIsAnomaly[i]).Select(e => (double)e).ToList(),
         Run.TestErrors.Where((_, i) => Run.TestIsAnomaly[i]).Select(e => (double)e).ToList());

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Lines_AlignAndCountsAddUp(bool ascii)
    {
        var (normal, anomalous) = Errors();
        string text = TextHistogram.Render(normal, anomalous, Run.Threshold, new TextHistogramOptions { Ascii = ascii });
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(1 + 20 + 1, lines.Length);
        var rows = lines[1..^1];
        int width = lines[0].Length;
        string WithoutMark(string row)
        {
            int k = row.IndexOf("  " + (ascii ? "<" : "◀"), StringComparison.Ordinal);
            return k < 0 ? row : row[..k];
        }
        Assert.All(rows, r => Assert.Equal(width, WithoutMark(r).Length));

        long Count(string row, int fromEnd) =>
            long.Parse(WithoutMark(row).Split(' ', StringSplitOptions.RemoveEmptyEntries)[^fromEnd], NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        Assert.Equal(normal.Count, rows.Sum(r => Count(r, 2)));
        Assert.Equal(anomalous.Count, rows.Sum(r => Count(r, 1)));

        var marked = rows.Where(r => r.StartsWith(ascii ? ">" : "▶", StringComparison.Ordinal)).ToList();
        Assert.Single(marked);
        Assert.Contains($"threshold {Run.Threshold.ToString("G4", CultureInfo.InvariantCulture)}", marked[0]);
        if (ascii) Assert.All(text, c => Assert.True(c < 128, $"non-ASCII '{c}'"));
    }

    [Fact]
    public void Bars_FollowTheSharesOfEachGroup()
    {
        // Normal: 4 in bin 0, 2 in bin 1; anomalous: 1 in bin 1. Shares 2/3, 1/3 and 1 -> 16, 8 and 24 of 24.
        double[] normal = [0.5, 0.5, 0.5, 0.5, 1.5, 1.5];
        double[] anomalous = [1.5];
        string text = TextHistogram.Render(normal, anomalous, threshold: 1.2,
            new TextHistogramOptions { Bins = 2, Ascii = true, LogX = false, BarWidth = 24 });
        var rows = text.Split('\n')[1..3];
        Assert.Equal(16, rows[0].Count(c => c == '#'));
        Assert.Equal(0, rows[0].Count(c => c == '+'));
        Assert.Equal(8, rows[1].Count(c => c == '#'));
        Assert.Equal(24, rows[1].Count(c => c == '+'));
        Assert.StartsWith(">", rows[1]);
        Assert.StartsWith(" ", rows[0]);
    }

    [Fact]
    public void NonEmptyBinsAreNeverInvisible()
    {
        double[] normal = [.. Enumerable.Repeat(0.5, 1000), 1.5];
        string text = TextHistogram.Render(normal, [], threshold: 1.0, new TextHistogramOptions { Bins = 2, Ascii = true, LogX = false });
        Assert.Equal(1, text.Split('\n')[2].Count(c => c == '#'));
    }

    [Fact]
    public void NothingToShow() => Assert.Equal("(no errors to show)\n", TextHistogram.Render([], [double.NaN], 0.1));
}
