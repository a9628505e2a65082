using AeMnist.Evaluation;

namespace AeMnist.Core.Tests.Evaluation;

public sealed class ConformalTests
{
    [Fact]
    public void PValue_counts_the_calibration_scores_at_or_above_the_score_plus_one_over_n_plus_one()
    {
        float[] calibration = [0.5f, 0.1f, 0.3f, 0.3f];  // any order
        double[] p = Conformal.PValues(calibration, [0.05f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.9f]);
        // #{v >= s}: 4, 4, 3, 3, 1, 1, 0 -> (1 + count) / 5.
        Assert.Equal([1.0, 1.0, 0.8, 0.8, 0.4, 0.4, 0.2], p);
    }

    [Fact]
    public void Threshold_flags_exactly_the_scores_whose_p_value_is_at_most_alpha()
    {
        var rng = new Rng(3);
        for (int trial = 0; trial < 50; trial++)
        {
            int n = 1 + (int)(rng.NextUInt64() % 200);
            // Few distinct values, so that ties among calibration scores and with the scores occur.
            float[] calibration = [.. Enumerable.Range(0, n).Select(_ => (rng.NextUInt64() % 20) / 10f)];
            float[] scores = [.. Enumerable.Range(0, 300).Select(_ => (rng.NextUInt64() % 25) / 10f)];
            foreach (double alpha in new[] { 0.01, 0.05, 0.1, 0.29, 0.5, 0.99 })
            {
                double? t = Conformal.Threshold(calibration, alpha);
                double[] p = Conformal.PValues(calibration, scores);
                if (t is null)
                {
                    Assert.True(alpha < 1.0 / (n + 1), $"n {n}, alpha {alpha}: no threshold");
                    Assert.All(p, v => Assert.True(v > alpha));
                    continue;
                }
                for (int i = 0; i < scores.Length; i++)
                    Assert.True(scores[i] >= t == p[i] <= alpha + 1e-12, $"n {n}, alpha {alpha}, score {scores[i]}: p {p[i]}, threshold {t}");
            }
        }
    }

    [Fact]
    public void On_exchangeable_normal_scores_the_false_alarm_rate_stays_at_most_alpha()
    {
        // Calibration and new normal scores from the same law: over many draws the share of new ones flagged at p <= 0.1
        // is at most 0.1 on average; with n = 98 it is floor(0.1 * 99) / 99 = 0.0909 in expectation (about 0.002 of noise here).
        var rng = new Rng(11);
        double flagged = 0, total = 0;
        for (int draw = 0; draw < 200; draw++)
        {
            float[] calibration = [.. Enumerable.Range(0, 98).Select(_ => (float)rng.NextDouble())];
            float[] fresh = [.. Enumerable.Range(0, 100).Select(_ => (float)rng.NextDouble())];
            double t = Conformal.Threshold(calibration, 0.1)!.Value;
            flagged += fresh.Count(s => s >= t);
            total += fresh.Length;
        }
        Assert.InRange(flagged / total, 0.083, 0.099);
    }

    [Fact]
    public void Empty_or_NaN_calibration_and_alpha_outside_0_1_are_errors()
    {
        Assert.Throws<ArgumentException>(() => Conformal.PValues([], [1f]));
        Assert.Throws<ArgumentException>(() => Conformal.PValues([float.NaN], [1f]));
        Assert.Throws<ArgumentException>(() => Conformal.Threshold([1f], 0));
        Assert.Throws<ArgumentException>(() => Conformal.Threshold([1f], 1));
    }
}
