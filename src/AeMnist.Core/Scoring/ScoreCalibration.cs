// The combined score's calibration: for each of its base scores (1 − SSIM and smoothed MSE), the mean and standard
// deviation of the log score over normal images only (the validation split's, else the train split's normal images),
// never an anomaly and never a test image. An image's combined score is exp of the mean over the bases of its
// standardised log score, z = (ln s − mean) / std: a rule that needs no choice and no anomaly, that weighs each base by
// how tightly it holds the normal images, and puts the scores on one scale whatever their units (SSIM's ~0.1, smoothed
// MSE's ~0.001). 1 is a typical normal image, e ≈ 2.72 one standard deviation above on average. The exponent is clipped
// to ±80 so that the score stays a finite positive float.
using System.Globalization;
using System.Text.Json.Nodes;

namespace AeMnist.Scoring;

/// <summary>The log-score statistics of one base score over the normal images it was calibrated on.</summary>
public sealed record BaseStatistics(ScoreKind Kind, double LogMean, double LogStd);

/// <summary>How the combined score standardises its base scores, learnt from <see cref="Images"/> normal images of <see cref="Source"/>.</summary>
public sealed record ScoreCalibration(IReadOnlyList<BaseStatistics> Bases, int Images, string Source)
{
    /// <summary>The scores the combined score combines, in this order.</summary>
    public static IReadOnlyList<ScoreKind> BaseKinds { get; } = [ScoreKind.Ssim, ScoreKind.Smoothed];

    /// <summary>The smallest standard deviation used (in log units): normal images that all score alike would otherwise divide by zero.</summary>
    public const double MinLogStd = 1e-3;

    /// <summary>The exponent's clip: exp(±80) stays a finite, positive float.</summary>
    public const double MaxExponent = 80;

    // Scores of 0 (a perfect reconstruction) count as this before the log.
    public const double Floor = 1e-12;

    private static double Log(float score) => Math.Log(Math.Max(score, Floor));

    /// <summary>
    /// The calibration from the base scores of normal images (<paramref name="baseScores"/>[k] are
    /// the <see cref="BaseKinds"/>[k] scores); <paramref name="source"/> says which images ("validation split").
    /// </summary>
    public static ScoreCalibration Fit(IReadOnlyList<float[]> baseScores, string source)
    {
        if (baseScores.Count != BaseKinds.Count) throw new ArgumentException($"the combined score needs {BaseKinds.Count} base scores, got {baseScores.Count}");
        int n = baseScores[0].Length;
        if (n < 2) throw new ArgumentException($"the combined score needs at least 2 normal images to learn its scale from, and the {source} has {n}");
        var bases = new BaseStatistics[BaseKinds.Count];
        for (int k = 0; k < bases.Length; k++)
        {
            float[] s = baseScores[k];
            if (s.Length != n) throw new ArgumentException($"base score {k} has {s.Length} values, expected {n}");
            double mean = 0;
            foreach (float v in s) mean += Log(v);
            mean /= n;
            double squares = 0;
            foreach (float v in s) squares += (Log(v) - mean) * (Log(v) - mean);
            bases[k] = new BaseStatistics(BaseKinds[k], mean, Math.Max(Math.Sqrt(squares / (n - 1)), MinLogStd));
        }
        return new ScoreCalibration(bases, n, source);
    }

    /// <summary>The combined score of each image from its base scores (<paramref name="baseScores"/>[k] the <see cref="BaseKinds"/>[k] scores).</summary>
    public void Combine(IReadOnlyList<float[]> baseScores, Span<float> destination)
    {
        if (baseScores.Count != Bases.Count) throw new ArgumentException($"the combined score needs {Bases.Count} base scores, got {baseScores.Count}");
        for (int i = 0; i < destination.Length; i++)
        {
            double z = 0;
            for (int k = 0; k < Bases.Count; k++) z += (Log(baseScores[k][i]) - Bases[k].LogMean) / Bases[k].LogStd;
            destination[i] = (float)Math.Exp(Math.Clamp(z / Bases.Count, -MaxExponent, MaxExponent));
        }
    }

    /// <summary>In words, for run.json, metrics.json, the report and stderr: what was learnt from which images.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"exp of the mean standardised log score of {string.Join(" and ", Bases.Select(b => Scores.Label(b.Kind)))}, standardised on {Images} normal images of the {Source} ({string.Join("; ", Bases.Select(b => $"ln {Scores.Name(b.Kind)}: mean {b.LogMean:F3}, std {b.LogStd:F3}"))})");

    /// <summary>As JSON (run.json, metrics.json and the model file's metadata).</summary>
    public JsonObject ToJson()
    {
        var bases = new JsonObject();
        foreach (BaseStatistics b in Bases) bases[Scores.Name(b.Kind)] = new JsonObject { ["log_mean"] = b.LogMean, ["log_std"] = b.LogStd };
        return new JsonObject { ["images"] = Images, ["source"] = Source, ["bases"] = bases };
    }

    /// <summary>
    /// The calibration <see cref="ToJson"/> wrote; anything else (a missing or non-finite field, a base out of order, a
    /// standard deviation below <see cref="MinLogStd"/>) is an <see cref="ArgumentException"/> saying what.
    /// </summary>
    public static ScoreCalibration FromJson(string text)
    {
        JsonObject json;
        try { json = JsonNode.Parse(text) as JsonObject ?? throw new ArgumentException("not a JSON object"); }
        catch (System.Text.Json.JsonException) { throw new ArgumentException("not JSON"); }
        static double Number(JsonNode? node, string what) =>
            node is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d) ? d : throw new ArgumentException($"'{what}' is not a finite number");
        int images = (int)Number(json["images"], "images");
        if (images < 2) throw new ArgumentException("'images' must be 2 or more");
        string source = json["source"] is JsonValue s && s.TryGetValue(out string? src) && src.Length is > 0 and <= 100 ? src : throw new ArgumentException("'source' is not a short text");
        if (json["bases"] is not JsonObject bases || bases.Count != BaseKinds.Count) throw new ArgumentException($"'bases' must name {string.Join(" and ", BaseKinds.Select(Scores.Name))}");
        var list = new List<BaseStatistics>();
        foreach (ScoreKind kind in BaseKinds)
        {
            string name = Scores.Name(kind);
            if (bases[name] is not JsonObject b) throw new ArgumentException($"'bases' has no '{name}'");
            double std = Number(b["log_std"], $"{name}.log_std");
            if (!(std >= MinLogStd)) throw new ArgumentException($"'{name}.log_std' must be at least {MinLogStd}");
            list.Add(new BaseStatistics(kind, Number(b["log_mean"], $"{name}.log_mean"), std));
        }
        return new ScoreCalibration(list, images, source);
    }
}
