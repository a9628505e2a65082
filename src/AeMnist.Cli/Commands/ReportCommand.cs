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
            Description = "Run directories to put side by side in one comparison page",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "DIR",
        };
        var outputPath = new Option<string?>("--output", "-o") { Description = "Comparison page to write [default: RUNS-DIR/comparison.html]", HelpName = "FILE" };
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
                if (runs.Length < 2) throw new UsageException("--compare needs at least two run directories");
                ComputeOptions compute = model.Compute.Read(parse);
                MnistDataset mnist = SharedOptions.LoadData(parse.GetValue(data));
                var inputs = runs.Select(path =>
                {
                    RunDirectory run = RunDirectory.Open(path);
                    using LoadedModel loaded = ModelOptions.Load(run.ModelPath, null, compute, run);
                    EvaluationOutcome outcome = EvaluateJob.Execute(loaded.Model, loaded.Metadata, loaded.Metadata.Split ?? fromOptions, mnist, rule, scoreKind);
                    return (Path.GetFileName(Path.GetFullPath(path)), EvaluateJob.ReportInput(outcome, loaded.Model, loaded.Metadata, mnist, run, run.ModelPath));
                }).ToList();
                string page = parse.GetValue(outputPath) ?? Path.Combine(parse.GetValue(model.RunsDir)!, "comparison.html");
                HtmlReport.WriteComparison(page, inputs);
                if (!isQuiet) output.WriteLine($"Wrote {page}");
                return ExitCodes.Success;
            }
            if (parse.GetValue(outputPath) is not null) throw new UsageException("--output applies to --compare; a run's report goes into its directory");

            using LoadedModel model1 = model.Load(parse);
            var (loaded, meta, runDirectory, modelPath) = (model1.Model, model1.Metadata, model1.Run, model1.ModelPath);
            MnistDataset data2 = SharedOptions.LoadData(parse.GetValue(data));
            EvaluationOutcome result = EvaluateJob.Execute(loaded, meta, meta.Split ?? fromOptions, data2, rule, scoreKind);
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
}
