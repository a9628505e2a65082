// Nice ticks: 1-2-5 steps, labels that read back as the tick values, decades on log axes.
using System.Globalization;
using AeMnist.Reporting;

namespace AeMnist.Core.Tests.Reporting;

public class TicksTests
{
    internal static bool IsNiceStep(double step)
    {
        double mantissa = step / Math.Pow(10, Math.Floor(Math.Log10(step) + 1e-9));
        return new[] { 1.0, 2.0, 5.0 }.Any(m => Math.Abs(mantissa - m) < 1e-6);
    }

    [Theory]
    [InlineData(1.0, 5, 0.2)]
    [InlineData(10.0, 5, 2)]
    [InlineData(0.037, 6, 0.01)]
    [InlineData(7.0, 7, 1)]
    [InlineData(7.0, 6, 2)]
    [InlineData(100.0, 4, 50)]
    [InlineData(3e-6, 6, 5e-7)]
    public void NiceStep_IsTheSmallest125StepThatFits(double range, int maxIntervals, double expected)
    {
        Assert.Equal(expected, Ticks.NiceStep(range, maxIntervals), 12);
    }

    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(0.0123, 0.0871)]
    [InlineData(-3.7, 12.2)]
    [InlineData(1.0, 30.0)]
    [InlineData(0.000013, 0.000049)]
    [InlineData(5.0, 5.0)]
    [InlineData(1234.0, 98765.0)]
    public void Linear_TicksAreNiceAndCoverTheRange(double min, double max)
    {
        var axis = Ticks.Linear(min, max, 7);
        Assert.True(IsNiceStep(axis.Step), $"step {axis.Step}");
        Assert.InRange(axis.Values.Count, 2, 7);
        Assert.True(axis.Min <= min && axis.Max >= max);
        foreach (double v in axis.Values)
        {
            Assert.Equal(0, Math.Abs(v / axis.Step - Math.Round(v / axis.Step)), 6);
            string label = axis.Label(v);
            Assert.Equal(v, double.Parse(label, CultureInfo.InvariantCulture), Math.Max(1e-12, axis.Step * 1e-6));
        }
        Assert.Equal(axis.Values.Count, axis.Values.Select(axis.Label).Distinct().Count());
    }

    [Fact]
    public void Linear_LabelsHaveOnlyTheNeededDecimals()
    {
        var axis = Ticks.Linear(0, 1, 6);
        Assert.Equal(["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"], axis.Values.Select(axis.Label));
        var big = Ticks.Linear(0, 30, 7);
        Assert.Equal(["0", "5", "10", "15", "20", "25", "30"], big.Values.Select(big.Label));
        Assert.Equal("1e-6", Ticks.Format(0.000001, 0.0000005));
    }

    [Fact]
    public void Linear_WithoutExpand_KeepsTheDomain()
    {
        var axis = Ticks.Linear(0.5, 9.5, 6, expand: false);
        Assert.Equal((0.5, 9.5), (axis.Min, axis.Max));
        Assert.Equal([2.0, 4, 6, 8], axis.Values);
    }

    [Fact]
    public void Log_ManyDecades_TicksAtDecades()
    {
        var axis = Ticks.Log(0.00031, 0.42);
        Assert.Equal(0.0002, axis.Min, 12);
        Assert.Equal(0.5, axis.Max, 12);
        Assert.Equal(["0.001", "0.01", "0.1"], axis.Values.Select(axis.Label));
    }

    [Fact]
    public void Log_FewDecades_Ticks125()
    {
        var axis = Ticks.Log(0.0031, 0.042);
        Assert.Equal(["0.002", "0.005", "0.01", "0.02", "0.05"], axis.Values.Select(axis.Label));
        Assert.Equal(0.002, axis.Min, 12);
        Assert.Equal(0.05, axis.Max, 12);
    }

    [Fact]
    public void Log_TinyValues_UseScientificLabels()
    {
        Assert.Equal("1e-6", Ticks.FormatLog(1e-6));
        Assert.Equal("0.0001", Ticks.FormatLog(1e-4));
        Assert.Equal("1e7", Ticks.FormatLog(1e7));
    }

    [Fact]
    public void Log_RejectsNonPositive() => Assert.Throws<ArgumentException>(() => Ticks.Log(0, 1));
}
