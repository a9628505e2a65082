// metrics.json (and evaluate --json): an evaluation's figures, the documented metric fields first, then the details.
using System.Globalization;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Evaluation;
using AeMnist.Scoring;

namespace AeMnist.Runs;

public static class MetricsFile
{
    /// <summary>metrics.json (and evaluate --json): the documented metric fields first, then the details.</summary>
    public static JsonObject Json(EvaluationOutcome outcome, ModelMetadata metadata, string modelPath)
    {
        EvaluationResult r = outcome.Result;
        BinaryMetrics m = r.Metrics;
        SplitOptions s = outcome.Split.Options;
        var digits = new JsonObject();
        if (r.ClassFlagRates is { } rates)
            for (int d = 0; d < rates.Count; d++)
                digits[outcome.IsMnist ? d.ToString(CultureInfo.InvariantCulture) : outcome.ClassNames[d]] = double.IsNaN(rates[d]) ? null : rates[d];
        var json = new JsonObject
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
            ["score"] = Scores.Name(outcome.Score),
            [outcome.IsMnist ? "digit_flag_rates" : "class_flag_rates"] = digits,
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
        if (!outcome.IsMnist) json["normal_class"] = outcome.ClassNames[outcome.Normal];
        if (outcome.Calibration is { } calibration)
        {
            JsonObject c = calibration.ToJson();
            c["rule"] = calibration.Describe();
            json["score_calibration"] = c;
        }
        json["data"] = outcome.Data is { } data
            ? new JsonObject { ["kind"] = data.Kind, ["path"] = data.Path, ["sha256"] = outcome.DataSha256 }
            : new JsonObject { ["kind"] = "input", ["path"] = outcome.TestName, ["sha256"] = null };
        return json;
    }

    private static JsonNode? Number(double value) => double.IsFinite(value) ? value : null;

}
