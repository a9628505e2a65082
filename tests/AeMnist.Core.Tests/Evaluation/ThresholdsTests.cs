using AeMnist.Evaluation;

namespace AeMnist.Core.Tests.Evaluation;

public sealed class ThresholdsTests
{
    [Theory]
    // np.percentile([1, 2, 3, 4], 90): index 2.7 -> 3 + 0.7 = 3.7.
    [InlineData(new float[] { 1, 2, 3, 4 }, 90, 3.7)]
    // np.percentile([15, 20, 35, 40, 50], 40): index 1.6 -> 20 + 0.6 * 15 = 29.
    [InlineData(new float[] { 15, 20, 35, 40, 50 }, 40, 29)]
    [InlineData(new float[] { 3, 1, 2 }, 50, 2)]
    [InlineData(new float[] { 3, 1, 2 }, 0, 1)]
    [InlineData(new float[] { 3, 1, 2 }, 100, 3)]
    [InlineData(new float[] { 3, 1, 2 }, 25, 1.5)]
    [InlineData(new float[] { 7 }, 63, 7)]
    [InlineData(new float[] { 5, 5, 5, 9 }, 50, 5)]
    [InlineData(new float[] { float.NegativeInfinity, 0, 1 }, 100, 1)]
    public void Percentile_MatchesNumpyLinear(float[] values, double p, double expected)
    {
        Assert.Equal(expected, Thresholds.Percentile(values, p), 1e-12);
    }

    [Fact]
    public void Percentile_InterpolatesFromTheNearerEndLikeNumpy()
    {
        // numpy's _lerp uses b - (b - a)(1 - g) when g >= 0.5, which is exact at g = 1 and monotone in p.
        float[] values = [0.1f, 0.7f];
        double previous = double.NegativeInfinity;
        for (int i = 0; i <= 1000; i++)
        {
            double q = Thresholds.Percentile(values, i / 10.0);
            Assert.True(q >= previous);
            previous = q;
        }
        Assert.Equal((double)0.7f, Thresholds.Percentile(values, 100));
        Assert.Equal((double)0.1f, Thresholds.Percentile(values, 0));
    }

    [Fact]
    public void Percentile_DoesNotReorderTheInput()
    {
        float[] values = [3, 1, 2];
        Thresholds.Percentile(values, 50);
        Assert.Equal(new float[] { 3, 1, 2 }, values);
    }

    [Fact]
    public void Percentile_RejectsBadArguments()
    {
        Assert.Throws<ArgumentException>(() => Thresholds.Percentile([], 50));
        Assert.Throws<ArgumentException>(() => Thresholds.Percentile([1, float.NaN], 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => Thresholds.Percentile([1], -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Thresholds.Percentile([1], 100.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Thresholds.Percentile([1], double.NaN));
    }

    [Fact]
    public void FromContamination_IsThePercentileOfOneMinusContamination()
    {
        float[] errors = [.. Enumerable.Range(0, 101).Select(i => (float)i)];
        Assert.Equal(90, Thresholds.FromContamination(errors, 0.1), 1e-9);
        Assert.Equal(50, Thresholds.FromContamination(errors, 0.5), 1e-9);
        Assert.Equal(99, Thresholds.FromContamination(errors, 0.01), 1e-9);
        Assert.Equal(72.5, Thresholds.FromPercentile(errors, 72.5), 1e-9);
    }

    [Fact]
    public void FromContamination_FlagsAboutThatShareOfTheTrainingErrors()
    {
        var rng = new Rng(11);
        float[] errors = new float[10_000];
        for (int i = 0; i < errors.Length; i++) errors[i] = rng.NextSingle();
        double threshold = Thresholds.FromContamination(errors, 0.1);
        int flagged = errors.Count(e => e >= threshold);
        Assert.InRange(flagged, 999, 1001);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-0.1)]
    [InlineData(0.51)]
    [InlineData(1)]
    [InlineData(double.NaN)]
    public void FromContamination_RejectsOutsideZeroToHalf(double contamination)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Thresholds.FromContamination([1, 2, 3], contamination));
    }
}
