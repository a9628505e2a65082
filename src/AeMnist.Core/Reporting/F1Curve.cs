// F1 (anomalies positive) as a function of the threshold, from one sort of the errors.
namespace AeMnist.Reporting;

public static class F1Curve
{
    /// <summary>
    /// F1 at thresholds taken from the errors themselves (an image is flagged when its error is above the
    /// threshold): every distinct error when there are at most <paramref name="maxPoints"/>, else that many
    /// spread evenly by rank. Non-finite errors are left out. Thresholds ascend.
    /// </summary>
    public static (double[] Thresholds, double[] F1) Compute(IReadOnlyList<float> errors, IReadOnlyList<bool> isAnomaly, int maxPoints = 400)
    {
        if (errors.Count != isAnomaly.Count)
            throw new ArgumentException($"errors has {errors.Count} entries but isAnomaly has {isAnomaly.Count}.", nameof(isAnomaly));
        if (maxPoints < 2) throw new ArgumentOutOfRangeException(nameof(maxPoints), maxPoints, "Need at least two points.");

        var items = Enumerable.Range(0, errors.Count).Where(i => float.IsFinite(errors[i]))
            .Select(i => (Error: (double)errors[i], Anomaly: isAnomaly[i])).OrderBy(p => p.Error).ToArray();
        int n = items.Length;
        int positives = items.Count(p => p.Anomaly);

        // Ends of runs of equal errors: thresholding at items[k].Error flags exactly the items after k.
        var ends = new List<int>();
        for (int k = 0; k < n; k++)
            if (k == n - 1 || items[k + 1].Error > items[k].Error) ends.Add(k);
        if (ends.Count > maxPoints)
            ends = [.. Enumerable.Range(0, maxPoints).Select(j => ends[(int)Math.Round((double)j * (ends.Count - 1) / (maxPoints - 1))]).Distinct()];

        var thresholds = new double[ends.Count];
        var f1 = new double[ends.Count];
        int anomaliesAtOrBelow = 0, next = 0;
        for (int j = 0; j < ends.Count; j++)
        {
            for (; next <= ends[j]; next++) if (items[next].Anomaly) anomaliesAtOrBelow++;
            int flagged = n - (ends[j] + 1);
            int truePositives = positives - anomaliesAtOrBelow;
            // 2TP + FP + FN = flagged + positives.
            int denominator = flagged + positives;
            thresholds[j] = items[ends[j]].Error;
            f1[j] = denominator == 0 ? 0 : 2.0 * truePositives / denominator;
        }
        return (thresholds, f1);
    }
}
