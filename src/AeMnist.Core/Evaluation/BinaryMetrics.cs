// The confusion matrix at one threshold and the rates derived from it, with anomalies as the positive
// class; the tutorial's F1 (normal digits positive) is given beside it.
namespace AeMnist.Evaluation;

/// <summary>
/// Counts of one thresholded prediction, anomaly = positive. Every ratio whose denominator is zero is
/// defined as 0 (scikit-learn's <c>zero_division=0</c>), e.g. precision when nothing is flagged.
/// </summary>
public sealed record BinaryMetrics(long TruePositives, long FalsePositives, long TrueNegatives, long FalseNegatives)
{
    /// <summary>All images: TP + FP + TN + FN.</summary>
    public long Count => TruePositives + FalsePositives + TrueNegatives + FalseNegatives;

    /// <summary>Images that truly are anomalies: TP + FN.</summary>
    public long Anomalies => TruePositives + FalseNegatives;

    /// <summary>Images that truly are normal: TN + FP.</summary>
    public long Normals => TrueNegatives + FalsePositives;

    /// <summary>(TP + TN) / all.</summary>
    public double Accuracy => Ratio(TruePositives + TrueNegatives, Count);

    /// <summary>TP / (TP + FP): the share of flagged images that are anomalies.</summary>
    public double Precision => Ratio(TruePositives, TruePositives + FalsePositives);

    /// <summary>TP / (TP + FN): the share of anomalies that are flagged.</summary>
    public double Recall => Ratio(TruePositives, TruePositives + FalseNegatives);

    /// <summary>FP / (FP + TN): the share of normal images that are flagged.</summary>
    public double FalsePositiveRate => Ratio(FalsePositives, FalsePositives + TrueNegatives);

    /// <summary>2TP / (2TP + FP + FN), the harmonic mean of precision and recall; anomalies positive.</summary>
    public double F1 => Ratio(2 * TruePositives, 2 * TruePositives + FalsePositives + FalseNegatives);

    /// <summary>TN / (TN + FN): precision with normal images as the positive class.</summary>
    public double PrecisionNormal => Ratio(TrueNegatives, TrueNegatives + FalseNegatives);

    /// <summary>TN / (TN + FP): recall with normal images as the positive class.</summary>
    public double RecallNormal => Ratio(TrueNegatives, TrueNegatives + FalsePositives);

    /// <summary>2TN / (2TN + FN + FP): F1 with normal images as the positive class, the tutorial's convention.</summary>
    public double F1Normal => Ratio(2 * TrueNegatives, 2 * TrueNegatives + FalseNegatives + FalsePositives);

    /// <summary>
    /// Flags image i as an anomaly when <c>errors[i] &gt;= threshold</c> (the tutorial predicts normal when
    /// <c>loss &lt; threshold</c>) and counts the outcomes against <paramref name="isAnomaly"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, the threshold is NaN, or an error is NaN.</exception>
    public static BinaryMetrics At(ReadOnlySpan<float> errors, ReadOnlySpan<bool> isAnomaly, double threshold)
    {
        Inputs.Check(errors, isAnomaly);
        if (double.IsNaN(threshold)) throw new ArgumentException("The threshold is NaN.", nameof(threshold));
        long tp = 0, fp = 0, tn = 0, fn = 0;
        for (int i = 0; i < errors.Length; i++)
        {
            bool flagged = errors[i] >= threshold;
            if (isAnomaly[i]) { if (flagged) tp++; else fn++; }
            else if (flagged) fp++;
            else tn++;
        }
        return new BinaryMetrics(tp, fp, tn, fn);
    }

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;
}
