// Warnings: a result that is computed correctly but probably useless (a collapsed model, a threshold that flags none
// or all of a split). Each is one line on stderr, "aemnist: warning: ...", printed even with --quiet (an exit code 0
// must not hide them), and listed under "warnings" in --json output.
using System.Text.Json.Nodes;
using AeMnist.Detection;
using AeMnist.Runs;

namespace AeMnist.Cli.Commands;

internal sealed class Warnings(TextWriter error)
{
    private readonly List<string> _all = [];

    public IReadOnlyList<string> All => _all;

    public void Add(string text)
    {
        if (_all.Contains(text)) return;
        _all.Add(text);
        error.WriteLine($"aemnist: warning: {text}");
    }

    public JsonArray ToJson() => new([.. _all.Select(w => (JsonNode)w)]);

    /// <summary>The warnings of an evaluation: a collapsed model, and a threshold that flags none or all of the evaluated images.</summary>
    public void AddFor(EvaluationOutcome outcome, LoadedModel loaded, string remedy)
    {
        if (outcome.ConstantOutput || loaded.RecordedCollapsed) Add(ModelHealth.CollapseWarning(loaded.ModelPath));
        var m = outcome.Result.Metrics;
        float[] errors = outcome.Test.Errors;
        string what = outcome.FromInput ? "input images" : "test images";
        // One kind only (an MVTec-style test/ without good/, a folder of defects): no ranking to measure.
        long normals = m.TrueNegatives + m.FalsePositives, anomalies = m.TruePositives + m.FalseNegatives;
        if (errors.Length > 0 && (normals == 0 || anomalies == 0))
            Add($"the {errors.Length} {what} are all {(normals == 0 ? "anomalies" : "normal")}, so AUROC cannot be measured (n/a) and average precision says nothing; evaluate on {what} of both kinds");
        if (Threshold(m.TruePositives + m.FalsePositives, errors.Length, outcome.Threshold, errors.Min(), errors.Max(),
                what, remedy) is { } useless)
            Add(useless);
    }

    /// <summary>The warning for a threshold that flags none or every one of <paramref name="count"/> images, or null.</summary>
    public static string? Threshold(long flagged, long count, double threshold, double minError, double maxError, string what, string remedy)
    {
        if (count == 0 || (flagged > 0 && flagged < count)) return null;
        string range = $"errors {SharedOptions.Format(minError)} to {SharedOptions.Format(maxError)}";
        return flagged == 0
            ? $"threshold {SharedOptions.Format(threshold)} flags none of the {count} {what} ({range}): every one is called normal; {remedy}"
            : $"threshold {SharedOptions.Format(threshold)} flags all {count} {what} ({range}): every one is called an anomaly; {remedy}";
    }
}
