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
}

/// <summary>Errors of one split's images, with their digits and truth.</summary>
public sealed record ScoredImages(int[] Indices, float[] Errors, byte[] Labels, bool[] IsAnomaly);

public sealed record EvaluationOutcome(
    DataSplit Split,
    ScoredImages Test,
    double Threshold,
    string ThresholdRuleText,
    EvaluationResult Result,
    bool ConstantOutput);

public static class EvaluateJob
{
    public static ScoredImages Score(IEngineModel model, MnistDataset data, int[] indices, int normalDigit, string? modelFile = null)
    {
        float[] images = data.Gather(indices);
        var errors = new float[indices.Length];
        model.ReconstructionErrors(images, indices.Length, errors);
        Training.ModelHealth.CheckFinite(errors, modelFile ?? model.Spec.Describe(), i => $"MNIST image {indices[i]}");
        byte[] labels = data.GatherLabels(indices);
        return new ScoredImages(indices, errors, labels, Evaluator.IsAnomaly(labels, normalDigit));
    }

    public static EvaluationOutcome Execute(IEngineModel model, ModelMetadata metadata, SplitOptions splitOptions, MnistDataset data, ThresholdRule rule,
        string thresholdOptions = "--threshold, --contamination or --percentile", string? modelFile = null)
    {
        if (rule is ThresholdRule.Stored && metadata.Threshold is null)
            throw new ArgumentException($"the model stores no threshold; pass {thresholdOptions}");
        DataSplit split = Splitter.Split(data.Labels, data.TrainCount, splitOptions);
        ScoredImages test = Score(model, data, split.Test, splitOptions.Normal, modelFile);
        (double threshold, string ruleText) = rule switch
        {
            ThresholdRule.Fixed f => (f.Value, "given with --threshold"),
            ThresholdRule.Contamination c => (Thresholds.FromContamination(Score(model, data, split.Train, splitOptions.Normal, modelFile).Errors, c.Fraction),
                $"contamination {Text(c.Fraction)}: percentile {Text(100 * (1 - c.Fraction))} of the train split's errors"),
            ThresholdRule.Percentile p => (Thresholds.FromPercentile(NormalTrainErrors(model, data, split, splitOptions.Normal), p.P),
                $"percentile {Text(p.P)} of the train split's normal-digit errors"),
            _ => (metadata.Threshold ?? throw new ArgumentException("the model stores no threshold; pass --threshold, --contamination or --percentile"),
                "the model's stored threshold, from train's contamination rule"),
        };
        EvaluationResult result = Evaluator.Evaluate(test.Errors, test.IsAnomaly, threshold, test.Labels);
        return new EvaluationOutcome(split, test, threshold, ruleText, result, HasConstantOutput(model, data, split.Test) || metadata.Collapsed);
    }

    /// <summary>
    /// True when the model reconstructs every one of (up to) 256 test images as the same image: the
    /// collapse of a dead final ReLU, which the tutorial's conv model suffers for some seeds.
    /// </summary>
    public static bool HasConstantOutput(IEngineModel model, MnistDataset data, int[] indices)
    {
        int n = Math.Min(indices.Length, Training.ModelHealth.ProbeImages);
        return Training.ModelHealth.IsConstant(model, data.Gather(indices.AsSpan(0, n)), n);
    }

