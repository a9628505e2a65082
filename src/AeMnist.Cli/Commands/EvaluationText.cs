// The human-readable evaluation: aligned tables of the confusion matrix, the metrics and the per-digit
// flag rates, and a text histogram of the two error distributions. On a terminal the tables are
// Spectre.Console tables; redirected output gets the same content as plain aligned text.
using AeMnist.Detection;
using AeMnist.Evaluation;
using AeMnist.Reporting;
using AeMnist.Runs;
using AeMnist.Scoring;
using Spectre.Console;

namespace AeMnist.Cli.Commands;

internal static class EvaluationText
{
    public static void Write(TextWriter output, EvaluationOutcome outcome, ModelMetadata metadata, string modelPath, string? reportPath)
    {
        EvaluationResult r = outcome.Result;
        BinaryMetrics m = r.Metrics;
        var s = outcome.Split.Options;
        string guessed = metadata.ArchitectureGuessed ? ", architecture recognised from its tensor names and shapes" : "";
        string prefix = metadata.DroppedPrefix is { } p ? $", '{p}' prefix of DataParallel dropped" : "";
        output.WriteLine($"Model {modelPath} ({metadata.Model}{guessed}{prefix}), normal {outcome.NormalName}, {Data.SplitOptions.ProtocolName(s.Protocol)} protocol, seed {s.Seed}; score {Scores.Name(outcome.Score)}");
        if (outcome.Calibration is { } calibration) output.WriteLine($"Combined score: {calibration.Describe()}");
        if (outcome.Data is { } data) output.WriteLine($"Data: {data.Path} ({(data.IsMnist ? "MNIST" : data.Kind)}, sha256 {outcome.DataSha256?[..12]}...)");
        string evaluated = outcome.FromInput ? $"Evaluated on {outcome.TestName}" : "Test split";
        output.WriteLine($"{evaluated}: {m.Count} images ({m.Normals} normal, {m.Anomalies} anomalies). Threshold {outcome.Threshold:G6} ({outcome.ThresholdRuleText}); error >= threshold is an anomaly.");
        if (outcome.TestUsedForEarlyStopping == true)
            output.WriteLine("Note: this run's early stopping watched the test split (no --validation), so these test figures are optimistic.");
        if (!outcome.TrainedHere)
            output.WriteLine("Note: the model file records no training split (trained elsewhere?); the split comes from --normal, --protocol and --seed, and whether the model saw these test digits is unknown.");
        output.WriteLine();
        if (output == Console.Out && !Console.IsOutputRedirected)
            WriteTables(outcome);
        else
            WritePlainTables(output, outcome);
        output.WriteLine();
        output.WriteLine($"{Scores.Label(outcome.Score)}, normal vs anomalous test {(outcome.IsMnist ? "digits" : "images")}");
        var normal = outcome.Test.Errors.Where((_, i) => !outcome.Test.IsAnomaly[i]).Select(e => (double)e).ToList();
        var anomalous = outcome.Test.Errors.Where((_, i) => outcome.Test.IsAnomaly[i]).Select(e => (double)e).ToList();
        output.Write(TextHistogram.Render(normal, anomalous, outcome.Threshold, new TextHistogramOptions { Ascii = Console.OutputEncoding.CodePage != 65001 && output == Console.Out, ValueName = Scores.Label(outcome.Score) }));
        if (double.IsFinite(outcome.BestF1.F1))
            output.WriteLine($"Reference only: the best F1 on these labels is {outcome.BestF1.F1:F4} at threshold {outcome.BestF1.Threshold:G6}; it is chosen by looking at the answers, so it is an upper bound, not a threshold to use.");
        if (reportPath is not null) output.WriteLine($"Report: {reportPath}");
    }

    private static void WriteTables(EvaluationOutcome outcome)
    {
        EvaluationResult r = outcome.Result;
        BinaryMetrics m = r.Metrics;
        var confusion = new Table().Title("Confusion matrix").AddColumn("").AddColumn("predicted normal", c => c.RightAligned()).AddColumn("predicted anomaly", c => c.RightAligned());
        confusion.AddRow("actual normal", $"[green]{m.TrueNegatives}[/]", $"[red]{m.FalsePositives}[/]");
        confusion.AddRow("actual anomaly", $"[red]{m.FalseNegatives}[/]", $"[green]{m.TruePositives}[/]");
        var metrics = new Table().Title("Metrics").AddColumn("metric").AddColumn("value", c => c.RightAligned());
        foreach (var (name, value) in MetricRows(outcome))
            metrics.AddRow(name, double.IsNaN(value) ? "n/a" : value.ToString("F4"));
        AnsiConsole.Write(new Columns(confusion, metrics));
        if (r.ClassFlagRates is { } rates)
        {
            string noun = outcome.IsMnist ? "digit" : "class";
            var digits = new Table().Title($"Flagged as anomalous, by {noun}").AddColumn(noun);
            for (int d = 0; d < rates.Count; d++)
                digits.AddColumn(d == outcome.Normal ? $"[bold]{Markup.Escape(outcome.ClassNames[d])} (normal)[/]" : Markup.Escape(outcome.ClassNames[d]), c => c.RightAligned());
            digits.AddRow(["share", .. rates.Select(x => double.IsNaN(x) ? "-" : $"{x * 100:F0}%")]);
            AnsiConsole.Write(digits);
        }
    }

    private static IEnumerable<(string Name, double Value)> MetricRows(EvaluationOutcome outcome)
    {
        BinaryMetrics m = outcome.Result.Metrics;
        yield return ("F1 (anomaly positive)", m.F1);
        yield return ("F1 (normal positive, tutorial's)", m.F1Normal);
        yield return ("precision (anomaly)", m.Precision);
        yield return ("recall (anomaly)", m.Recall);
        yield return ("accuracy", m.Accuracy);
        yield return ("AUROC", outcome.Result.Auroc);
        yield return ("average precision", outcome.Result.AveragePrecision);
    }

    private static void WritePlainTables(TextWriter output, EvaluationOutcome outcome)
    {
        EvaluationResult r = outcome.Result;
        BinaryMetrics m = r.Metrics;
        var s = outcome.Split.Options;
        output.WriteLine("Confusion matrix      predicted normal  predicted anomaly");
        output.WriteLine($"  actual normal       {m.TrueNegatives,16}  {m.FalsePositives,17}");
        output.WriteLine($"  actual anomaly      {m.FalseNegatives,16}  {m.TruePositives,17}");
        output.WriteLine();
        output.WriteLine("Metric                              Value");
        foreach (var (name, value) in MetricRows(outcome)) Row(output, name, value);
        if (r.ClassFlagRates is { } rates)
        {
            output.WriteLine();
            string noun = outcome.IsMnist ? "digit" : "class";
            output.WriteLine($"Flagged as anomalous, by {noun}");
            int width = Math.Max(7, outcome.ClassNames.Max(c => c.Length) + 3);
            output.WriteLine($"  {noun,-5}  " + string.Join("", Enumerable.Range(0, rates.Count).Select(d => (d == outcome.Normal ? $"[{outcome.ClassNames[d]}]" : outcome.ClassNames[d]).PadLeft(width))));
            output.WriteLine("  share  " + string.Join("", rates.Select(x => (double.IsNaN(x) ? "-" : $"{x * 100:F0}%").PadLeft(width))));
        }
    }

    private static void Row(TextWriter output, string name, double value) =>
        output.WriteLine($"  {name,-32} {(double.IsNaN(value) ? "n/a" : value.ToString("F4")),7}");
}
