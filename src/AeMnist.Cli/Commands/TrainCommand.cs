// `aemnist train`: trains an autoencoder on the normal class of a labelled dataset (MNIST by default) or on a folder of
// normal images, and writes a run directory.
using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Runs;
using AeMnist.Scoring;
using AeMnist.Training;

namespace AeMnist.Cli.Commands;

internal static class TrainCommand
{
    public static Command Build()
    {
        var split = new SharedOptions.SplitSet();
        var model = new Option<string>("--model")
        {
            Description = string.Join("; ", Architectures.All.Select(a => $"{a.Name}: {a.Summary}")),
            DefaultValueFactory = _ => Architectures.All[0].Name,
            HelpName = string.Join("|", Architectures.All.Select(a => a.Name)),
        };
        // One option per architecture setting (--hidden, ...), named and described by the architectures that take it.
        var settings = Architectures.Options.Select(o => new Option<string?>("--" + o.Name)
        {
            Description = $"{o.Description} ({string.Join(", ", Architectures.All.Where(a => a.Options.Contains(o)).Select(a => a.Name))} only) [default: {ArchitectureOption.Format(o.Default)}]",
            HelpName = o.HelpName,
        }).ToArray();
        var epochs = SharedOptions.Int("--epochs", "Maximum number of epochs", 100);
        var batchSize = SharedOptions.Int("--batch-size", "Images per mini-batch (a batch larger than the train split is the whole split)", 512);
        var lr = SharedOptions.Double("--lr", "Adam learning rate", 0.01, "RATE");
        var lrSchedule = new Option<string?>("--lr-schedule")
        {
            Description = "How the learning rate moves over the epochs: constant, or cosine (annealed towards 0 over --epochs, set per epoch as PyTorch's CosineAnnealingLR) [default: constant]",
            HelpName = "constant|cosine",
        };
        var weightDecay = SharedOptions.Double("--weight-decay", "Adam weight decay (L2, as torch.optim.Adam)", 0.0, "W");
        var evalEvery = SharedOptions.Int("--eval-every", "Evaluate the monitored split every N epochs (after epochs 1, 1+N, ...)", 10);
        var patience = SharedOptions.Int("--patience", "Stop after N evaluations without improvement", 3);
        var keep = new Option<string>("--keep") { Description = "Which weights to save: best (lowest monitored loss) or last (as the tutorial)", DefaultValueFactory = _ => "best", HelpName = "best|last" };
        var contamination = SharedOptions.Double("--contamination", "Expected share of anomalies in the train split; the default threshold is its (1 - F) quantile of train errors", 0.1, "F");
        var score = new SharedOptions.ScoreOption();
        score.Option.Description = "Anomaly score the stored threshold is computed with, and that evaluate, score and report then use: " +
            string.Join("; ", Scores.All.Select(k => $"{Scores.Name(k)}: {Scores.Describe(k)}")) + " [default: mse]";
        var noise = SharedOptions.Double("--noise", "Denoising: add Gaussian noise of this standard deviation to the inputs (clipped to [0, 1]); the targets stay the clean images", 0.0, "SIGMA");
        var retryCollapsed = SharedOptions.Int("--retry-collapsed",
            $"When the model collapses (constant output at {Trainer.CollapseEvaluations} evaluations in a row), train again with the next seed, up to N times (0-{TrainRequest.MaxRetries}; the seeds are recorded in run.json)", 0);
        var resume = SharedOptions.PathOption(new Option<string?>("--resume") { Description = "Continue an interrupted run (its checkpoint holds every option; only --threads and --data may be given) to exactly the result of an uninterrupted one", HelpName = "DIR" });
        var runName = new Option<string?>("--run-name") { Description = "Name of the run directory [default: MODEL-CLASS-sSEED-TIMESTAMP]", HelpName = "NAME" };
        var data = SharedOptions.Data();
        var input = SharedOptions.PathOption(new Option<string[]>("--input", "-i")
        {
            Description = "Normal images to learn from, no labels needed: folders (searched recursively), PNG/JPEG/BMP/WebP/GIF files, CSV, IDX or NumPy .npy files; every image is normal (instead of --data and --normal)",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "PATH",
        });
        var rules = new SharedOptions.ImageRuleSet();
        var runsDir = SharedOptions.RunsDir();
        var compute = new SharedOptions.ComputeSet();
        var json = SharedOptions.Json();
        var quiet = SharedOptions.Quiet(hasJson: true);

        var command = new Command("train", "Train an autoencoder on the normal class of a dataset (or on a folder of normal images) and write a run directory");
        foreach (Option o in split.All) command.Add(o);
        Option[] own = [model, .. settings, epochs, batchSize, lr, lrSchedule, weightDecay, evalEvery, patience, keep, contamination, score.Option, noise, retryCollapsed, runName, resume,
            data, input, .. rules.All, runsDir, .. compute.All, json, quiet];
        foreach (Option o in own) command.Add(o);

        command.SetAction(parse =>
        {
            string? resumePath = parse.GetValue(resume);
            ComputeOptions computeOptions = compute.Read(parse);
            ResumableRun? resumable = null;
            TrainRequest? request = null;
            Dataset? dataset = null;
            if (resumePath is not null)
            {
                // A resumed run keeps every option of its checkpoint: any other option given would be ignored, so it is an error.
                Option[] fixedByCheckpoint = [.. split.All, model, .. settings, epochs, batchSize, lr, weightDecay, evalEvery, patience, keep, contamination,
                    score.Option, noise, lrSchedule, retryCollapsed, runName, runsDir, compute.Engine, compute.Device, input, .. rules.All];
                SharedOptions.RejectGiven(parse, fixedByCheckpoint, "a resumed run keeps the options of its checkpoint (only --threads and --data may be given)");
                resumable = TrainJob.OpenResumable(resumePath);  // a wrong directory fails before half a second goes on loading the data
            }
            else
            {
                Models.Architecture architecture = Architectures.Get(parse.GetValue(model)!);
                if (architecture.FitsExactly)
                    SharedOptions.RejectGiven(parse, [epochs, batchSize, lr, lrSchedule, weightDecay, evalEvery, patience, keep, noise, retryCollapsed],
                        $"--model {architecture.Name} is fitted exactly, in closed form, not trained");
                // Options the user did not give take the architecture's recipe (the tutorial's defaults for dense and conv).
                (TrainOptions recipe, double recipeValidation) = TrainOptions.Recipe(architecture);
                bool Given(Option o) => parse.GetResult(o) is { Implicit: false };
                T Pick<T>(Option<T> o, T fallback) => Given(o) ? parse.GetValue(o)! : fallback;
                var given = settings.Where(o => parse.GetValue(o) is not null).ToDictionary(o => o.Name[2..], o => parse.GetValue(o)!);
                var options = new TrainOptions(
                    Model: architecture.Name,
                    Settings: architecture.Settings(given),
                    Epochs: Pick(epochs, recipe.Epochs),
                    BatchSize: Pick(batchSize, recipe.BatchSize),
                    LearningRate: Pick(lr, recipe.LearningRate),
                    WeightDecay: Pick(weightDecay, recipe.WeightDecay),
                    EvalEvery: Pick(evalEvery, recipe.EvalEvery),
                    Patience: Pick(patience, recipe.Patience),
                    Keep: !Given(keep) ? recipe.Keep : TrainOptions.ParseKeep(parse.GetValue(keep)!),
                    Contamination: Pick(contamination, recipe.Contamination),
                    Score: score.Read(parse) ?? recipe.Score,
                    Noise: Pick(noise, recipe.Noise),
                    Schedule: parse.GetValue(lrSchedule) is { } schedule ? TrainOptions.ParseSchedule(schedule) : recipe.Schedule);
                int retries = parse.GetValue(retryCollapsed);
                if (retries is < 0 or > TrainRequest.MaxRetries)
                    throw new UsageException($"--retry-collapsed {retries} must be 0-{TrainRequest.MaxRetries}");
                string? name = parse.GetValue(runName);
                RunDirectory.CheckName(name);
                split.ReadProtocol(parse);
                ImageRules imageRules = rules.Read(parse);
                string[] inputs = parse.GetValue(input) ?? [];

                // The data (checked now, before anything trains): normal images from --input, or a labelled dataset.
                SplitOptions splitOptions;
                DataRecord? record = null;
                if (inputs.Length > 0)
                {
                    SharedOptions.RejectGiven(parse, [data, .. split.Labelled], "--input's images are all normal: there are no classes to choose from and no test part");
                    dataset = DataSources.OpenImages(inputs, imageRules);
                    // Nothing to test on, so early stopping and the threshold watch a validation split of the images.
                    double validation = Given(split.Validation) ? parse.GetValue(split.Validation) : Math.Max(recipeValidation, 0.1);
                    if (!(validation > 0))
                        throw new UsageException("--validation 0 leaves nothing to watch: --input's images are all normal and have no test part; give a fraction such as 0.1");
                    splitOptions = new SplitOptions(SplitProtocol.OneClass, 0, Validation: validation, Seed: parse.GetValue(split.Seed));
                    Splitter.Validate(splitOptions);
                    record = new DataRecord(inputs.Length == 1 ? Path.GetFullPath(inputs[0]) : string.Join(";", inputs.Select(Path.GetFullPath)), "")
                        { Inputs = [.. inputs.Select(Path.GetFullPath)], Rules = imageRules };
                }
                else
                {
                    dataset = SharedOptions.LoadData(parse.GetValue(data), imageRules);
                    splitOptions = split.Read(parse, dataset, recipeValidation);
                    if (!imageRules.IsDefault) record = new DataRecord(dataset.Directory, "") { Rules = imageRules };
                }
                options = options with { Image = dataset.Shape == Tensors.ImageShape.Mnist ? null : dataset.Shape };
                options.Validate();
                request = new TrainRequest(splitOptions, options, computeOptions, parse.GetValue(runsDir)!, name)
                {
                    RetryCollapsed = retries,
                    Data = record,
                    NormalClass = dataset.Source.IsMnist ? null : dataset.ClassNames[splitOptions.Normal],
                };
            }

            using (resumable)
            {
                bool asJson = parse.GetValue(json), isQuiet = parse.GetValue(quiet) || asJson;
                var output = parse.InvocationConfiguration.Output;
                var warnings = new Warnings(parse.InvocationConfiguration.Error);
                Dataset mnist = resumable is not null
                    ? SharedOptions.LoadDataFor(resumable.Run.Path, resumable.Contents.Request.Data, parse.GetValue(data))
                    : dataset!;
                foreach (string warning in mnist.Warnings) warnings.Add(warning);  // printed even with --quiet

                // Ctrl-C or SIGTERM: finish the current batch, save a checkpoint, exit 130.
                using var stop = new CancellationTokenSource();
                ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
                Console.CancelKeyPress += onCancel;
                using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
                TrainOutcome outcome;
                TrainProgress? progress = null;
                try
                {
                    void Start(RunDirectory run, TrainRequest started)
                    {
                        progress = new TrainProgress(output, isQuiet, started.Train.Epochs);
                        progress.Start(run, started, mnist, resumed: resumable is not null);
                    }
                    void Note(string text) => warnings.Add(text);
                    outcome = resumable is not null
                        ? TrainJob.Resume(resumable, mnist, computeOptions.Threads, App.Engines, r => progress?.OnEpoch(r), Start, stop.Token, Note)
                        : TrainJob.Execute(request!, mnist, App.Engines, r => progress?.OnEpoch(r), Start, stop.Token, Note);
                }
                finally
                {
                    Console.CancelKeyPress -= onCancel;
                }

                TrainState state = outcome.Result.State;
                if (outcome.CompletedOnly && !isQuiet)
                    output.WriteLine($"{outcome.Run.Path}: training had already finished ({RunRecord.StatusName(outcome.Result.Reason)}, {state.EpochsDone} epochs); wrote the files it had not written yet");
                if (outcome.Result.Reason == StopReason.Interrupted)
                {
                    if (asJson) output.WriteLine(Summary(outcome, warnings).ToJsonString(RunRecord.JsonOptions));
                    throw new CliExitException(ExitCodes.Interrupted,
                        $"interrupted after {state.EpochsDone} epochs and {state.BatchesDone} batches; checkpoint saved in {outcome.Run.Path}. Resume with: aemnist train --resume {outcome.Run.Path}");
                }
                if (outcome.Collapsed)
                    warnings.Add(ModelHealth.CollapseWarning(outcome.Run.ModelPath) + (outcome.Request.RetryCollapsed > 0
                        ? $"; it collapsed with every seed tried ({string.Join(", ", [.. outcome.Request.CollapsedSeeds, outcome.Request.Seed])})" : ""));
                if (outcome.Result.Reason == StopReason.Diverged)
                {
                    if (asJson) output.WriteLine(Summary(outcome, warnings).ToJsonString(RunRecord.JsonOptions));
                    string kept = state.BestWeights is null && state.BestEpoch == 0
                        ? $"no evaluation succeeded before that, so {outcome.Run.ModelPath} holds the initial weights (epoch 0)"
                        : $"kept the best weights (epoch {state.BestEpoch}) in {outcome.Run.ModelPath}";
                    throw new CliExitException(ExitCodes.DataError, $"{outcome.Result.Message}; {kept}");
                }
                if (!outcome.CompletedOnly) progress!.Finish(outcome);
                if (asJson) output.WriteLine(Summary(outcome, warnings).ToJsonString(RunRecord.JsonOptions));
                return ExitCodes.Success;
            }
        });
        return command;
    }

