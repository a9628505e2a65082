// `aemnist score`: reconstruction error and anomaly flag of each input image, as CSV.
using System.CommandLine;
using System.Globalization;
using System.Text;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.IO;
using AeMnist.Runs;
using AeMnist.Scoring;
using AeMnist.Training;

namespace AeMnist.Cli.Commands;

internal static class ScoreCommand
{
    public static Command Build()
    {
        var model = new ModelOptions();
        var inputs = new InputOptions(labelled: false);
        var outputPath = SharedOptions.PathOption(new Option<string?>("--output", "-o") { Description = "CSV file to write ('-' for stdout) [default: stdout]", HelpName = "FILE" });
        var threshold = SharedOptions.OptionalDouble("--threshold", "Anomaly threshold on the score [default: the model's stored threshold, else --fpr 0.05]", "X");
        var fpr = SharedOptions.OptionalDouble("--fpr",
            "Threshold that flags a share F of the normal digits of the run's validation (else train) split; for a model file without a split, of every MNIST training-file image of --normal",
            "F");
        var normal = new Option<string?>("--normal") { Description = "The normal class (a digit for MNIST), for --fpr with a model file that does not record it", HelpName = "CLASS" };
        var data = SharedOptions.Data();
        var quiet = SharedOptions.Quiet();
        var score = new SharedOptions.ScoreOption();
        var command = new Command("score", "Score images by reconstruction error and flag anomalies (CSV: index,source[,label],error,anomaly)") { outputPath, threshold, fpr, normal, score.Option, data, quiet };
        foreach (Option o in inputs.All) command.Add(o);
        foreach (Option o in model.All) command.Add(o);

        command.SetAction(parse =>
        {
            double? given = parse.GetValue(threshold);
            if (given is { } t && !(double.IsFinite(t) && t >= 0))
                throw new UsageException($"--threshold must be a number 0 or more, got {t}");
            if (given is not null && parse.GetValue(fpr) is not null) throw new UsageException("give --threshold or --fpr, not both");
            ScoreKind? asked = score.Read(parse);
            string? path = parse.GetValue(outputPath);
            if (path is not null) OutputFiles.Check("--output", path, [.. parse.GetValue(inputs.Input)!, .. model.Files(parse)]);
            RunDirectory? run = model.FindRun(parse);
            using LoadedModel loaded = model.Load(parse, run);
            IEngineModel autoEncoder = loaded.Model;
            ScoreKind stored = loaded.Metadata.Score ?? ScoreKind.Mse, kind = asked ?? stored;
            if (given is null && parse.GetValue(fpr) is null && kind != stored && loaded.Metadata.Threshold is not null)
                throw new UsageException($"{Path.GetFileName(loaded.ModelPath)} stores a threshold for the {Scores.Name(stored)} score, not {Scores.Name(kind)}; pass --threshold X or --fpr F");
            if (given is not null || (parse.GetValue(fpr) is null && loaded.Metadata.Threshold is not null))
                SharedOptions.RejectGiven(parse, [normal, data], "the threshold is given or stored, so no MNIST digits are read");
            if (loaded.Metadata.Split is { } own)
                SharedOptions.RejectGiven(parse, [normal], $"{loaded.ModelPath} records its split ({EvaluateCommand.Describe(own)}), so its normal digit is known");
            ImageBatch batch = inputs.Read(parse, loaded.Metadata);
            ThresholdChoice limit = Threshold(loaded, given, parse.GetValue(fpr), parse.GetValue(normal), parse.GetValue(data), kind);
            // The first images are scored with the collapse probe (one reconstruction each); the rate printed below is that
            // of the rest, the steady-state throughput docs/benchmarks.md reports, not the JIT's start-up.
            Detector detector = loaded.Detector;
            int length = detector.Model.Spec.Input.Length;
            (float[] head, bool constant) = detector.Probe(batch.Pixels, batch.Count, kind, i => batch.Sources[i]);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            float[] rest = detector.Scores(batch.Pixels.AsSpan(head.Length * length), batch.Count - head.Length, kind, i => batch.Sources[head.Length + i]);
            double seconds = clock.Elapsed.TotalSeconds;
            int timed = rest.Length;
            float[] errors = [.. head, .. rest];

            var warnings = new Warnings(parse.InvocationConfiguration.Error);
            inputs.AddWarnings(parse, warnings);
            if (loaded.RecordedCollapsed || constant)
                warnings.Add(ModelHealth.CollapseWarning(loaded.ModelPath));
            int flagged = errors.Count(e => e >= limit.Value);
            if (batch.Count > 1 && Warnings.Threshold(flagged, batch.Count, limit.Value, errors.Min(), errors.Max(), "images",
                    "if that is not what you expect, choose a threshold inside that range with --threshold X") is { } useless)
                warnings.Add(useless);

            // A label column when some input has labels (a CSV's leading label), empty where an image has none.
            bool labels = batch.HasLabels;
            var csv = new StringBuilder(labels ? "index,source,label,error,anomaly\n" : "index,source,error,anomaly\n");
            for (int i = 0; i < batch.Count; i++)
            {
                string label = labels ? (batch.Labels[i] >= 0 ? batch.Labels[i].ToString(CultureInfo.InvariantCulture) : "") + "," : "";
                csv.Append(CultureInfo.InvariantCulture, $"{i},{CsvText.Cell(batch.Sources[i])},{label}{errors[i]:R},{(errors[i] >= limit.Value ? 1 : 0)}\n");
            }
            if (path is null) parse.InvocationConfiguration.Output.Write(csv.ToString());
            else OutputFiles.WriteText(parse, path, csv.ToString());
            if (!parse.GetValue(quiet))
            {
                bool toFile = path is not null && !OutputFiles.IsStdout(path);
                // On stderr, so that stdout stays pure CSV when no --output is given.
                parse.InvocationConfiguration.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Scored {batch.Count} images{(timed > 0 ? $"; the {timed} after the first {head.Length} in {seconds:F3}s ({timed / Math.Max(seconds, 1e-9):F0} images/s)" : "")}; {flagged} flagged as anomalies at threshold {limit.Value:G6} ({limit.Rule}){(toFile ? "; wrote " + path : "")}"));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// The threshold and how it was chosen: --threshold; the model's stored threshold; --fpr on the normal images of the
    /// run's validation (else train) split, or of a model file's one-class split of --normal; or, for a model that stores
    /// none, the default rule --fpr 0.05 (said so). Only the reference images a rule needs are scored.
    /// </summary>
    private static ThresholdChoice Threshold(LoadedModel loaded, double? given, double? fpr, string? normal, string? dataDirectory, ScoreKind kind)
    {
        if (given is { } t) return new ThresholdChoice(t, "given with --threshold");
        if (fpr is null && loaded.Metadata.Threshold is { } stored) return new ThresholdChoice(stored, "the model's stored threshold");
        ThresholdRule rule = fpr is { } f ? EvaluateCommand.ReadRule(null, null, null, f) : ThresholdRule.DefaultForForeignModel;
        if (loaded.Metadata.Split is null && normal is null && loaded.Metadata.Normal is null)
            throw new UsageException($"{Path.GetFileName(loaded.ModelPath)} stores no threshold and no normal class; pass --threshold X, or --normal D so that the threshold flagging {(fpr ?? 0.05) * 100:G3}% of digit D's MNIST training images can be used");
        Dataset data = SharedOptions.LoadDataFor(loaded.Run, dataDirectory);
        int digit;
        try { digit = normal is not null ? data.ResolveClass(normal) : loaded.Metadata.Normal!.Value; }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        if (normal is not null && loaded.Metadata.Normal is { } recorded && recorded != digit)
            throw new UsageException($"--normal {MessageText.Quote(normal, 40)} contradicts {Path.GetFileName(loaded.ModelPath)}, which records {loaded.Metadata.DescribeNormal()} as normal; drop --normal");
        SplitOptions splitOptions = loaded.Metadata.Split ?? new SplitOptions(SplitProtocol.OneClass, digit);
        DataSplit split = Splitter.Split(data, splitOptions);
        ThresholdChoice choice = rule.Apply(EvaluateJob.References(loaded.Detector, data, split, kind));
        string text = fpr is null ? "no stored threshold, so the default rule: " + choice.Rule : choice.Rule;
        if (loaded.Metadata.Split is null) text += $"; the train split is the one-class split: every training-file image of {data.ClassNoun} {splitOptions.Normal}";
        return choice with { Rule = text };
    }

}
