// Threshold-free measures of how well the errors rank anomalies above normal images: AUROC, average
// precision and the curves behind them, computed exactly as scikit-learn does, ties included.
namespace AeMnist.Evaluation;

/// <summary>
/// Ranking metrics over per-image errors (higher error = more anomalous) against the truth
/// (<c>isAnomaly[i]</c>, anomaly = positive). Errors must not be NaN; ±∞ are ranked as usual.
/// </summary>
public static class Ranking
{
    /// <summary>
    /// Area under the ROC curve, effectively P(error of a random anomaly &gt; error of a random normal image)
    /// + ½ P(equal): the trapezoid over the distinct thresholds, which is scikit-learn's
    /// <c>roc_auc_score</c> and the Mann-Whitney U / (P·N). NaN when either class is absent (scikit-learn
    /// raises an error there).
    /// </summary>
    public static double Auroc(ReadOnlySpan<float> errors, ReadOnlySpan<bool> isAnomaly) =>
        ScoreSteps.Build(errors, isAnomaly).Auroc();

    /// <summary>
    /// Average precision as scikit-learn's <c>average_precision_score</c>: Σₙ (Rₙ − Rₙ₋₁) Pₙ over the distinct
    /// thresholds from the highest down, R₀ = 0, no interpolation. NaN when there are no anomalies
    /// (scikit-learn warns and returns 0); 1 when every image is an anomaly.
    /// </summary>
    public static double AveragePrecision(ReadOnlySpan<float> errors, ReadOnlySpan<bool> isAnomaly) =>
        ScoreSteps.Build(errors, isAnomaly).AveragePrecision();

    /// <summary>
    /// The ROC curve (see <see cref="RocCurve"/>). With <paramref name="dropIntermediate"/> (scikit-learn's
    /// default) points on a straight segment between their neighbours are left out; the area is unchanged.
    /// </summary>
    public static RocCurve Roc(ReadOnlySpan<float> errors, ReadOnlySpan<bool> isAnomaly, bool dropIntermediate = true) =>
        ScoreSteps.Build(errors, isAnomaly).Roc(dropIntermediate);

    /// <summary>The precision-recall curve (see <see cref="PrecisionRecallCurve"/>).</summary>
    public static PrecisionRecallCurve PrecisionRecall(ReadOnlySpan<float> errors, ReadOnlySpan<bool> isAnomaly) =>
        ScoreSteps.Build(errors, isAnomaly).PrecisionRecall();

    /// <summary>F1 both ways at every distinct error taken as the threshold (see <see cref="ThresholdCurve"/>).</summary>
    public static ThresholdCurve F1ByThreshold(ReadOnlySpan<float> errors, ReadOnlySpan<bool> isAnomaly) =>
        ScoreSteps.Build(errors, isAnomaly).F1ByThreshold();
}

/// <summary>
/// scikit-learn's <c>_binary_clf_curve</c>: the distinct errors in descending order and, for each, how many
/// anomalies (Tps) and normal images (Fps) have an error at least that large. Every ranking metric is a
/// function of these counts, so one sort serves them all.
/// </summary>
internal sealed class ScoreSteps
{
    private ScoreSteps(double[] thresholds, long[] tps, long[] fps, long positives, long negatives)
    {
        Thresholds = thresholds;
        Tps = tps;
        Fps = fps;
        Positives = positives;
        Negatives = negatives;
    }

    internal double[] Thresholds { get; }
    internal long[] Tps { get; }
    internal long[] Fps { get; }
    internal long Positives { get; }
    internal long Negatives { get; }

    internal static ScoreSteps Build(ReadOnlySpan<float> errors, ReadOnlySpan<bool> isAnomaly)
    {
        Inputs.Check(errors, isAnomaly);
        int n = errors.Length;
        var keys = new float[n];
        var truth = new bool[n];
        errors.CopyTo(keys);
        isAnomaly.CopyTo(truth);
        // Ascending sort, read backwards. Order within ties is irrelevant: a tie group is counted as one step.
        Array.Sort(keys, truth);
        var thresholds = new List<double>();
        var tps = new List<long>();
        var fps = new List<long>();
        long tp = 0, fp = 0;
        for (int i = n - 1; i >= 0; i--)
        {
            if (truth[i]) tp++;
            else fp++;
            if (i == 0 || keys[i - 1] != keys[i])
            {
                thresholds.Add(keys[i]);
                tps.Add(tp);
                fps.Add(fp);
            }
        }
        return new ScoreSteps([.. thresholds], [.. tps], [.. fps], tp, fp);
    }

