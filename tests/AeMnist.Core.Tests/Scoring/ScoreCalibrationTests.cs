// The combined score: each base score's log standardised on normal images, averaged, exponentiated. Checked against the
// formula by hand, for the properties that make it a combination worth having (units do not matter, a typical normal
// image scores 1, each base counts), and through the scoring paths (FromReconstructions, ModelScores) and its JSON.
using AeMnist.Scoring;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Scoring;

public class ScoreCalibrationTests
{
    // Normal images' base scores: ssim around 0.1, smoothed around 0.002 (different units and spreads).
    private static readonly float[] NormalSsim = [0.08f, 0.10f, 0.12f, 0.09f, 0.11f];
    private static readonly float[] NormalSmoothed = [0.0015f, 0.0020f, 0.0030f, 0.0025f, 0.0018f];

    private static ScoreCalibration Fitted() => ScoreCalibration.Fit([NormalSsim, NormalSmoothed], "validation split");

    private static float[] Combine(ScoreCalibration c, float[] ssim, float[] smoothed)
    {
        var result = new float[ssim.Length];
        c.Combine([ssim, smoothed], result);
        return result;
    }

    [Fact]
    public void Each_base_is_standardised_by_its_normal_log_mean_and_sample_std_and_the_z_scores_averaged()
    {
        ScoreCalibration c = Fitted();
        Assert.Equal(new[] { ScoreKind.Ssim, ScoreKind.Smoothed }, c.Bases.Select(b => b.Kind));
        Assert.Equal(5, c.Images);
        double[] logs = [.. NormalSsim.Select(v => Math.Log(v))];
        double mean = logs.Average(), std = Math.Sqrt(logs.Sum(v => (v - mean) * (v - mean)) / 4);
        Assert.Equal(mean, c.Bases[0].LogMean, 1e-12);
        Assert.Equal(std, c.Bases[0].LogStd, 1e-12);
        // By hand: an image with ssim 0.2 and smoothed 0.001.
        double z1 = (Math.Log(0.2f) - c.Bases[0].LogMean) / c.Bases[0].LogStd, z2 = (Math.Log(0.001f) - c.Bases[1].LogMean) / c.Bases[1].LogStd;
        float[] scores = Combine(c, [0.2f], [0.001f]);
        Assert.Equal(Math.Exp((z1 + z2) / 2), scores[0], 1e-5 * scores[0]);
    }

    [Fact]
    public void A_typical_normal_image_scores_one_and_a_worse_one_in_either_base_scores_higher()
    {
        ScoreCalibration c = Fitted();
        float geoSsim = (float)Math.Exp(c.Bases[0].LogMean), geoSmoothed = (float)Math.Exp(c.Bases[1].LogMean);
        float[] scores = Combine(c, [geoSsim, 2 * geoSsim, geoSsim, 2 * geoSsim], [geoSmoothed, geoSmoothed, 2 * geoSmoothed, 2 * geoSmoothed]);
        Assert.Equal(1, scores[0], 1e-5);
        Assert.True(scores[1] > 1 && scores[2] > 1 && scores[3] > scores[1] && scores[3] > scores[2], string.Join(", ", scores));
    }

