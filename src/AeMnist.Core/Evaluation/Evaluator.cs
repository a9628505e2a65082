// One call that evaluates reconstruction errors against the truth: the thresholded confusion matrix,
// the ranking metrics and curves, and the per-digit flag rates, from a single sort.
namespace AeMnist.Evaluation;

/// <summary>
/// Everything <c>aemnist evaluate</c> reports. An image is flagged as an anomaly when its error is
/// &gt;= <see cref="Threshold"/>. <see cref="Auroc"/> and <see cref="AveragePrecision"/> are NaN when the
/// truth lacks a class (see <see cref="Ranking"/>). <see cref="DigitFlagRates"/> is null when no labels were given.
/// </summary>
public sealed record EvaluationResult(
    double Threshold,
    BinaryMetrics Metrics,
    double Auroc,
    double AveragePrecision,
    RocCurve Roc,
    PrecisionRecallCurve PrecisionRecall,
    ThresholdCurve F1ByThreshold,
    IReadOnlyList<double>? DigitFlagRates);

/// <summary>Evaluation entry points and the helpers they share.</summary>
public static class Evaluator
{
    /// <summary>Evaluates <paramref name="errors"/> on a digit-labelled set where <paramref name="normalDigit"/> is normal and every other digit an anomaly.</summary>
    public static EvaluationResult Evaluate(ReadOnlySpan<float> errors, ReadOnlySpan<byte> labels, int normalDigit, double threshold)
    {
        if (errors.Length != labels.Length)
            throw new ArgumentException($"errors has {errors.Length} entries but labels has {labels.Length}.", nameof(labels));
        return Evaluate(errors, IsAnomaly(labels, normalDigit), threshold, labels);
    }

    /// <summary>
    /// Evaluates <paramref name="errors"/> against <paramref name="isAnomaly"/>; per-digit flag rates are
    /// computed when <paramref name="labels"/> is not empty. The ROC curve keeps only its corners
    /// (scikit-learn's default).
    /// </summary>
    public static EvaluationResult Evaluate(ReadOnlySpan<float> errors, ReadOnlySpan<bool> isAnomaly, double threshold, ReadOnlySpan<byte> labels = default)
    {
        BinaryMetrics metrics = BinaryMetrics.At(errors, isAnomaly, threshold);
        ScoreSteps steps = ScoreSteps.Build(errors, isAnomaly);
        return new EvaluationResult(threshold, metrics, steps.Auroc(), steps.AveragePrecision(), steps.Roc(dropIntermediate: true),
            steps.PrecisionRecall(), steps.F1ByThreshold(), labels.IsEmpty ? null : DigitFlagRates(errors, labels, threshold));
    }

    /// <summary>The truth of the one-normal-digit experiment: <c>labels[i] != normalDigit</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normalDigit"/> is not 0-9.</exception>
    public static bool[] IsAnomaly(ReadOnlySpan<byte> labels, int normalDigit)
    {
        if (normalDigit is < 0 or > 9) throw new ArgumentOutOfRangeException(nameof(normalDigit), normalDigit, "The normal digit must be 0-9.");
        var truth = new bool[labels.Length];
        for (int i = 0; i < labels.Length; i++) truth[i] = labels[i] != normalDigit;
        return truth;
    }

    /// <summary>
    /// For each digit 0-9, the share of its images whose error is &gt;= <paramref name="threshold"/>; NaN for a
    /// digit with no images.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, a label is not 0-9, the threshold or an error is NaN.</exception>
    public static double[] DigitFlagRates(ReadOnlySpan<float> errors, ReadOnlySpan<byte> labels, double threshold)
    {
        if (errors.Length != labels.Length)
            throw new ArgumentException($"errors has {errors.Length} entries but labels has {labels.Length}.", nameof(labels));
        if (double.IsNaN(threshold)) throw new ArgumentException("The threshold is NaN.", nameof(threshold));
        Inputs.CheckNoNaN(errors, nameof(errors));
        var flagged = new long[10];
        var total = new long[10];
        for (int i = 0; i < errors.Length; i++)
        {
            if (labels[i] > 9) throw new ArgumentException($"labels[{i}] is {labels[i]}, not a digit 0-9.", nameof(labels));
            total[labels[i]]++;
            if (errors[i] >= threshold) flagged[labels[i]]++;
        }
        var rates = new double[10];
        for (int d = 0; d < 10; d++) rates[d] = total[d] == 0 ? double.NaN : (double)flagged[d] / total[d];
        return rates;
    }
}
