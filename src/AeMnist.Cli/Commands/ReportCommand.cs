// `aemnist report`: the self-contained report.html (and each chart as .svg, image grids as .png) of a
// run; with --compare, one page that sets several runs side by side.
using System.CommandLine;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Reporting;
using AeMnist.Runs;
using AeMnist.Scoring;

namespace AeMnist.Cli.Commands;

internal static class ReportCommand
{
    private const string Remedy = "choose one inside that range with --threshold X";

    public static Command Build()
    {
        var model = new ModelOptions();
        var split = new SharedOptions.SplitSet();
        var compare = SharedOptions.PathOption(new Option<string[]>("--compare")
        {
            Description = "Run directories, or folders of runs, to put side by side in one comparison page",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "DIR",
        });
        var outputPath = SharedOptions.PathOption(new Option<string?>("--output", "-o")
        {
            Description = "With --compare: the page to write ('-' for stdout) [default: comparison.html in the runs folder given, else in --runs-dir]; with --model-file: the directory for the report",
            HelpName = "FILE|DIR",
        });
        var threshold = SharedOptions.OptionalDouble("--threshold", "Threshold to report at [default: the model's stored one]", "X");
        var labelledInputs = new InputOptions(labelled: true);
        var score = new SharedOptions.ScoreOption();
        var data = SharedOptions.Data();
        var quiet = SharedOptions.Quiet();
        var command = new Command("report", "Write report.html for a run (loss curves, error histograms, ROC/PR, confusion matrix, sample reconstructions)")
        {
            compare, outputPath, threshold, score.Option, data, quiet,
        };
        foreach (Option o in model.All) command.Add(o);
        foreach (Option o in split.All) command.Add(o);
        foreach (Option o in labelledInputs.All) command.Add(o);

        command.SetAction(parse =>
        {
            ThresholdRule rule = EvaluateCommand.ReadRule(parse.GetValue(threshold), null, null);
            split.ReadProtocol(parse);
            ScoreKind? scoreKind = score.Read(parse);
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            bool isQuiet = parse.GetValue(quiet);
            string[] runs = parse.GetValue(compare) ?? [];
            string? outputOption = parse.GetValue(outputPath);
            var warnings = new Warnings(error);
            if (runs.Length > 0)
            {
                if (parse.GetValue(model.Run) is not null || parse.GetValue(model.ModelFile) is not null)
                    throw new UsageException("--compare takes the run directories itself; drop --run and --model-file");
                SharedOptions.RejectGiven(parse, labelledInputs.All, "--compare reports each run on its own test split");
                List<string> expanded = ExpandRuns(runs);
                if (expanded.Count < 2)
                    throw new UsageException($"--compare needs at least two runs; {string.Join(", ", runs)} hold{(runs.Length == 1 ? "s" : "")} {expanded.Count}");
                SharedOptions.RejectGiven(parse, [model.Model], "each compared run's model.safetensors says what it is");
                if (outputOption is not null) SharedOptions.RejectGiven(parse, [model.RunsDir], "--output names the page, so it does not go into a runs directory");
                string defaultFolder = runs.Length == 1 && !IsRun(runs[0]) ? runs[0] : parse.GetValue(model.RunsDir)!;
                string page = outputOption ?? Path.Combine(defaultFolder, HtmlReport.ComparisonFileName);
                if (outputOption is not null)
                {
                    OutputFiles.Check("--output", page, runs);
                    CheckPage(page, HtmlReport.ComparisonMarker, "a comparison page");
                }
                ComputeOptions compute = model.Compute.Read(parse);
                RunDirectory[] opened = [.. expanded.Select(RunDirectory.Open)];
                Func<string?, Dataset> loadOnce = SharedOptions.LoadOnce();  // runs on the same data read it once
                var inputs = opened.Select(run =>
                {
                    using LoadedModel loaded = ModelOptions.Load(run.ModelPath, null, compute, run);
                    if (loaded.Metadata.Split is { } own) SharedOptions.RejectGiven(parse, split.All, $"{run.ModelPath} records its split ({EvaluateCommand.Describe(own)})");
                    Dataset mnist = SharedOptions.LoadDataFor(run, parse.GetValue(data), loadOnce);
                    foreach (string warning in mnist.Warnings) warnings.Add(warning);
                    EvaluationOutcome outcome = EvaluateJob.Execute(loaded.Detector, loaded.Metadata.Split ?? split.Read(parse, mnist, model: loaded.Metadata), mnist, rule, score: scoreKind);
                    warnings.AddFor(outcome, loaded, Remedy);
                    return (Path.GetFileName(Path.GetFullPath(run.Path)), ReportBuilder.Build(outcome, loaded.Model, loaded.Metadata, mnist, run, run.ModelPath, compute));
                }).ToList();
                if (outputOption is null)
                {
                    // The default page goes into the runs folder, made if need be (only now that every run was read).
                    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(page))!);
                    OutputFiles.Check("--output", page);
                    CheckPage(page, HtmlReport.ComparisonMarker, "a comparison page");
                }
                if (OutputFiles.IsStdout(page)) OutputFiles.WriteText(parse, page, HtmlReport.RenderComparison(inputs));
                else
                {
                    HtmlReport.WriteComparison(page, inputs);
                    if (!isQuiet) output.WriteLine($"Wrote {page} ({inputs.Count} runs: {string.Join(", ", inputs.Select(i => i.Item1))})");
                }
                return ExitCodes.Success;
            }

            RunDirectory? runDirectory = model.FindRun(parse);
            string directory;
            if (runDirectory is not null)
            {
                if (outputOption is not null) throw new UsageException("--output cannot apply: a run's report goes into its own directory; drop it (or use --compare)");
                directory = runDirectory.Path;
            }
            else
            {
                // A model file that is not a run's: the report goes only where the user says, never beside someone else's file.
                directory = outputOption ?? throw new UsageException(
                    $"{parse.GetValue(model.ModelFile)} is not a run's model; say where the report goes with --output DIR (aemnist writes nothing beside another's file)");
                if (File.Exists(directory) || OutputFiles.IsStdout(directory))
                    throw new UsageException($"--output {directory} must be a directory for the report and its charts");
                CheckReportDirectory(directory, parse.GetValue(model.ModelFile)!);
                Directory.CreateDirectory(directory);
            }
            using LoadedModel model1 = model.Load(parse, runDirectory);
            var (loadedModel, meta, modelPath) = (model1.Model, model1.Metadata, model1.ModelPath);
            bool labelledFolder = parse.GetValue(labelledInputs.Input) is [var only] && (Directory.Exists(only) || only.EndsWith(".npz", StringComparison.OrdinalIgnoreCase));
            if (meta.Split is { } ownSplit)
                SharedOptions.RejectGiven(parse, labelledFolder ? split.All.Where(o => o != split.Normal) : split.All, $"{modelPath} records its split ({EvaluateCommand.Describe(ownSplit)})");
            LabelledImages? labelled = labelledInputs.ReadLabelled(parse, meta, labelledFolder ? parse.GetValue(split.Normal) : null);
            if (labelled is not null && runDirectory is not null)
            {
                // A report on other images goes beside the run's own, never over it: RUN/input-NAME/report.html, as evaluate --report writes it.
                directory = Path.Combine(runDirectory.Path, "input-" + InputOptions.Slug(labelled.Name));
                Directory.CreateDirectory(directory);
            }
            Dataset data2 = SharedOptions.LoadDataFor(runDirectory, parse.GetValue(data));
            labelledInputs.AddWarnings(parse, warnings);
            foreach (string warning in data2.Warnings) warnings.Add(warning);
            EvaluationOutcome result = EvaluateJob.Execute(model1.Detector, meta.Split ?? split.Read(parse, data2, model: meta), data2, rule, labelled, scoreKind);
            warnings.AddFor(result, model1, Remedy);
            ReportInput input = ReportBuilder.Build(result, loadedModel, meta, data2, runDirectory, modelPath, model.Compute.Read(parse));
            // The page states the same warnings in its own words (Readings); stderr gets them for scripts.
            if (runDirectory is not null) EvaluateCommand.Exists(runDirectory);
            IReadOnlyList<string> written = HtmlReport.Write(directory, input);
            if (!isQuiet)
            {
                output.WriteLine($"Wrote {Path.Combine(directory, "report.html")} (open it in a browser)");
                output.WriteLine($"  and {written.Count - 1} charts and image grids beside it: {string.Join(", ", written.Where(w => !w.EndsWith("report.html")).Select(Path.GetFileName))}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static bool IsRun(string path) => File.Exists(Path.Combine(path, RunDirectory.ModelFileName));

    // The files a report writes besides report.html: NAME.svg and NAME.png of each chart.
    private static readonly string[] ChartNames = ["loss", "histogram", "roc", "pr", "f1", "confusion", "digits", "classes", "latent"];

    /// <summary>
    /// A directory a model file's report may go into: a new one, one without any file the report writes, or one holding a
    /// report aemnist wrote for the same model file (its marker names it). Never a run directory, another model's report
    /// or a user's images that happen to share a chart's name.
    /// </summary>
    internal static void CheckReportDirectory(string directory, string modelPath)
    {
        if (!Directory.Exists(directory)) return;
        if (RunDirectory.OwnFiles.Any(f => File.Exists(Path.Combine(directory, f))))
            throw new UsageException($"--output {directory} is a run directory, whose report is of its own model (aemnist report --run {directory}); choose a new or empty directory");
        string page = Path.Combine(directory, HtmlReport.FileName);
        if (FileKinds.Of(page, followLinks: false) != FileKind.Missing)
        {
            if (WrittenFor(page, Path.GetFullPath(modelPath))) return;
            throw new UsageException($"--output {directory} holds a report.html that aemnist did not write for {modelPath}; choose a new or empty directory");
        }
        foreach (string file in Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(file), stem = Path.GetFileNameWithoutExtension(name), extension = Path.GetExtension(name);
            if (extension is ".png" or ".svg" && (ChartNames.Contains(stem) || stem.StartsWith("samples-", StringComparison.Ordinal)))
                throw new UsageException($"--output {directory} holds {IO.MessageText.Escape(name)}, which aemnist did not write for {modelPath}; choose a new or empty directory");
        }
    }

    /// <summary>An existing <paramref name="page"/> may be replaced only when aemnist wrote it as <paramref name="what"/> (its marker says <paramref name="subject"/>).</summary>
    internal static void CheckPage(string page, string subject, string what)
    {
        if (OutputFiles.IsStdout(page) || FileKinds.Of(page) != FileKind.Regular) return;
        if (!WrittenFor(page, subject))
            throw new UsageException($"--output {page} holds a file that aemnist did not write as {what}; it is never replaced; choose another file");
    }

    // The marker is in the page's first lines (its head); a file that cannot be read is not ours.
    private static bool WrittenFor(string page, string subject)
    {
        try
        {
            using var stream = new FileStream(page, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var head = new byte[8192];
            int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            return System.Text.Encoding.UTF8.GetString(head, 0, n).Contains(HtmlReport.Marker(subject), StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>
    /// Each argument that is a run directory (it holds a model) stays; one that is a folder of runs becomes its
    /// run directories in name order. Files in a runs folder (comparison.html, ...) are never runs.
    /// </summary>
    internal static List<string> ExpandRuns(IEnumerable<string> paths)
    {
        var runs = new List<string>();
        foreach (string path in paths)
        {
            if (IsRun(path) || !Directory.Exists(path))
            {
                runs.Add(path); // RunDirectory.Open names what is wrong with a path that is not a run
                continue;
            }
            string[] inside = [.. Directory.GetDirectories(path).Where(IsRun).Order(StringComparer.Ordinal)];
            if (inside.Length == 0)
                throw new DataFormatException($"{path}: neither a run directory (no {RunDirectory.ModelFileName}) nor a folder of runs");
            runs.AddRange(inside);
        }
        return runs;
    }
}
