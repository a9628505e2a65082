// One call that evaluates reconstruction errors against the truth: the thresholded confusion matrix,
// the ranking metrics and curves, and the per-digit flag rates, from a single sort.
namespace AeMnist.Evaluation;

/// <summary>
/// Everything <c>aemnist evaluate</c> reports. An image is flagged as an anomaly when its error is
/// &gt;= <see cref="Threshold"/>. <see cref="Auroc"/> and <see cref="AveragePrecision"/> are NaN when the
/// truth lacks a class (see <see cref="Ranking"/>). <see cref="ClassFlagRates"/> is null when no labels were given.
/// </summary>
public sealed record EvaluationResult(
    double Threshold,
    BinaryMetrics Metrics,
    double Auroc,
    double AveragePrecision,
    RocCurve Roc,
    PrecisionRecallCurve PrecisionRecall,
    ThresholdCurve F1ByThreshold,
    IReadOnlyList<double>? ClassFlagRates);

/// <summary>Evaluation entry points and the helpers they share.</summary>
public static class Evaluator
{
    /// <summary>Evaluates <paramref name="errors"/> on a labelled set where class <paramref name="normal"/> is normal and every other class an anomaly.</summary>
    public static EvaluationResult Evaluate(ReadOnlySpan<float> errors, ReadOnlySpan<byte> labels, int normal, double threshold, int classes = 10)
    {
        if (errors.Length != labels.Length)
            throw new ArgumentException($"errors has {errors.Length} entries but labels has {labels.Length}.", nameof(labels));
        return Evaluate(errors, IsAnomaly(labels, normal), threshold, labels, classes);
    }

    /// <summary>
    /// Evaluates <paramref name="errors"/> against <paramref name="isAnomaly"/>; per-class flag rates (of
    /// <paramref name="classes"/> classes: MNIST's 10 digits by default) are computed when <paramref name="labels"/> is not
    /// empty. The ROC curve keeps only its corners (scikit-learn's default).
    /// </summary>
    public static EvaluationResult Evaluate(ReadOnlySpan<float> errors, ReadOnlySpan<bool> isAnomaly, double threshold, ReadOnlySpan<byte> labels = default, int classes = 10)
    {
        BinaryMetrics metrics = BinaryMetrics.At(errors, isAnomaly, threshold);
        ScoreSteps steps = ScoreSteps.Build(errors, isAnomaly);
        return new EvaluationResult(threshold, metrics, steps.Auroc(), steps.AveragePrecision(), steps.Roc(dropIntermediate: true),
            steps.PrecisionRecall(), steps.F1ByThreshold(), labels.IsEmpty ? null : ClassFlagRates(errors, labels, threshold, classes));
    }

    /// <summary>The truth of the one-normal-class experiment: <c>labels[i] != normal</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normal"/> is not a class number 0-254.</exception>
    public static bool[] IsAnomaly(ReadOnlySpan<byte> labels, int normal)
    {
        if (normal is < 0 or > 254) throw new ArgumentOutOfRangeException(nameof(normal), normal, "The normal class must be 0-254.");
        var truth = new bool[labels.Length];
        for (int i = 0; i < labels.Length; i++) truth[i] = labels[i] != normal;
        return truth;
    }

    /// <summary>
    /// For each class 0 to <paramref name="classes"/> - 1 (MNIST's digits by default), the share of its images whose
    /// error is &gt;= <paramref name="threshold"/>; NaN for a class with no images.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, a label is not a class, the threshold or an error is NaN.</exception>
    public static double[] ClassFlagRates(ReadOnlySpan<float> errors, ReadOnlySpan<byte> labels, double threshold, int classes = 10)
    {
        if (errors.Length != labels.Length)
            throw new ArgumentException($"errors has {errors.Length} entries but labels has {labels.Length}.", nameof(labels));
        if (double.IsNaN(threshold)) throw new ArgumentException("The threshold is NaN.", nameof(threshold));
        Inputs.CheckNoNaN(errors, nameof(errors));
        var flagged = new long[classes];
        var total = new long[classes];
        for (int i = 0; i < errors.Length; i++)
        {
            if (labels[i] >= classes) throw new ArgumentException($"labels[{i}] is {labels[i]}, not a class 0-{classes - 1}.", nameof(labels));
            total[labels[i]]++;
            if (errors[i] >= threshold) flagged[labels[i]]++;
        }
        var rates = new double[classes];
        for (int d = 0; d < classes; d++) rates[d] = total[d] == 0 ? double.NaN : (double)flagged[d] / total[d];
        return rates;
    }
}
