// `aemnist report`: the self-contained report.html (and each chart as .svg, image grids as .png) of a
// run; with --compare, one page that sets several runs side by side.
using System.CommandLine;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Evaluation;
using AeMnist.Models;
using AeMnist.Reporting;
using AeMnist.Training;

namespace AeMnist.Cli.Commands;

internal static class ReportCommand
{
    public static Command Build()
    {
        var model = new ModelOptions();
        var split = new SharedOptions.SplitSet();
        var compare = new Option<string[]>("--compare")
        {
            Description = "Run directories, or folders of runs, to put side by side in one comparison page",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "DIR",
        };
        var outputPath = new Option<string?>("--output", "-o") { Description = "Comparison page to write [default: comparison.html in the runs folder given, else in --runs-dir]", HelpName = "FILE" };
        var threshold = new Option<double?>("--threshold") { Description = "Threshold to report at [default: the model's stored one]", HelpName = "X" };
        var score = new SharedOptions.ScoreOption();
        var data = SharedOptions.Data();
        var quiet = SharedOptions.Quiet();
        var command = new Command("report", "Write report.html for a run (loss curves, error histograms, ROC/PR, confusion matrix, sample reconstructions)")
        {
            compare, outputPath, threshold, score.Option, data, quiet,
        };
        foreach (Option o in model.All) command.Add(o);
        foreach (Option o in split.All) command.Add(o);

        command.SetAction(parse =>
        {
            ThresholdRule rule = EvaluateCommand.ReadRule(parse.GetValue(threshold), null, null);
            SplitOptions fromOptions = split.Read(parse);
            ScoreKind? scoreKind = score.Read(parse);
            var output = parse.InvocationConfiguration.Output;
            bool isQuiet = parse.GetValue(quiet);
            string[] runs = parse.GetValue(compare) ?? [];
            if (runs.Length > 0)
            {
                if (parse.GetValue(model.Run) is not null || parse.GetValue(model.ModelFile) is not null)
                    throw new UsageException("--compare takes the run directories itself; drop --run and --model-file");
                List<string> expanded = ExpandRuns(runs);
                if (expanded.Count < 2)
                    throw new UsageException($"--compare needs at least two runs; {string.Join(", ", runs)} hold{(runs.Length == 1 ? "s" : "")} {expanded.Count}");
                ComputeOptions compute = model.Compute.Read(parse);
                MnistDataset mnist = SharedOptions.LoadData(parse.GetValue(data));
                var inputs = expanded.Select(path =>
                {
                    RunDirectory run = RunDirectory.Open(path);
                    using LoadedModel loaded = ModelOptions.Load(run.ModelPath, null, compute, run);
                    EvaluationOutcome outcome = EvaluateJob.Execute(loaded.Model, loaded.Metadata, loaded.Metadata.Split ?? fromOptions, mnist, rule, score: scoreKind);
                    return (Path.GetFileName(Path.GetFullPath(path)), EvaluateJob.ReportInput(outcome, loaded.Model, loaded.Metadata, mnist, run, run.ModelPath));
                }).ToList();
                string defaultFolder = runs.Length == 1 && !IsRun(runs[0]) ? runs[0] : parse.GetValue(model.RunsDir)!;
                string page = parse.GetValue(outputPath) ?? Path.Combine(defaultFolder, HtmlReport.ComparisonFileName);
                HtmlReport.WriteComparison(page, inputs);
                if (!isQuiet) output.WriteLine($"Wrote {page} ({inputs.Count} runs: {string.Join(", ", inputs.Select(i => i.Item1))})");
                return ExitCodes.Success;
            }
            if (parse.GetValue(outputPath) is not null) throw new UsageException("--output applies to --compare; a run's report goes into its directory");

            using LoadedModel model1 = model.Load(parse);
            var (loaded, meta, runDirectory, modelPath) = (model1.Model, model1.Metadata, model1.Run, model1.ModelPath);
            MnistDataset data2 = SharedOptions.LoadData(parse.GetValue(data));
            EvaluationOutcome result = EvaluateJob.Execute(loaded, meta, meta.Split ?? fromOptions, data2, rule, score: scoreKind);
            string directory = runDirectory?.Path ?? Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
            IReadOnlyList<string> written = HtmlReport.Write(directory, EvaluateJob.ReportInput(result, loaded, meta, data2, runDirectory, modelPath));
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
