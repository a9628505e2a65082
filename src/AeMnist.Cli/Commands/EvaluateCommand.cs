// `aemnist evaluate`: metrics of a model on its test split (or on labelled --input data), as tables or JSON,
// metrics.json in the run directory, optional quality gates (--min-f1, --min-auroc: exit 3) and the HTML report (--report).
using System.CommandLine;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Evaluation;
using AeMnist.IO;
using AeMnist.Reporting;
using AeMnist.Runs;
using AeMnist.Scoring;

namespace AeMnist.Cli.Commands;

internal static class EvaluateCommand
{
    public static Command Build()
    {
        var model = new ModelOptions();
        var split = new SharedOptions.SplitSet();
        var threshold = SharedOptions.OptionalDouble("--threshold", "Use this threshold (the tutorial used 0.02 for dense, 0.002 for conv)", "X");
        var contamination = SharedOptions.OptionalDouble("--contamination", "Threshold at the (1 - F) quantile of the train split's errors", "F");
        var percentile = SharedOptions.OptionalDouble("--percentile", "Threshold at the P-th percentile of the train split's normal-digit errors", "P");
        var fpr = SharedOptions.OptionalDouble("--fpr", "Threshold that flags a share F of the normal images of the validation split (else the train split); needs no known anomalies", "F");
        var alpha = SharedOptions.OptionalDouble("--alpha", "Flag images whose conformal p-value against the normal images of the validation split (else the train split) is at most A (docs/export.md)", "A");
        var inputs = new InputOptions(labelled: true);
        var minF1 = SharedOptions.OptionalDouble("--min-f1", "Exit with code 3 if F1 (anomaly positive) is below X", "X");
        var minAuroc = SharedOptions.OptionalDouble("--min-auroc", "Exit with code 3 if AUROC is below X", "X");
        var score = new SharedOptions.ScoreOption();
        var report = new Option<bool>("--report") { Description = "Also write report.html and its charts into the run directory" };
        var outputPath = SharedOptions.PathOption(new Option<string?>("--output", "-o")
        {
            Description = "Write the metrics as JSON to FILE ('-' for stdout) instead of RUN/metrics.json [default: RUN/metrics.json, for a run's model at its stored threshold only]",
            HelpName = "FILE",
        });
        var data = SharedOptions.Data();
        var json = SharedOptions.Json();
        var quiet = SharedOptions.Quiet(hasJson: true);
        var command = new Command("evaluate", "Evaluate a model on its test split or on labelled --input data: confusion matrix, F1, AUROC, AP, per-digit flag rates");
        foreach (Option o in model.All) command.Add(o);
        foreach (Option o in split.All) command.Add(o);
        foreach (Option o in (Option[])[threshold, contamination, percentile, fpr, alpha, .. inputs.All, score.Option, minF1, minAuroc, report, outputPath, data, json, quiet]) command.Add(o);

        command.SetAction(parse =>
        {
            ThresholdRule rule = ReadRule(parse.GetValue(threshold), parse.GetValue(contamination), parse.GetValue(percentile), parse.GetValue(fpr), parse.GetValue(alpha));
            double? f1Gate = Gate(parse.GetValue(minF1), "--min-f1"), aurocGate = Gate(parse.GetValue(minAuroc), "--min-auroc");
            string? metricsPath = parse.GetValue(outputPath);
            if (metricsPath is not null)
                OutputFiles.Check("--output", metricsPath, [.. parse.GetValue(inputs.Input) ?? [], .. parse.GetValue(inputs.Labels) is { } l ? [l] : Array.Empty<string>(), .. model.Files(parse)]);
            RunDirectory? run = model.FindRun(parse);
            if (run is null && parse.GetValue(report))
                throw new UsageException("--report writes into a run directory, and --model-file is not a run's model; use aemnist report --model-file FILE --output DIR");
            // The split: the model's own when its file records one (then the split options cannot apply), else the options'.
            split.ReadProtocol(parse);
            ScoreKind? scoreKind = score.Read(parse);
            using LoadedModel loaded = model.Load(parse, run);
            var (metadata, modelPath) = (loaded.Metadata, loaded.ModelPath);
            bool labelledFolder = parse.GetValue(inputs.Input) is [var only] && (Directory.Exists(only) || only.EndsWith(".npz", StringComparison.OrdinalIgnoreCase));
            if (metadata.Split is { } own)
                SharedOptions.RejectGiven(parse, labelledFolder ? split.All.Where(o => o != split.Normal) : split.All, $"{modelPath} records its split ({Describe(own)})");
            LabelledImages? labelled = inputs.ReadLabelled(parse, metadata, labelledFolder ? parse.GetValue(split.Normal) : null);
            Dataset mnist = SharedOptions.LoadDataFor(run, parse.GetValue(data));
            SplitOptions splitOptions = metadata.Split ?? split.Read(parse, mnist, model: metadata);
            EvaluationOutcome outcome = EvaluateJob.Execute(loaded.Detector, splitOptions, mnist, rule, labelled, scoreKind);

            var warnings = new Warnings(parse.InvocationConfiguration.Error);
            inputs.AddWarnings(parse, warnings);
            foreach (string warning in mnist.Warnings) warnings.Add(warning);
            warnings.AddFor(outcome, loaded, "choose one inside that range (--threshold X, --contamination F, --percentile P or --fpr F)");
            EvaluationResult r = outcome.Result;
            JsonObject metrics = MetricsFile.Json(outcome, metadata, modelPath);
            metrics["warnings"] = warnings.ToJson();

            // metrics.json is the run's own record of its test split at its stored threshold: an exploratory rule, another
            // score or --input data never replaces it.
            string? written = null, notWritten = null;
            if (metricsPath is not null)
            {
                OutputFiles.WriteText(parse, metricsPath, metrics.ToJsonString(RunRecord.JsonOptions) + "\n");
                written = OutputFiles.IsStdout(metricsPath) ? null : metricsPath;
            }
            else if (run is not null && rule is ThresholdRule.Stored && labelled is null && scoreKind is null)
            {
                Exists(run);
                AtomicFile.WriteAllText(run.MetricsPath, metrics.ToJsonString(RunRecord.JsonOptions));
                written = run.MetricsPath;
            }
            else
            {
                notWritten = run is null
                    ? $"{modelPath} is not a run's model, so no metrics.json was written beside it; pass --output FILE to save the metrics"
                    : labelled is not null
                        ? $"{run.MetricsPath} keeps the figures of the run's own test split; these figures on {labelled.Name} were not saved; pass --output FILE to save them"
                        : scoreKind is not null
                            ? $"{run.MetricsPath} keeps the figures at the run's stored threshold and score; pass --output FILE to save these"
                            : $"{run.MetricsPath} keeps the figures at the run's stored threshold (this threshold was {outcome.ThresholdRuleText}); pass --output FILE to save these";
            }
            string? reportPath = null;
            if (parse.GetValue(report))
            {
                Exists(run!);
                string reportDirectory = labelled is null ? run!.Path : Path.Combine(run!.Path, "input-" + InputOptions.Slug(labelled.Name));
                Directory.CreateDirectory(reportDirectory);
                HtmlReport.Write(reportDirectory, ReportBuilder.Build(outcome, loaded.Model, metadata, mnist, run, modelPath, model.Compute.Read(parse)));
                reportPath = Path.Combine(reportDirectory, HtmlReport.FileName);
            }

            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                if (metricsPath is null || !OutputFiles.IsStdout(metricsPath)) output.WriteLine(metrics.ToJsonString(RunRecord.JsonOptions));
            }
            else if (!parse.GetValue(quiet) && !(metricsPath is not null && OutputFiles.IsStdout(metricsPath)))
            {
                EvaluationText.Write(output, outcome, metadata, modelPath, reportPath);
                if (written is not null) output.WriteLine($"Metrics: {written}");
                if (notWritten is not null) output.WriteLine($"Note: {notWritten}.");
            }

            var failures = new List<string>();
            if (f1Gate is { } f && !(r.Metrics.F1 >= f)) failures.Add($"F1 {r.Metrics.F1:F4} is below --min-f1 {f}");
            if (aurocGate is { } a && !(r.Auroc >= a)) failures.Add($"AUROC {r.Auroc:F4} is below --min-auroc {a}");
            if (failures.Count > 0) throw new CliExitException(ExitCodes.QualityGate, "quality gate not met: " + string.Join("; ", failures));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>"normal 5, seed protocol, seed 42".</summary>
    internal static string Describe(SplitOptions s) => $"normal {s.Normal}, {SplitOptions.ProtocolName(s.Protocol)} protocol, seed {s.Seed}";

    /// <summary>A run directory removed while the command ran is never re-created: one line saying so instead.</summary>
    internal static void Exists(RunDirectory run)
    {
        if (!Directory.Exists(run.Path))
            throw new IOException($"{run.Path}: the run directory was removed while aemnist was working; nothing was written");
    }

    internal static ThresholdRule ReadRule(double? threshold, double? contamination, double? percentile, double? fpr = null, double? alpha = null)
    {
        int given = (threshold is null ? 0 : 1) + (contamination is null ? 0 : 1) + (percentile is null ? 0 : 1) + (fpr is null ? 0 : 1) + (alpha is null ? 0 : 1);
        if (given > 1) throw new UsageException("give at most one of --threshold, --contamination, --percentile, --fpr and --alpha");
        if (alpha is { } a)
            return a > 0 && a < 1 ? new PValueRule(a) : throw new UsageException($"--alpha {a} must be in (0, 1), e.g. 0.05 for at most 5% false alarms");
        if (threshold is { } t)
            return double.IsFinite(t) && t >= 0 ? new ThresholdRule.Fixed(t) : throw new UsageException($"--threshold must be a number 0 or more, got {t}");
        if (contamination is { } c)
            return c > 0 && c <= 0.5 ? new ThresholdRule.Contamination(c) : throw new UsageException($"--contamination {c} must be in (0, 0.5]");
        if (percentile is { } p)
            return p >= 0 && p <= 100 ? new ThresholdRule.Percentile(p) : throw new UsageException($"--percentile {p} must be in [0, 100]");
        if (fpr is { } f)
            return f > 0 && f < 1 ? new ThresholdRule.FalsePositiveRate(f) : throw new UsageException($"--fpr {f} must be in (0, 1), e.g. 0.05 to flag 5% of normal images");
        return new ThresholdRule.Stored();
    }

    private static double? Gate(double? value, string name) =>
        value is { } v && !(v >= 0 && v <= 1) ? throw new UsageException($"{name} {v} must be in [0, 1]") : value;
}
