// `aemnist train` as a library call: split the data, build the model on its engine, and hand it to the run's lifecycle
// (Runs/RunLifecycle), which trains, commits and writes the run directory. A new run directory appears (by one rename)
// with its first checkpoint; `train --resume` goes on from the last checkpoint to the same bytes as an uninterrupted
// run, or, when training had finished, writes the files that were still missing. The request is trusted: it was
// validated where it was made (the CLI, a benchmark configuration, a checkpoint).
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Optim;
using AeMnist.Training;

namespace AeMnist.Runs;

public sealed record TrainOutcome(
    TrainRequest Request,
    RunDirectory Run,
    TrainResult Result,
    DataSplit Split,
    double Threshold,
    double DataSeconds,
    double ThresholdSeconds)
{
    /// <summary>The saved model reconstructs every image as the same image.</summary>
    public bool Collapsed { get; init; }

    /// <summary>Training had already finished; this call only wrote the files still missing.</summary>
    public bool CompletedOnly { get; init; }

    /// <summary>The combined score's calibration learnt from the normal images (runs trained with --score combined).</summary>
    public Scoring.ScoreCalibration? Calibration { get; init; }
}

/// <summary>A run directory locked for resuming, with its validated checkpoint; dispose to release the lock.</summary>
public sealed class ResumableRun(RunDirectory run, FileLock held, CheckpointContents contents) : IDisposable
{
    public RunDirectory Run { get; } = run;

    public CheckpointContents Contents { get; } = contents;

    public void Dispose() => held.Dispose();
}

public static class TrainJob
{
    /// <summary>The weights a seed gives: PyTorch's default initialisation of the spec, drawn from our Rng.</summary>
    public static StateDict InitialWeights(ModelSpec spec, ulong seed) => RunLifecycle.InitialWeights(spec, seed);

    /// <summary>Trains a new run of <paramref name="request"/> (whose compute options the catalog has validated) on <paramref name="data"/>.</summary>
    public static TrainOutcome Execute(TrainRequest request, Dataset data, EngineCatalog? engines = null, Action<EpochRecord>? onEpoch = null,
        Action<RunDirectory, TrainRequest>? onStart = null, CancellationToken cancel = default, Action<string>? onNote = null)
    {
        engines ??= NativeEngine.Catalog;
        // The data's checksum, and how to read it again (the caller's --input paths and rules, kept when it gave them).
        request = request with { Data = (request.Data ?? new DataRecord(Path.GetFullPath(data.Directory), "")) with { Sha256 = data.Sha256 } };
        DataSplit split = Splitter.Split(data, request.Split);
        // Early stopping watches the validation split, else the test split: a model that trains needs images in one of
        // them (else every monitored loss is the mean of nothing, NaN, and the run would be called diverged).
        if (!request.Train.Architecture.FitsExactly && split.Monitor.Length == 0)
            throw new ArgumentException($"early stopping has nothing to watch: the split has no validation images and no test images (the data has no test part, and no {data.ClassNoun} other than {IO.MessageText.Quote(data.ClassNames[request.Split.Normal], 40)} to test against); pass --validation 0.1");
        TrainingMemory.Check(request.Train.Spec(), request.Train, split, request.Compute.Threads);
        if (Scoring.Scores.NeedsCalibration(request.Train.Score)) EvaluateJob.CalibrationImages(data, split);  // enough normal images to learn from, before training
        using IEngine engine = engines.Create(request.Compute);
        var (model, optimizer, state) = RunLifecycle.Fresh(engine, request);
        RunDirectory run;
        FileLock held;
        try
        {
            (run, held) = RunDirectory.Create(request.RunsDirectory, request.RunName,
                RunDirectory.DefaultName(request.Train.Model, request.NormalClass ?? request.Split.Normal.ToString(System.Globalization.CultureInfo.InvariantCulture), request.Seed, DateTime.UtcNow),
                staging => RunLifecycle.Commit(staging, request, model, optimizer, state, split, data, "running", null));
        }
        catch
        {
            model.Dispose();
            throw;
        }
        using (held)
            return new RunLifecycle(run, data, engine, new TrainObserver(onStart, onEpoch, onNote)).Run(request, split, model, optimizer, state, cancel);
    }

