// The life of a training run around the Trainer's loop, as a small state machine. An attempt (one seed: its split,
// model, optimiser and state) trains until the Trainer stops; then the run is interrupted (commit, stop), retried
// (the model collapsed and --retry-collapsed allows another seed: a fresh attempt, committed, trains), or finished
// (choose the weights, fit the detector's threshold, commit the final checkpoint, write the files). The checkpoint is
// the one commit point: training commits after an evaluation it goes on from (at most every CheckpointInterval), when
// it is interrupted, and when it finishes; history.csv and run.json follow each commit.
using System.Diagnostics;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Optim;
using AeMnist.Scoring;
using AeMnist.Training;

namespace AeMnist.Runs;

/// <summary>What a training command hears while a run trains: its start, each epoch, and notes (a retry after a collapse).</summary>
public sealed record TrainObserver(Action<RunDirectory, TrainRequest>? OnStart = null, Action<EpochRecord>? OnEpoch = null, Action<string>? OnNote = null);

internal sealed class RunLifecycle(RunDirectory run, Dataset data, IEngine engine, TrainObserver observer)
{
    /// <summary>One seed's training: its request, split and images, model, optimiser and state.</summary>
    private sealed class Attempt(TrainRequest request, DataSplit split, float[] train, float[] monitor, IEngineModel model, IOptimizer optimizer, TrainState state)
    {
        public TrainRequest Request { get; } = request;
        public DataSplit Split { get; } = split;
        public float[] Train { get; } = train;
        public float[] Monitor { get; } = monitor;
        public IEngineModel Model { get; } = model;
        public IOptimizer Optimizer { get; } = optimizer;
        public TrainState State { get; } = state;
    }

    /// <summary>The weights a seed gives: PyTorch's default initialisation of the spec, drawn from our Rng.</summary>
    public static StateDict InitialWeights(ModelSpec spec, ulong seed) => spec.InitialWeights(new Rng(SeedStreams.Initialisation(seed)));

