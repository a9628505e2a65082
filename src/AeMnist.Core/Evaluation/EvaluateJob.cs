// `aemnist evaluate` as a library call: rebuild the split, score the test (and train) images with the
// model, choose the threshold, and compute every metric; plus metrics.json and the report's input.
using System.Globalization;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Models;
using AeMnist.Reporting;
using AeMnist.Training;

namespace AeMnist.Evaluation;

/// <summary>How the threshold is chosen; exactly one rule applies.</summary>
public abstract record ThresholdRule
{
    /// <summary>The threshold stored in the model file (train's default: contamination 0.1).</summary>
    public sealed record Stored : ThresholdRule;

    public sealed record Fixed(double Value) : ThresholdRule;

    /// <summary>The (1 - F) quantile of all train-split errors (PyOD's contamination rule).</summary>
    public sealed record Contamination(double Fraction) : ThresholdRule;

    /// <summary>The P-th percentile of the train split's normal-digit errors.</summary>
    public sealed record Percentile(double P) : ThresholdRule;

    /// <summary>
    /// The threshold that flags a share F of the normal digits the model may be tuned on: those of the validation
    /// split when there is one, else of the train split (percentile 100·(1 − F) of their errors). Needs no anomalies.
    /// </summary>
    public sealed record FalsePositiveRate(double Fraction) : ThresholdRule;

    /// <summary>The rule for a model that stores no threshold (e.g. trained elsewhere): flag 5% of the normal train digits.</summary>
    public static ThresholdRule DefaultForForeignModel { get; } = new FalsePositiveRate(0.05);
}

/// <summary>Labelled images to evaluate on instead of the split's test images (evaluate --input).</summary>
public sealed record LabelledImages(string Name, float[] Pixels, byte[] Labels);

/// <summary>Errors of one split's images, with their digits and truth.</summary>
public sealed record ScoredImages(int[] Indices, float[] Errors, byte[] Labels, bool[] IsAnomaly);

public sealed record EvaluationOutcome(
    DataSplit Split,
    ScoredImages Test,
    double Threshold,
    string ThresholdRuleText,
    EvaluationResult Result,
    bool ConstantOutput,
    ScoreKind Score = ScoreKind.Mse)
{
    /// <summary>The evaluated images themselves (row-major, 784 values each), for reconstructions and latent codes.</summary>
    public float[] TestPixels { get; init; } = [];

    /// <summary>What the evaluated images are: "the test split", or the --input file's name.</summary>
    public string TestName { get; init; } = "the test split";

    /// <summary>The evaluated images came from --input rather than the split.</summary>
    public bool FromInput { get; init; }

    /// <summary>The model file records how it was trained (an aemnist run); false for a model trained elsewhere.</summary>
    public bool TrainedHere { get; init; } = true;

    /// <summary>True when early stopping watched these images; null when unknown (a model from elsewhere, or --input data).</summary>
    public bool? TestUsedForEarlyStopping => FromInput || !TrainedHere ? null : Split.MonitorsTest;

    /// <summary>The best F1 over all thresholds on these labels and its threshold: a reference figure, never the chosen threshold.</summary>
    public (double Threshold, double F1) BestF1 { get; init; } = (double.NaN, double.NaN);
}

public static class EvaluateJob
{
    public static ScoredImages Score(IEngineModel model, MnistDataset data, int[] indices, int normalDigit, ScoreKind score = ScoreKind.Mse, string? modelFile = null) =>
        Score(model, data.Gather(indices), data, indices, normalDigit, score, modelFile);

    // images: the MNIST images at indices, already gathered.
    private static ScoredImages Score(IEngineModel model, float[] images, MnistDataset data, int[] indices, int normalDigit, ScoreKind score, string? modelFile)
    {
        var errors = new float[indices.Length];
        AnomalyScore.Compute(model, score, images, indices.Length, errors);
        Training.ModelHealth.CheckFinite(errors, modelFile ?? model.Spec.Describe(), i => $"MNIST image {indices[i]}");
        byte[] labels = data.GatherLabels(indices);
        return new ScoredImages(indices, errors, labels, Evaluator.IsAnomaly(labels, normalDigit));
    }