    private static JsonObject Summary(TrainOutcome outcome, Warnings warnings)
    {
        TrainState state = outcome.Result.State;
        return new JsonObject
        {
            ["warnings"] = warnings.ToJson(),
            ["collapsed"] = outcome.Collapsed,
            ["seed"] = outcome.Request.Seed,
            ["collapsed_seeds"] = new JsonArray([.. outcome.Request.CollapsedSeeds.Select(s => (JsonNode)s)]),
            ["run"] = outcome.Run.Path,
            ["model"] = outcome.Run.ModelPath,
            ["status"] = RunRecord.StatusName(outcome.Result.Reason),  // run.json's words
            ["epochs_run"] = state.EpochsDone,
            ["best_epoch"] = state.BestEpoch,
            ["best_monitor_loss"] = double.IsFinite(state.BestMonitorLoss) ? state.BestMonitorLoss : null,
            ["monitor"] = outcome.Split.MonitorsTest ? "test" : "validation",
            ["final_train_loss"] = state.History.Count > 0 ? state.History[^1].TrainLoss : null,
            ["threshold"] = double.IsFinite(outcome.Threshold) ? outcome.Threshold : null,
            ["train_seconds"] = outcome.Result.Seconds,
            ["seconds_per_epoch"] = state.History.Count > 0 ? state.History.Average(h => h.Seconds) : null,
            ["message"] = outcome.Result.Message,
        };
    }
}
