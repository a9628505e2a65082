// The human-readable evaluation: aligned tables of the confusion matrix, the metrics and the per-digit
// flag rates, and a text histogram of the two error distributions.
using AeMnist.Evaluation;
using AeMnist.Models;
using AeMnist.Reporting;

namespace AeMnist.Cli.Commands;

internal static class EvaluationText
{
    public static void Write(TextWriter output, EvaluationOutcome outcome, ModelMetadata metadata, string modelPath, string? reportPath)
    {
        EvaluationResult r = outcome.Result;
        BinaryMetrics m = r.Metrics;
        var s = outcome.Split.Options;
        output.WriteLine($"Model {modelPath} ({metadata.Model}), normal digit {s.Normal}, {Data.SplitOptions.ProtocolName(s.Protocol)} protocol, seed {s.Seed}");
        output.WriteLine($"Test split: {m.Count} images ({m.Normals} normal, {m.Anomalies} anomalies). Threshold {outcome.Threshold:G6} ({outcome.ThresholdRuleText}); error >= threshold is an anomaly.");
        if (outcome.Split.MonitorsTest)
            output.WriteLine("Note: this run's early stopping watched the test split (no --validation), so these test figures are optimistic.");
        if (outcome.ConstantOutput)
            output.WriteLine("Warning: the model reconstructs every image as the same image (a dead final ReLU); its errors only measure ink. Retrain with another --seed.");
        output.WriteLine();
        output.WriteLine("Confusion matrix      predicted normal  predicted anomaly");
        output.WriteLine($"  actual normal       {m.TrueNegatives,16}  {m.FalsePositives,17}");
        output.WriteLine($"  actual anomaly      {m.FalseNegatives,16}  {m.TruePositives,17}");
        output.WriteLine();
        output.WriteLine("Metric                              Value");
        Row(output, "F1 (anomaly positive)", m.F1);
        Row(output, "F1 (normal positive, tutorial's)", m.F1Normal);
        Row(output, "precision (anomaly)", m.Precision);
        Row(output, "recall (anomaly)", m.Recall);
        Row(output, "accuracy", m.Accuracy);
        Row(output, "AUROC", r.Auroc);
        Row(output, "average precision", r.AveragePrecision);
        if (r.DigitFlagRates is { } rates)
        {
            output.WriteLine();
            output.WriteLine("Flagged as anomalous, by digit");
            output.WriteLine("  digit  " + string.Join("", Enumerable.Range(0, 10).Select(d => $"{(d == s.Normal ? $"[{d}]" : d.ToString()),7}")));
            output.WriteLine("  share  " + string.Join("", rates.Select(x => double.IsNaN(x) ? "      -" : $"{x * 100,6:F0}%")));
        }
        output.WriteLine();
        output.WriteLine("Reconstruction error, normal vs anomalous test digits");
        var normal = outcome.Test.Errors.Where((_, i) => !outcome.Test.IsAnomaly[i]).Select(e => (double)e).ToList();
        var anomalous = outcome.Test.Errors.Where((_, i) => outcome.Test.IsAnomaly[i]).Select(e => (double)e).ToList();
        output.Write(TextHistogram.Render(normal, anomalous, outcome.Threshold, new TextHistogramOptions { Ascii = Console.OutputEncoding.CodePage != 65001 && output == Console.Out }));
        if (reportPath is not null) output.WriteLine($"Report: {reportPath}");
    }

    private static void Row(TextWriter output, string name, double value) =>
        output.WriteLine($"  {name,-32} {(double.IsNaN(value) ? "n/a" : value.ToString("F4")),7}");
}
