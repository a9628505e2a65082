// Choosing the threshold above which an error counts as an anomaly, from errors on data believed normal.
namespace AeMnist.Evaluation;

/// <summary>Threshold rules: a percentile of reference errors (numpy's default method), or PyOD's contamination rule.</summary>
public static class Thresholds
{
    /// <summary>
    /// The <paramref name="percentile"/>-th percentile of <paramref name="values"/> as numpy's
    /// <c>np.percentile(values, p)</c> computes it by default ("linear"): sort, take the virtual index
    /// (n − 1)·p/100, and interpolate between its neighbours, in double precision. 0 gives the minimum, 100
    /// the maximum.
    /// </summary>
    /// <exception cref="ArgumentException">No values, a NaN value, or a percentile outside [0, 100].</exception>
    public static double Percentile(ReadOnlySpan<float> values, double percentile)
    {
        if (values.IsEmpty) throw new ArgumentException("Cannot take a percentile of no values.", nameof(values));
        if (!(percentile >= 0 && percentile <= 100))
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "The percentile must be in [0, 100].");
        Inputs.CheckNoNaN(values, nameof(values));
        var sorted = new double[values.Length];
        for (int i = 0; i < values.Length; i++) sorted[i] = values[i];
        Array.Sort(sorted);

        double index = (sorted.Length - 1) * (percentile / 100);
        if (index >= sorted.Length - 1) return sorted[^1];
        int below = (int)Math.Floor(index);
        double gamma = index - below;
        double a = sorted[below], b = sorted[below + 1];
        // numpy's _lerp: interpolate from the nearer end, so the result is monotone and exact at the ends.
        double difference = b - a;
        return gamma >= 0.5 ? b - difference * (1 - gamma) : a + difference * gamma;
    }

    /// <summary>
    /// PyOD's rule: with a share <paramref name="contamination"/> of anomalies expected among
    /// <paramref name="trainErrors"/>, the threshold is their percentile 100·(1 − contamination); about that
    /// share of the training errors lies at or above it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Contamination outside (0, 0.5].</exception>
    public static double FromContamination(ReadOnlySpan<float> trainErrors, double contamination)
    {
        if (!(contamination > 0 && contamination <= 0.5))
            throw new ArgumentOutOfRangeException(nameof(contamination), contamination, "Contamination must be in (0, 0.5].");
        return Percentile(trainErrors, 100 * (1 - contamination));
    }

    /// <summary>The threshold at percentile <paramref name="percentile"/> (in [0, 100]) of <paramref name="errors"/>; see <see cref="Percentile"/>.</summary>
    public static double FromPercentile(ReadOnlySpan<float> errors, double percentile) => Percentile(errors, percentile);
}
