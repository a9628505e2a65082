// Curves over every distinct threshold, as parallel read-only lists, in scikit-learn's orders.
namespace AeMnist.Evaluation;

/// <summary>
/// ROC curve as scikit-learn's <c>roc_curve</c> (1.3 and later) returns it: thresholds descend from +∞ (nothing flagged, the
/// point (0, 0)) through each distinct error down to the smallest (everything flagged, (1, 1)); point k is
/// the (FPR, TPR) of flagging errors &gt;= <c>Thresholds[k]</c>. FPR is NaN throughout when there are no
/// normal images, TPR when there are no anomalies.
/// </summary>
public sealed record RocCurve(IReadOnlyList<double> FalsePositiveRate, IReadOnlyList<double> TruePositiveRate, IReadOnlyList<double> Thresholds);

/// <summary>
/// Precision-recall curve as scikit-learn's <c>precision_recall_curve</c> returns it: <c>Thresholds</c> are the
/// distinct errors ascending, point k flags errors &gt;= <c>Thresholds[k]</c>; <c>Precision</c> and
/// <c>Recall</c> have one more entry, the point (recall 0, precision 1) with nothing flagged. Recall is 1
/// throughout when there are no anomalies (scikit-learn's convention).
/// </summary>
public sealed record PrecisionRecallCurve(IReadOnlyList<double> Precision, IReadOnlyList<double> Recall, IReadOnlyList<double> Thresholds);

/// <summary>
/// F1 at each distinct error used as threshold (ascending; flagged when error &gt;= threshold), with anomalies
/// as the positive class (<c>F1</c>) and with normal images as the positive class (<c>F1Normal</c>).
/// </summary>
public sealed record ThresholdCurve(IReadOnlyList<double> Thresholds, IReadOnlyList<double> F1, IReadOnlyList<double> F1Normal);
