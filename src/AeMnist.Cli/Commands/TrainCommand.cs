// `aemnist train`: trains an autoencoder on the normal digit and writes a run directory.
using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Evaluation;
using AeMnist.Models;
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
        var epochs = new Option<int>("--epochs") { Description = "Maximum number of epochs", DefaultValueFactory = _ => 100, HelpName = "N" };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per mini-batch", DefaultValueFactory = _ => 512, HelpName = "N" };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => 0.01, HelpName = "RATE" };
        var weightDecay = new Option<double>("--weight-decay") { Description = "Adam weight decay (L2, as torch.optim.Adam)", DefaultValueFactory = _ => 0.0, HelpName = "W" };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate the monitored split every N epochs (after epochs 1, 1+N, ...)", DefaultValueFactory = _ => 10, HelpName = "N" };
        var patience = new Option<int>("--patience") { Description = "Stop after N evaluations without improvement", DefaultValueFactory = _ => 3, HelpName = "N" };
        var keep = new Option<string>("--keep") { Description = "Which weights to save: best (lowest monitored loss) or last (as the tutorial)", DefaultValueFactory = _ => "best", HelpName = "best|last" };
        var contamination = new Option<double>("--contamination") { Description = "Expected share of anomalies in the train split; the default threshold is its (1 - F) quantile of train errors", DefaultValueFactory = _ => 0.1, HelpName = "F" };
        var score = new SharedOptions.ScoreOption();
        score.Option.Description = "Anomaly score the stored threshold is computed with, and that evaluate, score and report then use: " +
            string.Join("; ", AnomalyScore.All.Select(k => $"{AnomalyScore.Name(k)}: {AnomalyScore.Describe(k)}")) + " [default: mse]";
        var noise = new Option<double>("--noise") { Description = "Denoising: add Gaussian noise of this standard deviation to the inputs (clipped to [0, 1]); the targets stay the clean images", DefaultValueFactory = _ => 0.0, HelpName = "SIGMA" };
        var resume = new Option<string?>("--resume") { Description = "Continue an interrupted run (its checkpoint holds every option) to exactly the result of an uninterrupted one", HelpName = "DIR" };
        var runName = new Option<string?>("--run-name") { Description = "Name of the run directory [default: MODEL-DIGIT-sSEED-TIMESTAMP]", HelpName = "NAME" };
        var data = SharedOptions.Data();
        var runsDir = SharedOptions.RunsDir();
        var compute = new SharedOptions.ComputeSet();
        var json = SharedOptions.Json();
        var quiet = SharedOptions.Quiet();

        var command = new Command("train", "Train an autoencoder on one normal digit and write a run directory");
        foreach (Option o in split.All) command.Add(o);
        Option[] own = [model, .. settings, epochs, batchSize, lr, weightDecay, evalEvery, patience, keep, contamination, score.Option, noise, runName, resume, data, runsDir, .. compute.All, json, quiet];
        foreach (Option o in own) command.Add(o);

        command.SetAction(parse =>
        {
            ComputeOptions computeOptions = compute.Read(parse);
            Models.Architecture architecture = Architectures.Get(parse.GetValue(model)!);
            // Options the user did not give take the architecture's recipe (the tutorial's defaults for dense and conv).
            (TrainOptions recipe, double recipeValidation) = architecture.Recipe;
            bool Given(Option o) => parse.GetResult(o) is { Implicit: false };
            T Pick<T>(Option<T> o, T fallback) => Given(o) ? parse.GetValue(o)! : fallback;
            SplitOptions splitOptions = split.Read(parse);
            if (!Given(split.Validation) && recipeValidation != splitOptions.Validation)
            {
                splitOptions = splitOptions with { Validation = recipeValidation };
                Splitter.Validate(splitOptions);
            }
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
                Keep: !Given(keep) ? recipe.Keep : parse.GetValue(keep) switch
                {
                    "best" => KeepCheckpoint.Best,
                    "last" => KeepCheckpoint.Last,
                    var other => throw new UsageException($"--keep '{other}' is not a choice; use best or last"),
                },
                Contamination: Pick(contamination, recipe.Contamination),
                Score: score.Read(parse) ?? recipe.Score,
                Noise: Pick(noise, recipe.Noise));
            options.Validate();

            bool asJson = parse.GetValue(json), isQuiet = parse.GetValue(quiet) || asJson;
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(resume) is { } toResume)
                TrainJob.OpenResumable(toResume);  // a wrong directory fails before half a second goes on loading the data
            MnistDataset mnist = SharedOptions.LoadData(parse.GetValue(data));

            // Ctrl-C or SIGTERM: finish the current batch, save a checkpoint, exit 130.
            using var stop = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
            Console.CancelKeyPress += onCancel;
            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            TrainOutcome outcome;
            TrainProgress? progress = null;
            try
            {
                string? resumePath = parse.GetValue(resume);
                void Start(RunDirectory run, TrainRequest request)
                {
                    progress = new TrainProgress(output, isQuiet, request.Train.Epochs);
                    progress.Start(run, request, mnist, resumed: resumePath is not null);
                }
                outcome = resumePath is not null
                    ? TrainJob.Resume(resumePath, mnist, computeOptions.Threads, App.Engines, r => progress?.OnEpoch(r), Start, stop.Token)
                    : TrainJob.Execute(new TrainRequest(splitOptions, options, computeOptions, parse.GetValue(runsDir)!, parse.GetValue(runName)),
                        mnist, App.Engines, r => progress?.OnEpoch(r), Start, stop.Token);
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }

            TrainState state = outcome.Result.State;
            if (outcome.Result.Reason == StopReason.Interrupted)
            {
                if (asJson) output.WriteLine(Summary(outcome).ToJsonString(TrainJob.JsonOptions));
                throw new CliExitException(ExitCodes.Interrupted,
                    $"interrupted after {state.EpochsDone} epochs and {state.BatchesDone} batches; checkpoint saved in {outcome.Run.Path}. Resume with: aemnist train --resume {outcome.Run.Path}");
            }
            if (outcome.Result.Reason == StopReason.Diverged)
            {
                if (asJson) output.WriteLine(Summary(outcome).ToJsonString(TrainJob.JsonOptions));
                string kept = state.BestWeights is null
                    ? $"no evaluation succeeded before that, so {outcome.Run.ModelPath} holds the initial weights (epoch 0)"
                    : $"kept the best weights (epoch {state.BestEpoch}) in {outcome.Run.ModelPath}";
                throw new CliExitException(ExitCodes.DataError, $"{outcome.Result.Message}; {kept}");
            }
            progress!.Finish(outcome);
            if (asJson) output.WriteLine(Summary(outcome).ToJsonString(TrainJob.JsonOptions));
            return ExitCodes.Success;
        });
        return command;
    }

    private static JsonObject Summary(TrainOutcome outcome)
    {
        TrainState state = outcome.Result.State;
        return new JsonObject
        {
            ["run"] = outcome.Run.Path,
            ["model"] = outcome.Run.ModelPath,
            ["status"] = outcome.Result.Reason.ToString().ToLowerInvariant(),
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
