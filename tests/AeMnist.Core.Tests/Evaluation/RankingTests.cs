using AeMnist.Evaluation;

namespace AeMnist.Core.Tests.Evaluation;

public sealed class RankingTests
{
    private const double Tol = 1e-12;

    // scikit-learn's documentation example: y_true = [0, 0, 1, 1], scores = [0.1, 0.4, 0.35, 0.8].
    private static readonly float[] DocScores = [0.1f, 0.4f, 0.35f, 0.8f];
    private static readonly bool[] DocTruth = [false, false, true, true];

    private static void Near(double[] expected, IReadOnlyList<double> actual, double tol = Tol)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol || expected[i].Equals(actual[i]), $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void DocumentationExample_MatchesScikitLearn()
    {
        // roc_auc_score = 0.75, average_precision_score = 0.8333...
        Assert.Equal(0.75, Ranking.Auroc(DocScores, DocTruth), Tol);
        Assert.Equal(5.0 / 6, Ranking.AveragePrecision(DocScores, DocTruth), Tol);

        // roc_curve: fpr [0, 0, 0.5, 0.5, 1], tpr [0, 0.5, 0.5, 1, 1], thresholds [inf, 0.8, 0.4, 0.35, 0.1].
        RocCurve roc = Ranking.Roc(DocScores, DocTruth);
        Near([0, 0, 0.5, 0.5, 1], roc.FalsePositiveRate);
        Near([0, 0.5, 0.5, 1, 1], roc.TruePositiveRate);
        Near([double.PositiveInfinity, 0.8f, 0.4f, 0.35f, 0.1f], roc.Thresholds, 0);

        // precision_recall_curve: precision [0.5, 2/3, 0.5, 1, 1], recall [1, 1, 0.5, 0.5, 0], thresholds [0.1, 0.35, 0.4, 0.8].
        PrecisionRecallCurve pr = Ranking.PrecisionRecall(DocScores, DocTruth);
        Near([0.5, 2.0 / 3, 0.5, 1, 1], pr.Precision);
        Near([1, 1, 0.5, 0.5, 0], pr.Recall);
        Near([0.1f, 0.35f, 0.4f, 0.8f], pr.Thresholds, 0);
    }

    [Fact]
    public void F1ByThreshold_DocumentationExample()
    {
        ThresholdCurve c = Ranking.F1ByThreshold(DocScores, DocTruth);
        Near([0.1f, 0.35f, 0.4f, 0.8f], c.Thresholds, 0);
        // At 0.1 everything is flagged: TP 2, FP 2 -> 4/6; TN 0 -> F1Normal 0.
        // At 0.35: TP 2, FP 1, TN 1 -> 4/5 and 2/3. At 0.4: TP 1, FP 1, FN 1, TN 1 -> 1/2 both ways.
        // At 0.8: TP 1, FN 1, TN 2 -> 2/3 and 4/5.
        Near([2.0 / 3, 0.8, 0.5, 2.0 / 3], c.F1);
        Near([0, 2.0 / 3, 0.5, 0.8], c.F1Normal);
    }

    [Fact]
    public void Ties_CountHalfAndFormOneStep()
    {
        // Anomalies {1, 2, 3}, normals {1, 2}: pairs won 0.5 + 1.5 + 2 = 4 of 6.
        float[] scores = [1, 1, 2, 2, 3];
        bool[] truth = [false, true, false, true, true];
        Assert.Equal(4.0 / 6, Ranking.Auroc(scores, truth), Tol);
        // Steps from the top: 3 (R 1/3, P 1), 2 (R 2/3, P 2/3), 1 (R 1, P 3/5).
        Assert.Equal(1.0 / 3 * (1 + 2.0 / 3 + 3.0 / 5), Ranking.AveragePrecision(scores, truth), Tol);
        RocCurve roc = Ranking.Roc(scores, truth, dropIntermediate: false);
        Near([0, 0, 0.5, 1], roc.FalsePositiveRate);
        Near([0, 1.0 / 3, 2.0 / 3, 1], roc.TruePositiveRate);
        Near([double.PositiveInfinity, 3, 2, 1], roc.Thresholds, 0);
    }

    [Fact]
    public void AllScoresEqual_GiveChanceLevel()
    {
        float[] scores = [0.5f, 0.5f, 0.5f, 0.5f];
        bool[] truth = [true, false, false, false];
        Assert.Equal(0.5, Ranking.Auroc(scores, truth));
        Assert.Equal(0.25, Ranking.AveragePrecision(scores, truth), Tol);
        RocCurve roc = Ranking.Roc(scores, truth);
        Near([0, 1], roc.FalsePositiveRate);
        Near([0, 1], roc.TruePositiveRate);
    }

