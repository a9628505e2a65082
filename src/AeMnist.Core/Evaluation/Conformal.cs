// Conformal p-values (Vovk et al.; alibi-detect's and PyOD's calibrated outputs): a score's p-value against the scores
// of n calibration images known to be normal is p(s) = (1 + #{v >= s}) / (n + 1). Its promise: when a new normal image
// and the calibration images are exchangeable (drawn alike, the model trained on neither), P(p <= a) <= a for every a,
// so flagging p <= a raises false alarms on at most a share a of normal images, on average over calibration sets.
// Calibration images the model was trained on score lower than new normals, and then the promise does not hold.
namespace AeMnist.Evaluation;

public static class Conformal
{
    /// <summary>The calibration scores sorted ascending, for <see cref="PValue"/>; a NaN among them is an <see cref="ArgumentException"/>.</summary>
    public static float[] Sort(ReadOnlySpan<float> calibration)
    {
        if (calibration.Length == 0) throw new ArgumentException("conformal p-values need at least one calibration score");
        float[] sorted = calibration.ToArray();
        foreach (float v in sorted)
            if (float.IsNaN(v)) throw new ArgumentException("a calibration score is NaN");
        Array.Sort(sorted);
        return sorted;
    }

    /// <summary>(1 + #{v in <paramref name="sorted"/> : v &gt;= s}) / (n + 1), from ascending scores (<see cref="Sort"/>).</summary>
    public static double PValue(ReadOnlySpan<float> sorted, float s)
    {
        // The first index whose value is >= s: everything from there on counts.
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] >= s) hi = mid;
            else lo = mid + 1;
        }
        return (1.0 + (sorted.Length - lo)) / (sorted.Length + 1.0);
    }

    /// <summary>The p-value of each score against <paramref name="calibration"/> (any order).</summary>
    public static double[] PValues(ReadOnlySpan<float> calibration, ReadOnlySpan<float> scores)
    {
        float[] sorted = Sort(calibration);
        var p = new double[scores.Length];
        for (int i = 0; i < scores.Length; i++) p[i] = PValue(sorted, scores[i]);
        return p;
    }

    /// <summary>
    /// The threshold t such that, for every float score s, s &gt;= t exactly when p(s) &lt;= <paramref name="alpha"/>; null when
    /// no p-value can be that small (alpha &lt; 1 / (n + 1)). p(s) &lt;= a means #{v &gt;= s} &lt;= k = floor(a (n + 1)) - 1, which
    /// holds exactly when s is above the (k + 1)-th largest calibration score; t is the next float above it (0 when k &gt;= n:
    /// every score is flagged).
    /// </summary>
    public static double? Threshold(ReadOnlySpan<float> calibration, double alpha)
    {
        if (!(alpha > 0 && alpha < 1)) throw new ArgumentException($"alpha must be in (0, 1), got {alpha}");
        float[] sorted = Sort(calibration);
        int n = sorted.Length;
        // a (n + 1) rounded down, with a margin for the binary representation of a (0.05 * 600 is 30.000000000000004).
        long k = (long)Math.Floor(alpha * (n + 1) + 1e-9) - 1;
        if (k < 0) return null;
        if (k >= n) return 0;
        float kth = sorted[n - 1 - (int)k];  // the (k + 1)-th largest
        return MathF.BitIncrement(kth);
    }
}
