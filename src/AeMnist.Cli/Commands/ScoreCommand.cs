// `aemnist score`: reconstruction error and anomaly flag of each input image, as CSV.
using System.CommandLine;
using System.Globalization;
using System.Text;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.Evaluation;
using AeMnist.IO;
using AeMnist.Reporting;
using AeMnist.Runs;
using AeMnist.Scoring;
using AeMnist.Tensors;
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
            "Threshold that flags a share F of the normal images of the run's validation (else train) split; for a model file without a split, of every MNIST training-file image of --normal",
            "F");
        var alpha = SharedOptions.OptionalDouble("--alpha",
            "Flag images whose conformal p-value against the normal images of the run's validation (else train) split is at most A (docs/export.md)", "A");
        var pValues = new Option<bool>("--p-values")
        {
            Description = "Add a p_value column: each score's conformal p-value (1 + #{normal scores >= it}) / (n + 1) against the normal images of the run's validation (else train) split",
        };
        var maps = SharedOptions.PathOption(new Option<string?>("--maps")
        {
            Description = "Write each image's anomaly map (the score per pixel, its mean the score; combined draws smoothed's) to DIR, a new or empty directory or one of earlier maps, as map-INDEX.png (Inferno colour scale, stated in DIR/scale.txt) and map-INDEX.npy",
            HelpName = "DIR",
        });
        var mapsMax = SharedOptions.OptionalDouble("--maps-max", "Top of the maps' colour scale [default: the largest value of the maps written]", "X");
        var normal = new Option<string?>("--normal") { Description = "The normal class (a digit for MNIST), for --fpr with a model file that does not record it", HelpName = "CLASS" };
        var data = SharedOptions.Data();
        var quiet = SharedOptions.Quiet();
        var score = new SharedOptions.ScoreOption();
        var command = new Command("score", "Score images by reconstruction error and flag anomalies (CSV: index,source[,label],error,anomaly[,p_value])") { outputPath, threshold, fpr, alpha, pValues, maps, mapsMax, normal, score.Option, data, quiet };
        foreach (Option o in inputs.All) command.Add(o);
        foreach (Option o in model.All) command.Add(o);

        command.SetAction(parse =>
        {
            double? given = parse.GetValue(threshold);
            if (given is { } t && !(double.IsFinite(t) && t >= 0))
                throw new UsageException($"--threshold must be a number 0 or more, got {t}");
            double? alphaGiven = parse.GetValue(alpha);
            if ((given is null ? 0 : 1) + (parse.GetValue(fpr) is null ? 0 : 1) + (alphaGiven is null ? 0 : 1) > 1)
                throw new UsageException("give at most one of --threshold, --fpr and --alpha");
            if (alphaGiven is { } av && !(av > 0 && av < 1)) throw new UsageException($"--alpha {av} must be in (0, 1), e.g. 0.05 for at most 5% false alarms");
            bool withP = parse.GetValue(pValues);
            string? mapsDirectory = parse.GetValue(maps);
            double? top = parse.GetValue(mapsMax);
            if (mapsDirectory is null) SharedOptions.RejectGiven(parse, [mapsMax], "it sets the colour scale of --maps, and --maps is not given");
            if (top is { } tv && !(tv > 0 && double.IsFinite(tv))) throw new UsageException($"--maps-max must be a positive number, got {tv}");
            if (mapsDirectory is not null) CheckMapsDirectory(mapsDirectory);
            ScoreKind? asked = score.Read(parse);
            string? path = parse.GetValue(outputPath);
            if (path is not null) OutputFiles.Check("--output", path, [.. parse.GetValue(inputs.Input)!, .. model.Files(parse)]);
            RunDirectory? run = model.FindRun(parse);
            using LoadedModel loaded = model.Load(parse, run);
            IEngineModel autoEncoder = loaded.Model;
            ScoreKind stored = loaded.Metadata.Score ?? ScoreKind.Mse, kind = asked ?? stored;
            if (given is null && parse.GetValue(fpr) is null && alphaGiven is null && kind != stored && loaded.Metadata.Threshold is not null)
                throw new UsageException($"{Path.GetFileName(loaded.ModelPath)} stores a threshold for the {Scores.Name(stored)} score, not {Scores.Name(kind)}; pass --threshold X, --fpr F or --alpha A");
            if (!withP && (given is not null || (parse.GetValue(fpr) is null && alphaGiven is null && loaded.Metadata.Threshold is not null)))
                SharedOptions.RejectGiven(parse, [normal, data], "the threshold is given or stored, so no images of the normal class are read to choose one");
            if (loaded.Metadata.Split is { } own)
                SharedOptions.RejectGiven(parse, [normal], $"{loaded.ModelPath} records its split ({EvaluateCommand.Describe(own)}), so its normal digit is known");
            ImageBatch batch = inputs.Read(parse, loaded.Metadata);
            ThresholdChoice limit = Threshold(loaded, given, parse.GetValue(fpr), parse.GetValue(normal), parse.GetValue(data), kind, alphaGiven);
            // The calibration scores are computed before the inputs are scored, so a run without its data fails first.
            Calibration? calibration = withP ? Calibration.Of(loaded, parse.GetValue(normal), parse.GetValue(data), kind) : null;
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
            double[]? p = calibration is null ? null : Conformal.PValues(calibration.Scores, errors);
            if (calibration is { Validation: false }) warnings.Add($"the p-values are computed against {calibration.Text}; train with --validation for p-values that keep their promise");
            var csv = new StringBuilder((labels ? "index,source,label,error,anomaly" : "index,source,error,anomaly") + (p is null ? "\n" : ",p_value\n"));
            for (int i = 0; i < batch.Count; i++)
            {
                string label = labels ? (batch.Labels[i] >= 0 ? batch.Labels[i].ToString(CultureInfo.InvariantCulture) : "") + "," : "";
                csv.Append(CultureInfo.InvariantCulture, $"{i},{CsvText.Cell(batch.Sources[i])},{label}{errors[i]:R},{(errors[i] >= limit.Value ? 1 : 0)}{(p is null ? "" : "," + p[i].ToString("R", CultureInfo.InvariantCulture))}\n");
            }
            string? mapsWritten = mapsDirectory is null ? null : WriteMaps(detector, batch, kind, mapsDirectory, top);
            if (path is null) parse.InvocationConfiguration.Output.Write(csv.ToString());
            else OutputFiles.WriteText(parse, path, csv.ToString());
            if (!parse.GetValue(quiet))
            {
                bool toFile = path is not null && !OutputFiles.IsStdout(path);
                // On stderr, so that stdout stays pure CSV when no --output is given.
                parse.InvocationConfiguration.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Scored {batch.Count} image{(batch.Count == 1 ? "" : "s")}{(timed > 0 ? $"; the {timed} after the first {head.Length} in {seconds:F3}s ({timed / Math.Max(seconds, 1e-9):F0} images/s)" : "")}; {flagged} flagged as anomalous at threshold {limit.Value:G6} ({limit.Rule}){(toFile ? "; wrote " + path : "")}"));
                if (mapsWritten is not null) parse.InvocationConfiguration.Error.WriteLine(mapsWritten);
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
    internal static ThresholdChoice Threshold(LoadedModel loaded, double? given, double? fpr, string? normal, string? dataDirectory, ScoreKind kind, double? alpha = null)
    {
        if (given is { } t) return new ThresholdChoice(t, "given with --threshold");
        if (fpr is null && alpha is null && loaded.Metadata.Threshold is { } stored) return new ThresholdChoice(stored, "the model's stored threshold");
        ThresholdRule rule = alpha is { } a ? new PValueRule(a) : fpr is { } f ? EvaluateCommand.ReadRule(null, null, null, f) : ThresholdRule.DefaultForForeignModel;
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
        string text = fpr is null && alpha is null ? "no stored threshold, so the default rule: " + choice.Rule : choice.Rule;
        if (loaded.Metadata.Split is null) text += $"; the train split is the one-class split: every training-file image of {data.ClassNoun} {splitOptions.Normal}";
        return choice with { Rule = text };
    }

    // --maps DIR: a directory that exists, or one to create in a directory that does.
    private static void CheckMapsDirectory(string directory)
    {
        if (File.Exists(directory)) throw new UsageException($"--maps {directory} is a file; give a directory for the maps");
        string? parent = Path.GetDirectoryName(Path.GetFullPath(directory));
        if (!Directory.Exists(directory) && (parent is null || !Directory.Exists(parent)))
            throw new UsageException($"--maps {directory}: directory {parent} does not exist");
        // Maps go into a new or empty directory, or one that holds nothing but earlier maps: never among a user's files.
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).FirstOrDefault(e => !IsMapFile(Path.GetFileName(e))) is { } other)
            throw new UsageException($"--maps {directory} holds {MessageText.Quote(Path.GetFileName(other), 60)}, which is not an earlier map; give a new or empty directory for the maps");
    }

    // What WriteMaps writes: map-INDEX.png, map-INDEX.npy and scale.txt.
    private static bool IsMapFile(string name) =>
        name == ScaleFile || (name.StartsWith("map-", StringComparison.Ordinal) && (name.EndsWith(".png", StringComparison.Ordinal) || name.EndsWith(".npy", StringComparison.Ordinal))
            && name[4..^4].All(char.IsAsciiDigit) && name.Length > 8);

    private const string ScaleFile = "scale.txt";

    /// <summary>
    /// Each image's anomaly map as DIR/map-INDEX.png (colour) and .npy (values), INDEX the CSV's index column, and the colour
    /// scale in DIR/scale.txt; one more reconstruction pass, in chunks. Returns the line to print.
    /// </summary>
    private static string WriteMaps(Detector detector, ImageBatch batch, ScoreKind kind, string directory, double? top)
    {
        ImageShape shape = detector.ImageShape;
        int length = shape.Length, plane = shape.Height * shape.Width, n = batch.Count;
        var all = new float[(long)n * plane];
        var reconstructions = new float[(long)Math.Min(n, ModelScores.Chunk) * length];
        for (int start = 0; start < n; start += ModelScores.Chunk)
        {
            int count = Math.Min(ModelScores.Chunk, n - start);
            ReadOnlySpan<float> part = batch.Pixels.AsSpan(start * length, count * length);
            detector.Model.Reconstruct(part, count, reconstructions.AsSpan(0, count * length));
            AnomalyMaps.Compute(kind, part, reconstructions.AsSpan(0, count * length), count, shape).CopyTo(all.AsSpan(start * plane));
        }
        double max = top ?? AnomalyMaps.Max(all);
        Directory.CreateDirectory(directory);
        // Earlier maps go first, so that none of another run's images stays beside these (the directory holds only maps).
        foreach (string earlier in Directory.EnumerateFiles(directory).Where(f => IsMapFile(Path.GetFileName(f))).ToList())
            File.Delete(earlier);
        int digits = Math.Max(5, (n - 1).ToString(CultureInfo.InvariantCulture).Length);
        // File 2i is image i's map as a picture, 2i + 1 its values.
        AtomicFile.WriteFiles(directory, 2 * n, f =>
        {
            int i = f / 2;
            string name = "map-" + i.ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0');
            ReadOnlySpan<float> map = all.AsSpan(i * plane, plane);
            return f % 2 == 0 ? (name + ".png", AnomalyMaps.Png(map, shape.Height, shape.Width, max)) : (name + ".npy", AnomalyMaps.Npy(map, shape.Height, shape.Width));
        });
        string scale = AnomalyMaps.Scale(kind, max);
        AtomicFile.WriteAllText(Path.Combine(directory, ScaleFile),
            $"{scale}\nmap-INDEX.png and map-INDEX.npy ({shape.Height}x{shape.Width} float32, NaN where undefined) belong to the row INDEX of score's CSV; {(Scores.MapKind(kind) == kind ? "each map's mean over its defined pixels is the image's score" : $"each map's mean is the image's {Scores.Name(Scores.MapKind(kind))} score")}\n");
        return $"Wrote {n} anomaly maps to {directory} ({scale})";
    }
}