    internal double Auroc()
    {
        if (Positives == 0 || Negatives == 0) return double.NaN;
        // Twice the trapezoid area in counts (an integer: Σ Δfp·(tpₖ + tpₖ₋₁)), divided once, so the result is
        // the exact ratio rounded once, the same as counting pairs.
        long twiceArea = 0, previousTp = 0, previousFp = 0;
        for (int k = 0; k < Tps.Length; k++)
        {
            twiceArea += (Fps[k] - previousFp) * (Tps[k] + previousTp);
            previousTp = Tps[k];
            previousFp = Fps[k];
        }
        return twiceArea / (2.0 * Positives * Negatives);
    }

    internal double AveragePrecision()
    {
        if (Positives == 0) return double.NaN;
        double sum = 0;
        long previousTp = 0;
        for (int k = 0; k < Tps.Length; k++)
        {
            if (Tps[k] == previousTp) continue;
            sum += (double)(Tps[k] - previousTp) / Positives * ((double)Tps[k] / (Tps[k] + Fps[k]));
            previousTp = Tps[k];
        }
        return sum;
    }

    internal RocCurve Roc(bool dropIntermediate)
    {
        var keep = new List<int>();
        for (int k = 0; k < Tps.Length; k++)
        {
            // scikit-learn keeps the ends and every point where the second difference of fps or tps is nonzero.
            bool corner = k == 0 || k == Tps.Length - 1
                || Fps[k + 1] - 2 * Fps[k] + Fps[k - 1] != 0 || Tps[k + 1] - 2 * Tps[k] + Tps[k - 1] != 0;
            if (!dropIntermediate || Tps.Length <= 2 || corner) keep.Add(k);
        }
        var fpr = new double[keep.Count + 1];
        var tpr = new double[keep.Count + 1];
        var thresholds = new double[keep.Count + 1];
        thresholds[0] = double.PositiveInfinity;
        fpr[0] = Negatives == 0 ? double.NaN : 0;
        tpr[0] = Positives == 0 ? double.NaN : 0;
        for (int j = 0; j < keep.Count; j++)
        {
            int k = keep[j];
            fpr[j + 1] = Negatives == 0 ? double.NaN : (double)Fps[k] / Negatives;
            tpr[j + 1] = Positives == 0 ? double.NaN : (double)Tps[k] / Positives;
            thresholds[j + 1] = Thresholds[k];
        }
        return new RocCurve(fpr, tpr, thresholds);
    }

    internal PrecisionRecallCurve PrecisionRecall()
    {
        int m = Tps.Length;
        var precision = new double[m + 1];
        var recall = new double[m + 1];
        var thresholds = new double[m];
        for (int k = 0; k < m; k++)
        {
            int j = m - 1 - k;
            precision[j] = (double)Tps[k] / (Tps[k] + Fps[k]);
            recall[j] = Positives == 0 ? 1 : (double)Tps[k] / Positives;
            thresholds[j] = Thresholds[k];
        }
        precision[m] = 1;
        recall[m] = 0;
        return new PrecisionRecallCurve(precision, recall, thresholds);
    }

    internal ThresholdCurve F1ByThreshold()
    {
        int m = Tps.Length;
        var thresholds = new double[m];
        var f1 = new double[m];
        var f1Normal = new double[m];
        for (int k = 0; k < m; k++)
        {
            int j = m - 1 - k;
            var counts = new BinaryMetrics(Tps[k], Fps[k], Negatives - Fps[k], Positives - Tps[k]);
            thresholds[j] = Thresholds[k];
            f1[j] = counts.F1;
            f1Normal[j] = counts.F1Normal;
        }
        return new ThresholdCurve(thresholds, f1, f1Normal);
    }
}
