// F1 (anomalies positive) against the threshold, for the report's chart: the evaluation's own curve
// (Ranking.F1ByThreshold, the same >= rule as every other figure), thinned to a drawable number of points.
using AeMnist.Evaluation;

namespace AeMnist.Reporting;

public static class F1Curve
{
    /// <summary>
    /// F1 at every distinct finite error used as the threshold (an image is flagged when its error is
    /// &gt;= the threshold); when there are more than <paramref name="maxPoints"/>, that many spread evenly
    /// by rank, keeping both ends. Thresholds ascend.
    /// </summary>
    public static (double[] Thresholds, double[] F1) Compute(IReadOnlyList<float> errors, IReadOnlyList<bool> isAnomaly, int maxPoints = 400)
    {
        if (errors.Count != isAnomaly.Count)
            throw new ArgumentException($"errors has {errors.Count} entries but isAnomaly has {isAnomaly.Count}.", nameof(isAnomaly));
        if (maxPoints < 2) throw new ArgumentOutOfRangeException(nameof(maxPoints), maxPoints, "Need at least two points.");
        int[] finite = Enumerable.Range(0, errors.Count).Where(i => float.IsFinite(errors[i])).ToArray();
        if (finite.Length == 0) return ([], []);
        ThresholdCurve curve = Ranking.F1ByThreshold(finite.Select(i => errors[i]).ToArray(), finite.Select(i => isAnomaly[i]).ToArray());
        int count = curve.Thresholds.Count;
        int[] keep = count <= maxPoints
            ? Enumerable.Range(0, count).ToArray()
            : Enumerable.Range(0, maxPoints).Select(j => (int)Math.Round((double)j * (count - 1) / (maxPoints - 1))).Distinct().ToArray();
        return (keep.Select(k => curve.Thresholds[k]).ToArray(), keep.Select(k => curve.F1[k]).ToArray());
    }
}