    /// <summary>
    /// Evaluates the model on the split's test images, or on <paramref name="input"/> when given (its labels against
    /// the split's normal digit), with the anomaly score <paramref name="score"/> (default: the score the model's stored
    /// threshold is for, which is mse unless it was trained with --score). Threshold rules that learn from data use the
    /// split's train (or validation) images, never the evaluated ones. A stored threshold belongs to one score:
    /// evaluated with another, the threshold is that score's contamination-0.1 quantile of the train split instead
    /// (train's default rule). A model without a stored threshold gets <see cref="ThresholdRule.DefaultForForeignModel"/>.
    /// The rule text says which applied.
    /// </summary>
    public static EvaluationOutcome Execute(IEngineModel model, ModelMetadata metadata, SplitOptions splitOptions, MnistDataset data, ThresholdRule rule,
        LabelledImages? input = null, ScoreKind? score = null, string? modelFile = null)
    {
        ScoreKind stored = metadata.Score ?? ScoreKind.Mse, kind = score ?? stored;
        string name = AnomalyScore.Name(kind);
        // Another score than the stored threshold's: train's default rule on that score (a model storing no threshold at
        // all gets the foreign model's default below, whatever the score).
        if (rule is ThresholdRule.Stored && kind != stored && metadata.Threshold is not null) rule = new ThresholdRule.Contamination(0.1);
        DataSplit split = Splitter.Split(data.Labels, data.TrainCount, splitOptions);
        float[] pixels = input?.Pixels ?? data.Gather(split.Test);
        ScoredImages test = input is null ? Score(model, pixels, data, split.Test, splitOptions.Normal, kind, modelFile) : Score(model, input, splitOptions.Normal, kind, modelFile);
        string defaultNote = "";
        if (rule is ThresholdRule.Stored && metadata.Threshold is null)
        {
            rule = ThresholdRule.DefaultForForeignModel;
            defaultNote = "the model file stores no threshold (trained elsewhere?), so aemnist's default rule applies: ";
        }
        string scores = kind == ScoreKind.Mse ? "errors" : $"{name} scores";
        (double threshold, string ruleText) = rule switch
        {
            ThresholdRule.Fixed f => (f.Value, "given with --threshold"),
            ThresholdRule.Contamination c => (Thresholds.FromContamination(Score(model, data, split.Train, splitOptions.Normal, kind, modelFile).Errors, c.Fraction),
                $"contamination {Text(c.Fraction)}: percentile {Text(100 * (1 - c.Fraction))} of the train split's {scores}" +
                (kind != stored && score is not null && metadata.Threshold is not null ? $" (the stored threshold is for the {AnomalyScore.Name(stored)} score)" : "")),
            ThresholdRule.Percentile p => (Thresholds.FromPercentile(NormalTrainErrors(model, data, split, splitOptions.Normal, kind, modelFile), p.P),
                $"percentile {Text(p.P)} of the train split's normal-digit {scores}"),
            ThresholdRule.FalsePositiveRate f => (Thresholds.FromPercentile(NormalTuningErrors(model, data, split, splitOptions.Normal, kind, modelFile), 100 * (1 - f.Fraction)),
                $"{defaultNote}--fpr {Text(f.Fraction)}: flags {Text(100 * f.Fraction)}% of the normal digits of the {(split.Validation.Length > 0 ? "validation" : "train")} split (percentile {Text(100 * (1 - f.Fraction))} of their {scores})"),
            _ => (metadata.Threshold ?? throw new ArgumentException("the model stores no threshold; pass --threshold, --contamination or --percentile"),
                "the model's stored threshold, from train's contamination rule"),
        };
        EvaluationResult result = Evaluator.Evaluate(test.Errors, test.IsAnomaly, threshold, test.Labels);
        return new EvaluationOutcome(split, test, threshold, ruleText, result, Training.ModelHealth.IsConstant(model, pixels, test.Errors.Length) || metadata.Collapsed, kind)
        {
            TestPixels = pixels,
            TestName = input?.Name ?? "the test split",
            FromInput = input is not null,
            TrainedHere = metadata.Split is not null,
            BestF1 = BestF1(result.F1ByThreshold),
        };
    }

    /// <summary>Scores labelled images from --input; an image is an anomaly when its label is not <paramref name="normalDigit"/>.</summary>
    public static ScoredImages Score(IEngineModel model, LabelledImages input, int normalDigit, ScoreKind score = ScoreKind.Mse, string? modelFile = null)
    {
        int n = input.Labels.Length;
        var errors = new float[n];
        AnomalyScore.Compute(model, score, input.Pixels, n, errors);
        Training.ModelHealth.CheckFinite(errors, modelFile ?? model.Spec.Describe(), i => $"{input.Name} image {i}");
        return new ScoredImages([.. Enumerable.Range(0, n)], errors, input.Labels, Evaluator.IsAnomaly(input.Labels, normalDigit));
    }