    [Fact]
    public void PerfectAndReversedRankings()
    {
        float[] scores = [1, 2, 3, 4, 5, 6];
        bool[] truth = [false, false, false, true, true, true];
        Assert.Equal(1.0, Ranking.Auroc(scores, truth));
        Assert.Equal(1.0, Ranking.AveragePrecision(scores, truth), Tol);
        bool[] reversed = [true, true, true, false, false, false];
        Assert.Equal(0.0, Ranking.Auroc(scores, reversed));
        // Anomalies found last: precision 1/4, 2/5, 3/6 at recall 1/3, 2/3, 1.
        Assert.Equal((0.25 + 0.4 + 0.5) / 3, Ranking.AveragePrecision(scores, reversed), Tol);
    }

    [Fact]
    public void Roc_DropIntermediate_KeepsOnlyCornersAsScikitLearn()
    {
        // roc_curve([0, 0, 0, 1, 1, 1], [1, 2, 3, 4, 5, 6]): fpr [0, 0, 0, 1], tpr [0, 1/3, 1, 1], thresholds [inf, 6, 4, 1].
        float[] scores = [1, 2, 3, 4, 5, 6];
        bool[] truth = [false, false, false, true, true, true];
        RocCurve roc = Ranking.Roc(scores, truth);
        Near([0, 0, 0, 1], roc.FalsePositiveRate);
        Near([0, 1.0 / 3, 1, 1], roc.TruePositiveRate);
        Near([double.PositiveInfinity, 6, 4, 1], roc.Thresholds, 0);
        Assert.Equal(7, Ranking.Roc(scores, truth, dropIntermediate: false).Thresholds.Count);
    }

    [Fact]
    public void OneClassOnly_AurocIsNaN()
    {
        float[] scores = [0.1f, 0.2f, 0.3f];
        Assert.True(double.IsNaN(Ranking.Auroc(scores, [false, false, false])));
        Assert.True(double.IsNaN(Ranking.Auroc(scores, [true, true, true])));
        Assert.True(double.IsNaN(Ranking.Auroc([], [])));
        // Average precision: undefined without anomalies, 1 when everything is one.
        Assert.True(double.IsNaN(Ranking.AveragePrecision(scores, [false, false, false])));
        Assert.Equal(1.0, Ranking.AveragePrecision(scores, [true, true, true]), Tol);
        // The curve axis of the missing class is NaN; scikit-learn's recall convention without anomalies is 1.
        RocCurve roc = Ranking.Roc(scores, [false, false, false]);
        Assert.All(roc.TruePositiveRate, v => Assert.True(double.IsNaN(v)));
        Near([0, 1.0 / 3, 1], roc.FalsePositiveRate); // the collinear middle point is dropped
        PrecisionRecallCurve pr = Ranking.PrecisionRecall(scores, [false, false, false]);
        Near([1, 1, 1, 0], pr.Recall);
        Near([0, 0, 0, 1], pr.Precision);
    }

    [Fact]
    public void InfiniteAndSignedZeroScores_AreRanked()
    {
        float[] scores = [float.NegativeInfinity, -0f, 0f, float.PositiveInfinity];
        bool[] truth = [false, true, false, true];
        // -0 and 0 tie: anomalies {-0, +inf} beat normals {-inf, 0} in 1 + 0.5 + 2 = 3.5 of 4 pairs.
        Assert.Equal(3.5 / 4, Ranking.Auroc(scores, truth));
        Assert.Equal(3, Ranking.PrecisionRecall(scores, truth).Thresholds.Count);
    }

    [Fact]
    public void RejectsNaNAndLengthMismatch()
    {
        Assert.Throws<ArgumentException>(() => Ranking.Auroc([1, float.NaN], [true, false]));
        Assert.Throws<ArgumentException>(() => Ranking.AveragePrecision([1], [true, false]));
    }

    /// <summary>Random data with many ties (errors on a coarse grid), including lopsided class balances.</summary>
    private static (float[] Scores, bool[] Truth) RandomCase(Rng rng)
    {
        int n = 1 + rng.NextInt(300);
        double share = rng.NextDouble();
        int levels = 1 + rng.NextInt(40);
        var scores = new float[n];
        var truth = new bool[n];
        for (int i = 0; i < n; i++)
        {
            truth[i] = rng.NextDouble() < share;
            scores[i] = (rng.NextInt(levels) + (truth[i] ? rng.NextInt(5) : 0)) / 7f;
        }
        return (scores, truth);
    }

