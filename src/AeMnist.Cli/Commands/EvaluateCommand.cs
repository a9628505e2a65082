// `aemnist evaluate`: metrics of a model on its test split (or on labelled --input data), as tables or JSON,
// metrics.json in the run directory, optional quality gates (--min-f1, --min-auroc: exit 3) and the HTML report (--report).
using System.CommandLine;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Evaluation;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Reporting;
using AeMnist.Training;

namespace AeMnist.Cli.Commands;

internal static class EvaluateCommand
{
    public static Command Build()
    {
        var model = new ModelOptions();
        var split = new SharedOptions.SplitSet();
        var threshold = new Option<double?>("--threshold") { Description = "Use this threshold (the tutorial used 0.02 for dense, 0.002 for conv)", HelpName = "X" };
        var contamination = new Option<double?>("--contamination") { Description = "Threshold at the (1 - F) quantile of the train split's errors", HelpName = "F" };
        var percentile = new Option<double?>("--percentile") { Description = "Threshold at the P-th percentile of the train split's normal-digit errors", HelpName = "P" };
        var fpr = new Option<double?>("--fpr") { Description = "Threshold that flags a share F of the normal digits of the validation split (else the train split); needs no known anomalies", HelpName = "F" };
        var inputs = new InputOptions(labelled: true);
        var minF1 = new Option<double?>("--min-f1") { Description = "Exit with code 3 if F1 (anomaly positive) is below X", HelpName = "X" };
        var minAuroc = new Option<double?>("--min-auroc") { Description = "Exit with code 3 if AUROC is below X", HelpName = "X" };
        var score = new SharedOptions.ScoreOption();
        var report = new Option<bool>("--report") { Description = "Also write report.html and its charts into the run directory" };
        var data = SharedOptions.Data();
        var json = SharedOptions.Json();
        var quiet = SharedOptions.Quiet();
        var command = new Command("evaluate", "Evaluate a model on its test split or on labelled --input data: confusion matrix, F1, AUROC, AP, per-digit flag rates");
        foreach (Option o in model.All) command.Add(o);
        foreach (Option o in split.All) command.Add(o);
        foreach (Option o in (Option[])[threshold, contamination, percentile, fpr, .. inputs.All, score.Option, minF1, minAuroc, report, data, json, quiet]) command.Add(o);

        command.SetAction(parse =>
        {
            ThresholdRule rule = ReadRule(parse.GetValue(threshold), parse.GetValue(contamination), parse.GetValue(percentile), parse.GetValue(fpr));
            double? f1Gate = Gate(parse.GetValue(minF1), "--min-f1"), aurocGate = Gate(parse.GetValue(minAuroc), "--min-auroc");
            SplitOptions fromOptions = split.Read(parse);
            ScoreKind? scoreKind = score.Read(parse);
            using LoadedModel loaded = model.Load(parse);
            var (autoEncoder, metadata, run, modelPath) = (loaded.Model, loaded.Metadata, loaded.Run, loaded.ModelPath);
            SplitOptions splitOptions = metadata.Split ?? fromOptions;
            LabelledImages? labelled = inputs.ReadLabelled(parse);
            MnistDataset mnist = SharedOptions.LoadData(parse.GetValue(data));
            EvaluationOutcome outcome = EvaluateJob.Execute(autoEncoder, metadata, splitOptions, mnist, rule, labelled, scoreKind);
            JsonObject metrics = EvaluateJob.MetricsJson(outcome, metadata, modelPath);

            string outputDirectory = run?.Path ?? Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
            // metrics.json is the run's figures on its own test split; figures on --input data go to stdout (and --report) only.
            if (labelled is null)
                AtomicFile.WriteAllText(Path.Combine(outputDirectory, RunDirectory.MetricsFileName), metrics.ToJsonString(TrainJob.JsonOptions));
            string? reportPath = null;
            if (parse.GetValue(report))
            {
                string reportDirectory = labelled is null ? outputDirectory : Path.Combine(outputDirectory, "input-" + InputOptions.Slug(labelled.Name));
                HtmlReport.Write(reportDirectory, EvaluateJob.ReportInput(outcome, autoEncoder, metadata, mnist, run, modelPath));
                reportPath = Path.Combine(reportDirectory, HtmlReport.FileName);
            }

            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json)) output.WriteLine(metrics.ToJsonString(TrainJob.JsonOptions));
            else if (!parse.GetValue(quiet)) EvaluationText.Write(output, outcome, metadata, modelPath, reportPath);
            inputs.WriteWarnings(parse); // warnings about the inputs are printed even with --quiet

            var failures = new List<string>();
            EvaluationResult r = outcome.Result;
            if (f1Gate is { } f && !(r.Metrics.F1 >= f)) failures.Add($"F1 {r.Metrics.F1:F4} is below --min-f1 {f}");
            if (aurocGate is { } a && !(r.Auroc >= a)) failures.Add($"AUROC {r.Auroc:F4} is below --min-auroc {a}");
            if (failures.Count > 0) throw new CliExitException(ExitCodes.QualityGate, "quality gate not met: " + string.Join("; ", failures));
            return ExitCodes.Success;
        });
        return command;
    }

    internal static ThresholdRule ReadRule(double? threshold, double? contamination, double? percentile, double? fpr = null)
    {
        int given = (threshold is null ? 0 : 1) + (contamination is null ? 0 : 1) + (percentile is null ? 0 : 1) + (fpr is null ? 0 : 1);
        if (given > 1) throw new UsageException("give at most one of --threshold, --contamination, --percentile and --fpr");
        if (threshold is { } t)
            return double.IsFinite(t) && t >= 0 ? new ThresholdRule.Fixed(t) : throw new UsageException($"--threshold must be a number 0 or more, got {t}");
        if (contamination is { } c)
            return c > 0 && c <= 0.5 ? new ThresholdRule.Contamination(c) : throw new UsageException($"--contamination {c} must be in (0, 0.5]");
        if (percentile is { } p)
            return p >= 0 && p <= 100 ? new ThresholdRule.Percentile(p) : throw new UsageException($"--percentile {p} must be in [0, 100]");
        if (fpr is { } f)
            return f > 0 && f < 1 ? new ThresholdRule.FalsePositiveRate(f) : throw new UsageException($"--fpr {f} must be in (0, 1), e.g. 0.05 to flag 5% of normal digits");
        return new ThresholdRule.Stored();
    }

    private static double? Gate(double? value, string name) =>
        value is { } v && !(v >= 0 && v <= 1) ? throw new UsageException($"{name} {v} must be in [0, 1]") : value;
}