    /// <summary>The threshold with the highest F1 on a curve, and that F1 (NaN for an empty curve).</summary>
    public static (double Threshold, double F1) BestF1(ThresholdCurve curve)
    {
        int best = -1;
        for (int i = 0; i < curve.F1.Count; i++)
            if (double.IsFinite(curve.F1[i]) && (best < 0 || curve.F1[i] > curve.F1[best])) best = i;
        return best < 0 ? (double.NaN, double.NaN) : (curve.Thresholds[best], curve.F1[best]);
    }

    private static float[] NormalTuningErrors(IEngineModel model, MnistDataset data, DataSplit split, int normal, ScoreKind score, string? modelFile)
    {
        int[] pool = split.Validation.Length > 0 ? split.Validation : split.Train;
        int[] normals = pool.Where(i => data.Labels[i] == normal).ToArray();
        if (normals.Length == 0) throw new ArgumentException($"--fpr needs normal digits ({normal}) in the {(split.Validation.Length > 0 ? "validation" : "train")} split, and it has none");
        return Score(model, data, normals, normal, score, modelFile).Errors;
    }

    private static float[] NormalTrainErrors(IEngineModel model, MnistDataset data, DataSplit split, int normal, ScoreKind score, string? modelFile)
    {
        int[] normals = split.Train.Where(i => data.Labels[i] == normal).ToArray();
        return Score(model, data, normals, normal, score, modelFile).Errors;
    }