    [Fact]
    public void The_units_of_a_base_do_not_matter_only_how_it_ranks_against_the_normal_spread()
    {
        // Scaling one base by 1000 everywhere (normal images included) leaves every combined score where it was: a plain
        // sum of the raw scores would let the larger unit decide alone.
        ScoreCalibration c = Fitted();
        ScoreCalibration scaled = ScoreCalibration.Fit([NormalSsim, [.. NormalSmoothed.Select(v => 1000 * v)]], "validation split");
        float[] ssim = [0.05f, 0.1f, 0.3f, 0.15f], smoothed = [0.004f, 0.001f, 0.002f, 0.01f];
        float[] a = Combine(c, ssim, smoothed), b = Combine(scaled, ssim, [.. smoothed.Select(v => 1000 * v)]);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-4 * a[i]);
        // Both bases count: the image worst in ssim alone and the image worst in smoothed alone both beat the typical ones.
        Assert.True(a[2] > a[1] && a[3] > a[1], string.Join(", ", a));
    }

    [Fact]
    public void A_tighter_base_weighs_more()
    {
        // Two images, each twice the typical value in one base: the base whose normal images spread less moves the score more.
        float[] tight = [0.10f, 0.101f, 0.099f, 0.1f, 0.1005f], loose = [0.001f, 0.004f, 0.002f, 0.0005f, 0.003f];
        ScoreCalibration c = ScoreCalibration.Fit([tight, loose], "validation split");
        float t = (float)Math.Exp(c.Bases[0].LogMean), l = (float)Math.Exp(c.Bases[1].LogMean);
        float[] scores = Combine(c, [2 * t, t], [l, 2 * l]);
        Assert.True(scores[0] > scores[1], string.Join(", ", scores));
    }

    [Fact]
    public void Scores_stay_finite_and_positive_at_the_extremes()
    {
        // Normal images that all score alike (std floored) and images far from them: exp of the clipped mean z.
        ScoreCalibration c = ScoreCalibration.Fit([[0.1f, 0.1f, 0.1f], [0.002f, 0.002f, 0.002f]], "train split");
        Assert.All(c.Bases, b => Assert.Equal(ScoreCalibration.MinLogStd, b.LogStd));
        float[] scores = Combine(c, [0f, 1.5f, 0.1f], [0f, 1f, 0.002f]);
        Assert.All(scores, s => Assert.True(float.IsFinite(s) && s > 0, string.Join(", ", scores)));
        Assert.True(scores[0] < scores[2] && scores[2] < scores[1]);
        Assert.Throws<ArgumentException>(() => ScoreCalibration.Fit([[0.1f], [0.2f]], "validation split"));
    }

    [Fact]
    public void Scoring_reconstructions_with_combined_is_combining_their_ssim_and_smoothed_scores()
    {
        var shape = ImageShape.Mnist;
        int n = 3;
        float[] x = new float[n * 784], y = new float[n * 784];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)((Math.Sin(i * 0.37) + 1) / 2);
            y[i] = Math.Clamp(x[i] * (0.9f - 0.1f * (i / 784)) + 0.05f * (float)Math.Cos(i * 0.11 * (1 + i / 784)), 0, 1);
        }
        ScoreCalibration c = Fitted();
        float[] ssim = new float[n], smoothed = new float[n], combined = new float[n];
        Scores.FromReconstructions(ScoreKind.Ssim, x, y, n, shape, ssim);
        Scores.FromReconstructions(ScoreKind.Smoothed, x, y, n, shape, smoothed);
        Scores.FromReconstructions(ScoreKind.Combined, x, y, n, shape, combined, c);
        Assert.Equal(Combine(c, ssim, smoothed), combined);
        var e = Assert.Throws<ArgumentException>(() => Scores.FromReconstructions(ScoreKind.Combined, x, y, n, shape, combined));
        Assert.Contains("calibration", e.Message);
    }

    [Fact]
    public void Json_round_trips_and_damaged_json_is_refused_with_what_is_wrong()
    {
        ScoreCalibration c = Fitted();
        ScoreCalibration back = ScoreCalibration.FromJson(c.ToJson().ToJsonString());
        Assert.Equal(c.Images, back.Images);
        Assert.Equal(c.Source, back.Source);
        Assert.Equal(c.Bases, back.Bases);
        Assert.Contains("standardised on 5 normal images of the validation split", c.Describe());
        Assert.Contains("ln ssim: mean", c.Describe());
        foreach ((string text, string expect) in new[]
        {
            ("[1]", "not a JSON object"),
            ("{", "not JSON"),
            ("""{"images":5,"source":"validation split","bases":{"ssim":{"log_mean":-2,"log_std":0.2}}}""", "'bases' must name"),
            ("""{"images":5,"source":"validation split","bases":{"ssim":{"log_mean":-2,"log_std":0},"smoothed":{"log_mean":-6,"log_std":0.3}}}""", "'ssim.log_std' must be at least"),
            ("""{"images":1,"source":"validation split","bases":{"ssim":{"log_mean":-2,"log_std":0.2},"smoothed":{"log_mean":-6,"log_std":0.3}}}""", "'images' must be 2 or more"),
            ("""{"images":5,"source":"validation split","bases":{"ssim":{"log_mean":"x","log_std":0.2},"smoothed":{"log_mean":-6,"log_std":0.3}}}""", "'ssim.log_mean' is not a finite number"),
        })
        {
            var e = Assert.Throws<ArgumentException>(() => ScoreCalibration.FromJson(text));
            Assert.Contains(expect, e.Message);
        }
    }
}
