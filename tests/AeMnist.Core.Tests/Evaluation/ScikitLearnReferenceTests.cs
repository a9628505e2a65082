using AeMnist.Evaluation;

namespace AeMnist.Core.Tests.Evaluation;

/// <summary>
/// Numbers computed offline with scikit-learn 1.2.1 and numpy 1.24.2 on these exact float32 errors (40
/// values on a 0.01 grid, many ties; numpy.random.default_rng(3)):
/// <code>
/// roc_auc_score(y, s), average_precision_score(y, s)
/// pred = s >= np.float32(0.08); confusion_matrix(y, pred).ravel(); f1_score(y, pred); f1_score(y, pred, pos_label=0); ...
/// np.percentile(s[y == 0].astype(np.float64), p)
/// </code>
/// </summary>
public sealed class ScikitLearnReferenceTests
{
    private static readonly float[] Errors = [0.08f, 0.10f, 0.10f, 0.07f, 0.01f, 0.08f, 0.02f, 0.12f, 0.10f, 0.10f, 0.11f, 0.09f, 0.03f, 0.10f, 0.04f, 0.01f, 0.12f, 0.10f, 0.07f, 0.07f, 0.15f, 0.05f, 0.07f, 0.01f, 0.02f, 0.08f, 0.09f, 0.03f, 0.12f, 0.10f, 0.01f, 0.05f, 0.06f, 0.06f, 0.05f, 0.04f, 0.05f, 0.07f, 0.11f, 0.07f];
    private static readonly bool[] Truth = [true, true, false, false, true, false, false, true, false, true, false, false, false, false, false, false, true, false, false, true, true, false, true, false, false, false, false, false, true, false, false, true, false, false, true, false, true, false, false, true];

    private static float[] NormalErrors() => [.. Errors.Where((_, i) => !Truth[i])];

    [Fact]
    public void RankingMetrics()
    {
        Assert.Equal(0.6414835164835165, Ranking.Auroc(Errors, Truth), 1e-15);
        Assert.Equal(0.5865689865689866, Ranking.AveragePrecision(Errors, Truth), 1e-15);
    }

    [Fact]
    public void ThresholdedMetrics()
    {
        BinaryMetrics m = BinaryMetrics.At(Errors, Truth, 0.08f);
        Assert.Equal(new BinaryMetrics(TruePositives: 7, FalsePositives: 11, TrueNegatives: 15, FalseNegatives: 7), m);
        Assert.Equal(0.43750000000000006, m.F1, 1e-15);
        Assert.Equal(0.6249999999999999, m.F1Normal, 1e-15);
        Assert.Equal(0.3888888888888889, m.Precision, 1e-15);
        Assert.Equal(0.5, m.Recall, 1e-15);
        Assert.Equal(0.55, m.Accuracy, 1e-15);
    }

    [Theory]
    [InlineData(90, 0.10000000149011612)]
    [InlineData(95, 0.1074999999254942)]
    [InlineData(50, 0.07000000029802322)]
    [InlineData(0, 0.009999999776482582)]
    [InlineData(100, 0.10999999940395355)]
    [InlineData(33.3, 0.043249999638646834)]
    public void Percentiles(double p, double numpy)
    {
        Assert.Equal(numpy, Thresholds.Percentile(NormalErrors(), p));
    }

    [Fact]
    public void ContaminationThresholds()
    {
        // PyOD: np.percentile(scores, 100 * (1 - contamination)).
        Assert.Equal(0.10000000149011612, Thresholds.FromContamination(NormalErrors(), 0.1));
        Assert.Equal(0.1074999999254942, Thresholds.FromContamination(NormalErrors(), 0.05));
    }
}
