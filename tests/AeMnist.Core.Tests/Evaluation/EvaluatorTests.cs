using AeMnist.Evaluation;

namespace AeMnist.Core.Tests.Evaluation;

public sealed class EvaluatorTests
{
    [Fact]
    public void IsAnomaly_IsEveryClassButTheNormalOne()
    {
        Assert.Equal(new[] { true, false, true, false }, Evaluator.IsAnomaly(new byte[] { 0, 5, 9, 5 }, 5));
        Assert.Equal(new[] { true, false }, Evaluator.IsAnomaly(new byte[] { 3, 12 }, 12));
        Assert.Throws<ArgumentOutOfRangeException>(() => Evaluator.IsAnomaly(new byte[] { 1 }, 255));
        Assert.Throws<ArgumentOutOfRangeException>(() => Evaluator.IsAnomaly(new byte[] { 1 }, -1));
    }

    [Fact]
    public void ClassFlagRates_ShareOfEachDigitAtOrAboveThreshold_NaNWhenAbsent()
    {
        float[] errors = [0.1f, 0.5f, 0.5f, 0.2f, 0.9f, 0.3f];
        byte[] labels = [5, 5, 3, 3, 3, 0];
        double[] rates = Evaluator.ClassFlagRates(errors, labels, 0.5f);
        Assert.Equal(0, rates[0]);
        Assert.Equal(2.0 / 3, rates[3], 1e-12);
        Assert.Equal(0.5, rates[5]);
        foreach (int d in new[] { 1, 2, 4, 6, 7, 8, 9 }) Assert.True(double.IsNaN(rates[d]));
    }

    [Fact]
    public void ClassFlagRates_RejectsBadLabels()
    {
        Assert.Contains("labels[1] is 10", Assert.Throws<ArgumentException>(() => Evaluator.ClassFlagRates([1, 2], new byte[] { 0, 10 }, 1)).Message);
        Assert.Throws<ArgumentException>(() => Evaluator.ClassFlagRates([1, 2], new byte[] { 0 }, 1));
    }

    [Fact]
    public void Evaluate_WithLabels_CombinesEveryPiece()
    {
        var rng = new Rng(5);
        int n = 500;
        var errors = new float[n];
        var labels = new byte[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = (byte)rng.NextInt(10);
            errors[i] = rng.NextSingle() * (labels[i] == 5 ? 0.5f : 1f);
        }
        EvaluationResult r = Evaluator.Evaluate(errors, labels, normal: 5, threshold: 0.4);
        bool[] truth = Evaluator.IsAnomaly(labels, 5);

        Assert.Equal(0.4, r.Threshold);
        Assert.Equal(BinaryMetrics.At(errors, truth, 0.4), r.Metrics);
        Assert.Equal(Ranking.Auroc(errors, truth), r.Auroc);
        Assert.Equal(Ranking.AveragePrecision(errors, truth), r.AveragePrecision);
        Assert.Equal(Ranking.Roc(errors, truth).Thresholds, r.Roc.Thresholds);
        Assert.Equal(Ranking.PrecisionRecall(errors, truth).Precision, r.PrecisionRecall.Precision);
        Assert.Equal(Ranking.F1ByThreshold(errors, truth).F1, r.F1ByThreshold.F1);
        Assert.Equal(Evaluator.ClassFlagRates(errors, labels, 0.4), r.ClassFlagRates);
        Assert.InRange(r.Auroc, 0.6, 0.9);
        Assert.Equal(0, r.Roc.FalsePositiveRate[0]);
        Assert.Equal(1, r.Roc.FalsePositiveRate[^1]);
        Assert.Equal(1, r.Roc.TruePositiveRate[^1]);
    }

    [Fact]
    public void Evaluate_WithoutLabels_HasNoDigitRates()
    {
        EvaluationResult r = Evaluator.Evaluate([0.1f, 0.9f], [false, true], 0.5);
        Assert.Null(r.ClassFlagRates);
        Assert.Equal(1.0, r.Auroc);
        Assert.Equal(new BinaryMetrics(1, 0, 1, 0), r.Metrics);
    }

    [Fact]
    public void Evaluate_AllNormal_GivesNaNRankingAndDefinedCounts()
    {
        EvaluationResult r = Evaluator.Evaluate([0.1f, 0.9f], new byte[] { 5, 5 }, 5, 0.5);
        Assert.True(double.IsNaN(r.Auroc));
        Assert.True(double.IsNaN(r.AveragePrecision));
        Assert.Equal(new BinaryMetrics(0, 1, 1, 0), r.Metrics);
        Assert.Equal(0, r.Metrics.F1);
        Assert.Equal(2.0 / 3, r.Metrics.F1Normal, 1e-12);
    }

    [Fact]
    public void Evaluate_LengthMismatch_Throws()
    {
        Assert.Throws<ArgumentException>(() => Evaluator.Evaluate([0.1f], new byte[] { 5, 5 }, 5, 0.5));
    }
}