    [Fact]
    public void Auroc_EqualsMannWhitneyCountedOverAllPairs()
    {
        var rng = new Rng(7);
        int checkedCases = 0;
        for (int trial = 0; trial < 300; trial++)
        {
            var (scores, truth) = RandomCase(rng);
            long twiceWins = 0, positives = 0, negatives = 0;
            for (int i = 0; i < scores.Length; i++)
            {
                if (truth[i]) positives++; else negatives++;
                if (!truth[i]) continue;
                for (int j = 0; j < scores.Length; j++)
                    if (!truth[j]) twiceWins += scores[i] > scores[j] ? 2 : scores[i] == scores[j] ? 1 : 0;
            }
            double auroc = Ranking.Auroc(scores, truth);
            if (positives == 0 || negatives == 0)
            {
                Assert.True(double.IsNaN(auroc));
                continue;
            }
            Assert.Equal(twiceWins / (2.0 * positives * negatives), auroc);
            checkedCases++;
        }
        Assert.True(checkedCases > 200);
    }

    [Fact]
    public void AveragePrecision_EqualsMeanPrecisionAtEachAnomaly()
    {
        // AP = mean over anomalies a of precision among all images with error >= error(a).
        var rng = new Rng(8);
        for (int trial = 0; trial < 300; trial++)
        {
            var (scores, truth) = RandomCase(rng);
            int positives = truth.Count(t => t);
            if (positives == 0) continue;
            double sum = 0;
            for (int a = 0; a < scores.Length; a++)
            {
                if (!truth[a]) continue;
                int atOrAbove = 0, anomaliesAtOrAbove = 0;
                for (int j = 0; j < scores.Length; j++)
                    if (scores[j] >= scores[a]) { atOrAbove++; if (truth[j]) anomaliesAtOrAbove++; }
                sum += (double)anomaliesAtOrAbove / atOrAbove;
            }
            Assert.Equal(sum / positives, Ranking.AveragePrecision(scores, truth), 1e-12);
        }
    }

    [Fact]
    public void Curves_AgreeWithBinaryMetricsAtEveryThreshold()
    {
        var rng = new Rng(9);
        for (int trial = 0; trial < 50; trial++)
        {
            var (scores, truth) = RandomCase(rng);
            ThresholdCurve f1 = Ranking.F1ByThreshold(scores, truth);
            PrecisionRecallCurve pr = Ranking.PrecisionRecall(scores, truth);
            RocCurve roc = Ranking.Roc(scores, truth, dropIntermediate: false);
            for (int k = 0; k < f1.Thresholds.Count; k++)
            {
                BinaryMetrics m = BinaryMetrics.At(scores, truth, f1.Thresholds[k]);
                Assert.Equal(m.F1, f1.F1[k], Tol);
                Assert.Equal(m.F1Normal, f1.F1Normal[k], Tol);
                Assert.Equal(f1.Thresholds[k], pr.Thresholds[k]);
                Assert.Equal(m.Precision, pr.Precision[k], Tol);
                if (m.Anomalies > 0) Assert.Equal(m.Recall, pr.Recall[k], Tol);
                int r = roc.Thresholds.Count - 1 - k;
                Assert.Equal(f1.Thresholds[k], roc.Thresholds[r]);
                if (m.Normals > 0) Assert.Equal(m.FalsePositiveRate, roc.FalsePositiveRate[r], Tol);
                if (m.Anomalies > 0) Assert.Equal(m.Recall, roc.TruePositiveRate[r], Tol);
            }
            // Dropping collinear points leaves the curve's ends and its area.
            RocCurve corners = Ranking.Roc(scores, truth);
            Assert.Equal(roc.Thresholds[0], corners.Thresholds[0]);
            Assert.Equal(roc.Thresholds[^1], corners.Thresholds[^1]);
            if (truth.Contains(true) && truth.Contains(false))
                Assert.Equal(Ranking.Auroc(scores, truth), Trapezoid(corners), 1e-12);
        }
    }

    private static double Trapezoid(RocCurve roc)
    {
        double area = 0;
        for (int i = 1; i < roc.Thresholds.Count; i++)
            area += (roc.FalsePositiveRate[i] - roc.FalsePositiveRate[i - 1]) * (roc.TruePositiveRate[i] + roc.TruePositiveRate[i - 1]) / 2;
        return area;
    }
}
