// Shared histogram bins: edges, which bin an edge value falls in, counts, and the log-scale choice.
using AeMnist.Reporting;

namespace AeMnist.Core.Tests.Reporting;

public class BinsTests
{
    [Fact]
    public void Linear_EdgesAndIndices()
    {
        var bins = Bins.Create(0, 1, 10, log: false);
        Assert.Equal(11, bins.Edges.Count);
        Assert.Equal(0, bins.IndexOf(0));
        Assert.Equal(3, bins.IndexOf(0.3)); // closed on the left, despite 0.3 / 0.1 = 2.9999999999999996
        Assert.Equal(9, bins.IndexOf(1));   // the last bin is closed on both sides
        Assert.Equal(0, bins.IndexOf(-5));
        Assert.Equal(9, bins.IndexOf(7));
        Assert.Equal(-1, bins.IndexOf(double.NaN));
    }

    [Fact]
    public void Log_EdgesAreGeometric()
    {
        var bins = Bins.Create(0.001, 1, 3, log: true);
        Assert.Equal(0.01, bins.Edges[1], 12);
        Assert.Equal(0.1, bins.Edges[2], 12);
        Assert.Equal(1, bins.IndexOf(0.05));
        Assert.Equal(0, bins.IndexOf(0)); // at or below zero: the first bin
    }

    [Fact]
    public void CountValues_CountsEveryNonNaNValue()
    {
        var bins = Bins.Create(0, 4, 4, log: false);
        Assert.Equal([1L, 2, 0, 2], bins.CountValues([0.5, 1, 1.5, 3, 4, double.NaN]));
    }

    [Fact]
    public void Shared_CoversAllSamplesAndTheThreshold()
    {
        var (bins, axis) = Bins.Shared([[0.013, 0.02], [0.05]], 20, log: false, include: 0.09);
        Assert.True(bins.Edges[0] <= 0.013 && bins.Edges[^1] >= 0.09);
        Assert.Equal(axis.Min, bins.Edges[0]);
        Assert.Equal(axis.Max, bins.Edges[^1]);
    }

    [Fact]
    public void PrefersLog_OnlyForPositiveValuesSpanningDecades()
    {
        Assert.True(Bins.PrefersLog(Enumerable.Range(0, 100).Select(i => Math.Pow(10, -4 + i * 0.03))));
        Assert.False(Bins.PrefersLog(Enumerable.Range(50, 100).Select(i => i * 0.001)));
        Assert.False(Bins.PrefersLog([0.0, 0.001, 1]));
    }
}
