using AeMnist.Evaluation;

namespace AeMnist.Core.Tests.Evaluation;

public sealed class BinaryMetricsTests
{
    private const double Tol = 1e-12;

    [Fact]
    public void At_FlagsErrorsAtOrAboveTheThreshold()
    {
        // Errors equal to the threshold are anomalies (the tutorial predicts normal when loss < threshold).
        float[] errors = [1, 1, 2, 2, 3];
        bool[] truth = [false, true, false, true, true];
        BinaryMetrics m = BinaryMetrics.At(errors, truth, 2);
        // Flagged: 2, 2, 3 -> TP 2 (the 2 and the 3 that are anomalies), FP 1; not flagged: 1, 1 -> FN 1, TN 1.
        Assert.Equal(new BinaryMetrics(2, 1, 1, 1), m);
        Assert.Equal(5, m.Count);
        Assert.Equal(3, m.Anomalies);
        Assert.Equal(2, m.Normals);
        Assert.Equal(3.0 / 5, m.Accuracy, Tol);
        Assert.Equal(2.0 / 3, m.Precision, Tol);
        Assert.Equal(2.0 / 3, m.Recall, Tol);
        Assert.Equal(2.0 / 3, m.F1, Tol);
        Assert.Equal(0.5, m.FalsePositiveRate, Tol);
        Assert.Equal(0.5, m.PrecisionNormal, Tol);
        Assert.Equal(0.5, m.RecallNormal, Tol);
        Assert.Equal(0.5, m.F1Normal, Tol); // 2·1 / (2·1 + 1 + 1)
    }

    [Fact]
    public void F1_IsTheHarmonicMeanOfPrecisionAndRecall()
    {
        var m = new BinaryMetrics(30, 10, 50, 20);
        Assert.Equal(0.75, m.Precision, Tol);
        Assert.Equal(0.6, m.Recall, Tol);
        Assert.Equal(2 * 0.75 * 0.6 / (0.75 + 0.6), m.F1, Tol);
        // Normal positive: precision 50/70, recall 50/60.
        Assert.Equal(2 * (5.0 / 7) * (5.0 / 6) / (5.0 / 7 + 5.0 / 6), m.F1Normal, Tol);
        Assert.Equal(80.0 / 110, m.Accuracy, Tol);
    }

    [Fact]
    public void ZeroDenominators_GiveZero()
    {
        var nothingFlagged = new BinaryMetrics(0, 0, 5, 3);
        Assert.Equal(0, nothingFlagged.Precision);
        Assert.Equal(0, nothingFlagged.Recall);
        Assert.Equal(0, nothingFlagged.F1);
        Assert.Equal(5.0 / 8, nothingFlagged.Accuracy, Tol);
        Assert.Equal(10.0 / 13, nothingFlagged.F1Normal, Tol);

        var empty = new BinaryMetrics(0, 0, 0, 0);
        Assert.Equal(0, empty.Accuracy);
        Assert.Equal(0, empty.Precision);
        Assert.Equal(0, empty.Recall);
        Assert.Equal(0, empty.F1);
        Assert.Equal(0, empty.F1Normal);
        Assert.Equal(0, empty.FalsePositiveRate);
        Assert.Equal(0, empty.PrecisionNormal);
        Assert.Equal(0, empty.RecallNormal);
    }

    [Fact]
    public void At_InfiniteThresholdsAndErrors()
    {
        float[] errors = [float.NegativeInfinity, 0, float.PositiveInfinity];
        bool[] truth = [false, false, true];
        Assert.Equal(new BinaryMetrics(1, 0, 2, 0), BinaryMetrics.At(errors, truth, double.PositiveInfinity));
        Assert.Equal(new BinaryMetrics(1, 2, 0, 0), BinaryMetrics.At(errors, truth, double.NegativeInfinity));
        Assert.Equal(new BinaryMetrics(0, 0, 0, 0), BinaryMetrics.At([], [], 0.5));
    }

    [Fact]
    public void At_ComparesTheFloatErrorExactlyWithTheDoubleThreshold()
    {
        // 0.1f is slightly above 0.1: it is flagged at threshold 0.1 but not at (double)0.1f + tiny.
        Assert.Equal(1, BinaryMetrics.At([0.1f], [true], 0.1).TruePositives);
        Assert.Equal(1, BinaryMetrics.At([0.1f], [true], (double)0.1f).TruePositives);
        Assert.Equal(0, BinaryMetrics.At([0.1f], [true], Math.BitIncrement((double)0.1f)).TruePositives);
    }

    [Fact]
    public void At_RejectsBadArguments()
    {
        Assert.Contains("errors has 2 entries but isAnomaly has 1", Assert.Throws<ArgumentException>(() => BinaryMetrics.At([1, 2], [true], 1)).Message);
        Assert.Contains("errors[1] is NaN", Assert.Throws<ArgumentException>(() => BinaryMetrics.At([1, float.NaN], [true, false], 1)).Message);
        Assert.Contains("threshold is NaN", Assert.Throws<ArgumentException>(() => BinaryMetrics.At([1], [true], double.NaN)).Message);
    }
}