    /// <summary>
    /// The run at <paramref name="runPath"/>, locked for this process, with its checkpoint read and every field checked;
    /// a missing, finished, busy or damaged run is a one-line error. Cheap, so callers check before loading data.
    /// </summary>
    public static ResumableRun OpenResumable(string runPath)
    {
        RunDirectory.CheckIsDirectory(runPath);
        var run = new RunDirectory(runPath);
        RunState state = run.State;
        if (state == RunState.Finished)
            throw new DataFormatException($"{runPath}: this run already finished; nothing to resume");
        if (state == RunState.NotARun)
            throw new DataFormatException(File.Exists(run.LockPath)
                ? $"{runPath}: no checkpoint here; the run was stopped before it saved anything, so there is nothing to resume (train it again)"
                : RunDirectory.HoldsRuns(runPath)
                    ? $"{runPath}: no checkpoint here; this is a runs directory, not a run: resume one of its runs (aemnist train --resume {Path.Combine(runPath, "NAME")})"
                    : $"{runPath}: no checkpoint here; only an interrupted run can be resumed");
        FileLock held = run.Lock();
        try
        {
            // Now that no other process can change it, read it again: another resume may have finished it meanwhile.
            if (run.State == RunState.Finished)
                throw new DataFormatException($"{runPath}: this run already finished; nothing to resume");
            AtomicFile.RemoveStaleTemporaries(run.Path);
            CheckpointContents contents = Checkpoint.Load(run.CheckpointPath, run.ReadHistory);
            return new ResumableRun(run, held, contents);
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Continues an interrupted run from its checkpoint, to the same result as an uninterrupted run (or, when training had
    /// finished, writes the files that were still missing). Every option comes from the checkpoint, the engine included,
    /// except the thread count, which changes no result on the native engine: <paramref name="threads"/> replaces it. The
    /// data must be the data the run was trained on (same checksum).
    /// </summary>
    public static TrainOutcome Resume(ResumableRun resumable, Dataset data, int? threads = null, EngineCatalog? engines = null,
        Action<EpochRecord>? onEpoch = null, Action<RunDirectory, TrainRequest>? onStart = null, CancellationToken cancel = default, Action<string>? onNote = null,
        TimeSpan? checkpointInterval = null)
    {
        RunDirectory run = resumable.Run;
        CheckpointContents saved = resumable.Contents;
        TrainRequest request = saved.Request;
        if (checkpointInterval is { } interval) request = request with { CheckpointInterval = interval };
        CheckData(request, data, run.Path);
        DataSplit split = Splitter.Split(data, request.Split);
        if (saved.Final is { } final)
        {
            RunLifecycle.WriteFinished(run, saved, final);
            var result = new TrainResult(final.Reason, saved.State, 0, final.Message);
            return new TrainOutcome(request, run, result, split, final.Model.Threshold ?? double.NaN, 0, 0) { Collapsed = final.Model.Collapsed, CompletedOnly = true, Calibration = final.Model.Calibration };
        }
        Checkpoint.CheckPosition(saved, split.Train.Length, run.CheckpointPath);
        engines ??= NativeEngine.Catalog;
        // The engine and device are the checkpoint's (one this build cannot run is the checkpoint's problem, said as such);
        // the thread count is the user's, checked as an option.
        try { engines.Validate(request.Compute with { Threads = 1 }); }
        catch (Exception e) when (e is ArgumentException or EngineUnavailableException)
        {
            throw new DataFormatException($"{run.CheckpointPath}: the run was trained with --engine {MessageText.Quote(request.Compute.Engine, 40)} --device {MessageText.Quote(request.Compute.Device, 40)}, which this build cannot continue ({(e is EngineUnavailableException ? "it has no torch engine; resume with a build made with -p:WithTorch=true" : e.Message)})");
        }
        request = request with { Compute = engines.Validate(request.Compute with { Threads = threads ?? request.Compute.Threads }) };
        TrainingMemory.Check(request.Train.Spec(), request.Train, split, request.Compute.Threads);
        using IEngine engine = engines.Create(request.Compute);
        IEngineModel model = engine.Load(request.Train.Spec(), saved.Weights);
        IOptimizer optimizer;
        try
        {
            optimizer = model.CreateOptimizer(request.Train.Optimizer);
            optimizer.LoadStateDict(saved.OptimizerState, saved.OptimizerSteps);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new RunLifecycle(run, data, engine, new TrainObserver(onStart, onEpoch, onNote)).Run(request, split, model, optimizer, saved.State, cancel);
    }

    /// <summary>The data must be the run's own: the same checksum as recorded when it started.</summary>
    public static void CheckData(TrainRequest request, Dataset data, string runPath)
    {
        if (request.Data is { } recorded && recorded.Sha256 != data.Sha256)
            throw new DataFormatException(
                $"{data.Directory}: these {(data.Source.IsMnist ? "MNIST " : "")}files are not the ones {runPath} was trained on ({recorded.Directory}, sha256 {recorded.Sha256[..12]}...); pass --data {recorded.Directory}");
    }
}