    private static string Text(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>metrics.json (and evaluate --json): the documented metric fields first, then the details.</summary>
    public static JsonObject MetricsJson(EvaluationOutcome outcome, ModelMetadata metadata, string modelPath)
    {
        EvaluationResult r = outcome.Result;
        BinaryMetrics m = r.Metrics;
        SplitOptions s = outcome.Split.Options;
        var digits = new JsonObject();
        if (r.DigitFlagRates is { } rates)
            for (int d = 0; d < rates.Count; d++)
                digits[d.ToString(CultureInfo.InvariantCulture)] = double.IsNaN(rates[d]) ? null : rates[d];
        return new JsonObject
        {
            ["threshold"] = outcome.Threshold,
            ["auroc"] = Number(r.Auroc),
            ["average_precision"] = Number(r.AveragePrecision),
            ["f1"] = m.F1,
            ["f1_normal"] = m.F1Normal,
            ["precision"] = m.Precision,
            ["recall"] = m.Recall,
            ["accuracy"] = m.Accuracy,
            ["tp"] = m.TruePositives,
            ["fp"] = m.FalsePositives,
            ["tn"] = m.TrueNegatives,
            ["fn"] = m.FalseNegatives,
            ["precision_normal"] = m.PrecisionNormal,
            ["recall_normal"] = m.RecallNormal,
            ["false_positive_rate"] = m.FalsePositiveRate,
            ["threshold_rule"] = outcome.ThresholdRuleText,
            ["flag_rule"] = "anomaly when error >= threshold",
            ["score"] = AnomalyScore.Name(outcome.Score),
            ["digit_flag_rates"] = digits,
            ["test_set"] = outcome.TestName,
            ["test_count"] = outcome.Test.Errors.Length,
            ["test_normal"] = m.Normals,
            ["test_anomalies"] = m.Anomalies,
            ["test_used_for_early_stopping"] = outcome.TestUsedForEarlyStopping,
            ["reference_best_f1"] = Number(outcome.BestF1.F1),
            ["reference_best_f1_threshold"] = Number(outcome.BestF1.Threshold),
            ["constant_output"] = outcome.ConstantOutput,
            ["model"] = metadata.Model,
            ["model_file"] = Path.GetFullPath(modelPath),
            ["normal"] = s.Normal,
            ["protocol"] = SplitOptions.ProtocolName(s.Protocol),
            ["seed"] = s.Seed,
            ["aemnist_version"] = ModelMetadata.ToolVersion,
        };
    }

    private static JsonNode? Number(double value) => double.IsFinite(value) ? value : null;

    /// <summary>Everything the HTML report shows for one evaluated model.</summary>
    public static ReportInput ReportInput(EvaluationOutcome outcome, IEngineModel model, ModelMetadata metadata, MnistDataset data,
        RunDirectory? run, string modelPath)
    {
        EvaluationResult r = outcome.Result;
        BinaryMetrics m = r.Metrics;
        ScoredImages test = outcome.Test;
        var history = run is null ? [] : RunDirectory.ReadHistory(run.HistoryPath);
        int? bestEpoch = null;
        double best = double.PositiveInfinity;
        foreach (var h in history)
            if (h.MonitorLoss is { } loss && loss < best) { best = loss; bestEpoch = h.Epoch; }
        SplitOptions s = outcome.Split.Options;
        var I = CultureInfo.InvariantCulture;
        bool elsewhere = run is null && !outcome.TrainedHere;
        int trainNormal = outcome.Split.Train.Count(i => data.Labels[i] == s.Normal), trainAll = outcome.Split.Train.Length;
        var settings = new List<(string, string)>
        {
            ("model", metadata.Model + metadata.Architecture.DescribeSettings(metadata.Settings)),
            ("normal digit", s.Normal.ToString(I)),
            ("evaluated on", outcome.FromInput ? $"{outcome.TestName} ({test.Errors.Length.ToString("N0", I)} labelled images)" : $"the test split ({test.Errors.Length.ToString("N0", I)} images)"),
        };
        if (elsewhere)
            settings.Add(("trained", "elsewhere: the file records no split or training settings; the split below was rebuilt from --normal, --protocol and --seed"));
        settings.Add(("protocol", SplitOptions.ProtocolName(s.Protocol)));
        settings.Add(("seed", s.Seed.ToString(I)));
        settings.Add(("split", $"train {trainAll.ToString("N0", I)}, validation {outcome.Split.Validation.Length.ToString("N0", I)}, test {outcome.Split.Test.Length.ToString("N0", I)}"));
        if (!elsewhere)
            settings.Add(("train split mix", $"{trainNormal.ToString("N0", I)} normal + {(trainAll - trainNormal).ToString("N0", I)} anomalous digits ({(trainAll == 0 ? 0 : 100.0 * (trainAll - trainNormal) / trainAll).ToString("0.#", I)}% anomalies)"));
        settings.Add(("early stopping watched", outcome.TestUsedForEarlyStopping switch
        {
            true => "the test split (as the tutorial; test figures are optimistic)",
            false => "the validation split",
            null when elsewhere => "unknown (model trained elsewhere)",
            null => outcome.Split.MonitorsTest ? "the test split, which --input data may overlap" : "the validation split",
        }));
        var warnings = new List<string>();
        if (run is not null && TryReadRunJson(run) is { } runJson)
        {
            if (runJson["options"] is JsonObject o)
            {
                string V(string key) => o[key]?.ToJsonString().Trim('"') ?? "?";
                settings.Add(("optimiser", $"Adam, lr {V("lr")}, batch size {V("batch_size")}, weight decay {V("weight_decay")}"));
                settings.Add(("epochs", $"at most {V("epochs")}, evaluated every {V("eval_every")}, patience {V("patience")}, kept: {V("keep")}"));
                if (o["contamination"] is not null) settings.Add(("train contamination", V("contamination")));
            }
            if (runJson["result"] is JsonObject result && result["collapsed"] is JsonNode collapsed && collapsed.GetValueKind() == System.Text.Json.JsonValueKind.True && !outcome.ConstantOutput)
                warnings.Add("Training flagged this model as collapsed (see run.json).");
        }
        settings.Add(("threshold", $"{outcome.Threshold.ToString("G6", I)} ({outcome.ThresholdRuleText})"));
        settings.Add(("score", $"{AnomalyScore.Name(outcome.Score)}: {AnomalyScore.Describe(outcome.Score)}"));
        settings.Add(("model file", Path.GetFullPath(modelPath)));
        if (run is not null && history.Count > 0)
        {
            settings.Add(("epochs run", history.Count.ToString(I)));
            settings.Add(("seconds per epoch", history.Average(h => h.Seconds).ToString("F3", I)));
        }
        settings.Add(("aemnist", ModelMetadata.ToolVersion));
        if (outcome.FromInput)
            warnings.Add($"Evaluated on {outcome.TestName}: if these images overlap the digits the model was trained or early-stopped on, the figures are optimistic.");

        return new ReportInput
        {
            Title = $"AeMnist: {metadata.Model} autoencoder, normal digit {s.Normal}" + (run is null ? "" : $" ({Path.GetFileName(Path.GetFullPath(run.Path))})")
                    + (outcome.FromInput ? $" on {outcome.TestName}" : ""),
            Settings = settings,
            History = history.Select(h => new HistoryRow(h.Epoch, h.TrainLoss, h.MonitorLoss, h.Seconds)).ToList(),
            BestEpoch = bestEpoch,
            MonitorName = outcome.Split.MonitorsTest ? "test loss (monitored)" : "validation loss",
            TestErrors = test.Errors,
            TestLabels = test.Labels,
            TestIsAnomaly = test.IsAnomaly,
            Threshold = outcome.Threshold,
            ThresholdRule = outcome.ThresholdRuleText,
            TestSetName = outcome.TestName,
            TestUsedForEarlyStopping = outcome.TestUsedForEarlyStopping,
            ConstantOutput = outcome.ConstantOutput,
            TrainedElsewhere = elsewhere,
            Warnings = warnings,
            Metrics = new ReportMetrics
            {
                Accuracy = m.Accuracy, Precision = m.Precision, Recall = m.Recall, F1 = m.F1, F1Normal = m.F1Normal,
                Auroc = r.Auroc, AveragePrecision = r.AveragePrecision,
                TruePositives = m.TruePositives, FalsePositives = m.FalsePositives, TrueNegatives = m.TrueNegatives, FalseNegatives = m.FalseNegatives,
                DigitFlagRates = r.DigitFlagRates ?? Enumerable.Repeat(double.NaN, 10).ToArray(),
                RocFpr = r.Roc.FalsePositiveRate, RocTpr = r.Roc.TruePositiveRate,
                PrRecall = r.PrecisionRecall.Recall, PrPrecision = r.PrecisionRecall.Precision,
            },
            Samples = Samples(test, model, outcome.TestPixels),
            Latent = Latent(model, outcome.TestPixels, test.Labels, s.Normal),
        };
    }

    private static JsonObject? TryReadRunJson(RunDirectory run)
    {
        try
        {
            return File.Exists(run.RunPath) ? JsonNode.Parse(File.ReadAllText(run.RunPath)) as JsonObject : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>The 8 best and worst normals and the 8 most and least anomalous anomalies, with reconstructions.</summary>
    private static ReportSamples Samples(ScoredImages test, IEngineModel model, float[] pixels, int count = 8)
    {
        const int p = MnistDataset.PixelsPerImage;
        int[] order = Enumerable.Range(0, test.Errors.Length).OrderBy(i => test.Errors[i]).ThenBy(i => i).ToArray();
        int[] normals = order.Where(i => !test.IsAnomaly[i]).ToArray();
        int[] anomalies = order.Where(i => test.IsAnomaly[i]).ToArray();
        List<ImageSample> Take(IEnumerable<int> positions)
        {
            int[] chosen = positions.ToArray();
            var originals = new float[chosen.Length * p];
            for (int k = 0; k < chosen.Length; k++) pixels.AsSpan(chosen[k] * p, p).CopyTo(originals.AsSpan(k * p));
            var reconstructions = new float[originals.Length];
            model.Reconstruct(originals, chosen.Length, reconstructions);
            return chosen.Select((i, k) => new ImageSample(originals[(k * p)..((k + 1) * p)], reconstructions[(k * p)..((k + 1) * p)],
                test.Errors[i], test.Labels[i])).ToList();
        }
        return new ReportSamples(
            Take(normals.Take(count)),
            Take(normals.Reverse().Take(count)),
            Take(anomalies.Reverse().Take(count)),
            Take(anomalies.Take(count)));
    }

    /// <summary>The most points the latent projection shows (spread evenly over the evaluated images).</summary>
    public const int MaxLatentPoints = 2000;

    /// <summary>Latent codes (IEngineModel.Encode) of up to <see cref="MaxLatentPoints"/> images, projected on their first two principal components.</summary>
    public static LatentProjection? Latent(IEngineModel model, float[] pixels, byte[] labels, int normalDigit)
    {
        const int p = MnistDataset.PixelsPerImage;
        int total = labels.Length, n = Math.Min(total, MaxLatentPoints);
        int d = model.Spec.Latent.Length;
        if (n < 3 || d < 2) return null;
        int[] rows = [.. Enumerable.Range(0, n).Select(k => (int)((long)k * total / n))];
        var images = new float[n * p];
        for (int k = 0; k < n; k++) pixels.AsSpan(rows[k] * p, p).CopyTo(images.AsSpan(k * p));
        var codes = new float[n * d];
        model.Encode(images, n, codes);
        var (scores, explained, _) = Pca.Project(codes, n, d);
        return new LatentProjection(
            [.. Enumerable.Range(0, n).Select(k => scores[2 * k])], [.. Enumerable.Range(0, n).Select(k => scores[2 * k + 1])],
            [.. rows.Select(r => labels[r])], explained, d, normalDigit);
    }
}