    private static float[] NormalTrainErrors(IEngineModel model, MnistDataset data, DataSplit split, int normal)
    {
        int[] normals = split.Train.Where(i => data.Labels[i] == normal).ToArray();
        return Score(model, data, normals, normal).Errors;
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
            ["digit_flag_rates"] = digits,
            ["test_count"] = outcome.Test.Errors.Length,
            ["test_normal"] = m.Normals,
            ["test_anomalies"] = m.Anomalies,
            ["test_used_for_early_stopping"] = outcome.Split.MonitorsTest,
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
        var settings = new List<(string, string)>
        {
            ("model", metadata.Model + metadata.Architecture.DescribeSettings(metadata.Settings)),
            ("normal digit", s.Normal.ToString(CultureInfo.InvariantCulture)),
            ("protocol", SplitOptions.ProtocolName(s.Protocol)),
            ("seed", s.Seed.ToString(CultureInfo.InvariantCulture)),
            ("split", $"train {outcome.Split.Train.Length}, validation {outcome.Split.Validation.Length}, test {outcome.Split.Test.Length}"),
            ("early stopping watched", outcome.Split.MonitorsTest ? "the test split (as the tutorial; test figures are optimistic)" : "the validation split"),
            ("threshold", $"{outcome.Threshold.ToString("G6", CultureInfo.InvariantCulture)} ({outcome.ThresholdRuleText})"),
            ("model file", Path.GetFullPath(modelPath)),
        };
        if (run is not null && history.Count > 0)
        {
            settings.Add(("epochs run", history.Count.ToString(CultureInfo.InvariantCulture)));
            settings.Add(("seconds per epoch", history.Average(h => h.Seconds).ToString("F3", CultureInfo.InvariantCulture)));
        }
        settings.Add(("aemnist", ModelMetadata.ToolVersion));

        return new ReportInput
        {
            Title = $"AeMnist: {metadata.Model} autoencoder, normal digit {s.Normal}" + (run is null ? "" : $" ({Path.GetFileName(Path.GetFullPath(run.Path))})"),
            Settings = settings,
            History = history.Select(h => new HistoryRow(h.Epoch, h.TrainLoss, h.MonitorLoss, h.Seconds)).ToList(),
            BestEpoch = bestEpoch,
            MonitorName = outcome.Split.MonitorsTest ? "test loss (monitored)" : "validation loss",
            TestErrors = test.Errors,
            TestLabels = test.Labels,
            TestIsAnomaly = test.IsAnomaly,
            Threshold = outcome.Threshold,
            Metrics = new ReportMetrics
            {
                Accuracy = m.Accuracy, Precision = m.Precision, Recall = m.Recall, F1 = m.F1, F1Normal = m.F1Normal,
                Auroc = r.Auroc, AveragePrecision = r.AveragePrecision,
                TruePositives = m.TruePositives, FalsePositives = m.FalsePositives, TrueNegatives = m.TrueNegatives, FalseNegatives = m.FalseNegatives,
                DigitFlagRates = r.DigitFlagRates ?? Enumerable.Repeat(double.NaN, 10).ToArray(),
                RocFpr = r.Roc.FalsePositiveRate, RocTpr = r.Roc.TruePositiveRate,
                PrRecall = r.PrecisionRecall.Recall, PrPrecision = r.PrecisionRecall.Precision,
            },
            Samples = Samples(test, model, data),
        };
    }

    /// <summary>The 8 best and worst normals and the 8 most and least anomalous anomalies, with reconstructions.</summary>
    private static ReportSamples Samples(ScoredImages test, IEngineModel model, MnistDataset data, int count = 8)
    {
        int[] order = Enumerable.Range(0, test.Errors.Length).OrderBy(i => test.Errors[i]).ThenBy(i => i).ToArray();
        int[] normals = order.Where(i => !test.IsAnomaly[i]).ToArray();
        int[] anomalies = order.Where(i => test.IsAnomaly[i]).ToArray();
        List<ImageSample> Take(IEnumerable<int> positions)
        {
            int[] chosen = positions.ToArray();
            int[] indices = chosen.Select(i => test.Indices[i]).ToArray();
            float[] originals = data.Gather(indices);
            var reconstructions = new float[originals.Length];
            model.Reconstruct(originals, indices.Length, reconstructions);
            const int p = MnistDataset.PixelsPerImage;
            return chosen.Select((i, k) => new ImageSample(originals[(k * p)..((k + 1) * p)], reconstructions[(k * p)..((k + 1) * p)],
                test.Errors[i], test.Labels[i])).ToList();
        }
        return new ReportSamples(
            Take(normals.Take(count)),
            Take(normals.Reverse().Take(count)),
            Take(anomalies.Reverse().Take(count)),
            Take(anomalies.Take(count)));
    }
}