    /// <summary>A new model (initial weights of the request's seed) with a fresh optimiser and state; the caller disposes the model.</summary>
    public static (IEngineModel Model, IOptimizer Optimizer, TrainState State) Fresh(IEngine engine, TrainRequest request)
    {
        ModelSpec spec = request.Train.Spec();
        IEngineModel model = engine.Load(spec, InitialWeights(spec, request.Seed));
        try
        {
            return (model, model.CreateOptimizer(request.Train.Optimizer), Trainer.NewState(request.Seed));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Trains the attempt to its end (over retries), commits, and disposes its model.</summary>
    public TrainOutcome Run(TrainRequest request, DataSplit split, IEngineModel model, IOptimizer optimizer, TrainState state, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var attempt = new Attempt(request, split, data.Gather(split.Train), data.Gather(split.Monitor), model, optimizer, state);
        double dataSeconds = clock.Elapsed.TotalSeconds;
        observer.OnStart?.Invoke(run, request);
        try
        {
            while (true)
            {
                TrainResult result = Train(attempt, cancel);
                switch (result.Reason)
                {
                    case StopReason.Interrupted:
                        var interrupted = new TrainOutcome(attempt.Request, run, result, attempt.Split, double.NaN, dataSeconds, 0);
                        Guarded(() => Commit(attempt, "interrupted", interrupted));
                        return interrupted;
                    case StopReason.Collapsed:
                        attempt.Model.Dispose();
                        attempt = Retry(attempt, result);
                        Guarded(() => Commit(attempt, "running", null));
                        continue;
                    default:
                        return Finish(attempt, result, dataSeconds);
                }
            }
        }
        finally
        {
            attempt.Model.Dispose();
        }
    }

    private TrainResult Train(Attempt attempt, CancellationToken cancel)
    {
        TrainRequest request = attempt.Request;
        var trainer = new Trainer(attempt.Model, attempt.Optimizer, request.Train, attempt.Train, attempt.Monitor, request.Seed, stopOnCollapse: request.MayRetry,
            fitThreads: request.Compute.Threads);
        var sinceCommit = Stopwatch.StartNew();
        try
        {
            return trainer.Run(attempt.State, end =>
            {
                observer.OnEpoch?.Invoke(end.Record);
                // Commit after an evaluation that training goes on from, so a killed run loses little.
                if (end.Record.MonitorLoss is not null && end.Continues && sinceCommit.Elapsed >= request.CheckpointInterval)
                {
                    Guarded(() => Commit(attempt, "running", null));
                    sinceCommit.Restart();
                }
            }, cancel);
        }
        catch (OutOfMemoryException e) when (e is not InsufficientMemoryException)
        {
            throw new InsufficientMemoryException(TrainingMemory.Explain(request.Train.Spec(), request.Train, attempt.Split, request.Compute.Threads), e);
        }
    }

    // The next seed: train again from scratch in the same run directory, and say so.
    private Attempt Retry(Attempt collapsed, TrainResult result)
    {
        TrainRequest next = collapsed.Request.NextAttempt();
        observer.OnNote?.Invoke($"{result.Message}; training again with seed {next.Seed} (--retry-collapsed, attempt {next.CollapsedSeeds.Count + 1} of {next.RetryCollapsed + 1})");
        DataSplit split = Splitter.Split(data, next.Split);
        var (model, optimizer, state) = Fresh(engine, next);
        return new Attempt(next, split, data.Gather(split.Train), data.Gather(split.Monitor), model, optimizer, state);
    }

    // Diverged weights are never saved: fall back to the best evaluated weights or, when no evaluation succeeded before the
    // loss diverged, to this seed's initial weights (epoch 0). Then the detector's threshold, the collapse probe, one final
    // checkpoint (the commit), and the files.
    private TrainOutcome Finish(Attempt attempt, TrainResult result, double dataSeconds)
    {
        TrainRequest request = attempt.Request;
        TrainOptions options = request.Train;
        IEngineModel model = attempt.Model;
        TrainState state = attempt.State;
        bool useBest = options.Keep == KeepCheckpoint.Best || result.Reason == StopReason.Diverged;
        if (useBest && state.BestWeights is { } best)
            model.LoadStateDict(best);
        else if (result.Reason == StopReason.Diverged)
            model.LoadStateDict(InitialWeights(model.Spec, request.Seed));

        var clock = Stopwatch.StartNew();
        ScoreCalibration? calibration = null;
        if (Scores.NeedsCalibration(options.Score))
        {
            // The combined score's scale, from normal images only: the validation split's, else the train split's normal images.
            (int[] normals, string source) = EvaluateJob.CalibrationImages(data, attempt.Split);
            calibration = Detector.Calibrate(model, data.Gather(normals), normals.Length, source, run.ModelPath, i => data.Describe(normals[i]), request.Compute.Threads);
        }
        float[] trainScores = ModelScores.Compute(model, [options.Score], attempt.Train, attempt.Split.Train.Length, Detector.ImageShapeOf(model.Spec), calibration, request.Compute.Threads)[0];
        ModelHealth.CheckFinite(trainScores, run.ModelPath, i => $"train image {attempt.Split.Train[i]}");
        double threshold = Evaluation.Thresholds.FromContamination(trainScores, options.Contamination);
        double thresholdSeconds = clock.Elapsed.TotalSeconds;
        int probe = Math.Min(attempt.Split.Monitor.Length, ModelHealth.ProbeImages);
        bool collapsed = ModelHealth.IsConstant(model, attempt.Monitor.AsSpan(0, probe * model.Spec.Input.Length), probe);

        var outcome = new TrainOutcome(request, run, result, attempt.Split, threshold, dataSeconds, thresholdSeconds) { Collapsed = collapsed, Calibration = calibration };
        var contents = new CheckpointContents(request, model.StateDict(), new StateDict([]), 0, state)
        {
            Final = new FinalRun(ModelMetadataOf(request, threshold, collapsed, calibration), RunRecord.Write(request, outcome, data, RunRecord.StatusName(result.Reason)).ToJsonString(RunRecord.JsonOptions),
                result.Reason, result.Message),
        };
        Guarded(() => Checkpoint.Save(run.CheckpointPath, contents));
        WriteFinished(run, contents, contents.Final);
        return outcome;
    }

    /// <summary>The metadata model.safetensors records for a run's request, threshold and (combined score) calibration.</summary>
    public static ModelMetadata ModelMetadataOf(TrainRequest request, double threshold, bool collapsed, ScoreCalibration? calibration = null) =>
        new(request.Train.Architecture, request.Train.ResolvedSettings, request.Split.Normal, SplitOptions.ProtocolName(request.Split.Protocol),
            request.Seed, threshold, request.Split, request.Train.Score)
        {
            Collapsed = collapsed,
            Calibration = calibration,
            Image = request.Train.ResolvedImage,
            NormalClass = request.NormalClass,
            Resize = request.Data?.Rules.Size is not null,
            Invert = request.Data?.Rules.Invert == true,
        };

    /// <summary>
    /// Everything a finished run writes after its final checkpoint: a run killed (or out of space) in here is completed by
    /// `train --resume`, which calls this again.
    /// </summary>
    public static void WriteFinished(RunDirectory run, CheckpointContents contents, FinalRun final)
    {
        try
        {
            run.WriteHistory(contents.State.History);
            DetectorFile.Save(run.ModelPath, contents.Weights, final.Model);
            AtomicFile.WriteAllText(run.RunPath, final.RunJson);
            File.Delete(run.CheckpointPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{e.Message}; training finished, but the run's files are not all written: free the space (or fix the cause) and complete them with aemnist train --resume {run.Path}", e);
        }
    }

    // A commit (checkpoint) that fails leaves the previous one in place: say so, and how to go on.
    private void Guarded(Action commit)
    {
        try
        {
            commit();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{e.Message}; the run keeps its previous checkpoint, from which aemnist train --resume {run.Path} continues", e);
        }
    }

    // One commit: the checkpoint (the state), then history.csv and run.json from it.
    private void Commit(Attempt attempt, string status, TrainOutcome? outcome) =>
        Commit(run, attempt.Request, attempt.Model, attempt.Optimizer, attempt.State, attempt.Split, data, status, outcome);

    /// <summary>One commit of a run's state: the checkpoint, then history.csv, and run.json when it says something new.</summary>
    public static void Commit(RunDirectory run, TrainRequest request, IEngineModel model, IOptimizer optimizer, TrainState state, DataSplit split, Dataset data,
        string status, TrainOutcome? outcome)
    {
        Checkpoint.Save(run.CheckpointPath, new CheckpointContents(request, model.StateDict(), optimizer.StateDict(), optimizer.StepCount, state));
        run.WriteHistory(state.History);
        if (outcome is not null || !File.Exists(run.RunPath) || status != "running")
            AtomicFile.WriteAllText(run.RunPath, RunRecord.Write(request, outcome ?? new TrainOutcome(request, run, new TrainResult(StopReason.Interrupted, state, 0, null), split, double.NaN, 0, 0), data, status)
                .ToJsonString(RunRecord.JsonOptions));
    }
}
