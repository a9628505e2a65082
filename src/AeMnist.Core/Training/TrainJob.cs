// `aemnist train` as a library call: split the data, build and train the model, choose the default threshold, and
// write the run directory. The checkpoint is the run's one commit point: the directory appears (by one rename)
// with its first checkpoint, training commits a new one after every evaluation and on an interruption, and a
// finished run commits a final one before it writes model.safetensors, history.csv and run.json from it. So at
// every instant the directory holds one complete state, and `train --resume` goes on from it: to the same bytes as
// an uninterrupted run, or, when training had finished, by writing the files that were still missing.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Evaluation;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Optim;

namespace AeMnist.Training;

/// <summary>The data a run was trained on: its directory and the checksum of its contents (<see cref="MnistDataset.Sha256"/>).</summary>
public sealed record DataRecord(string Directory, string Sha256);

/// <summary>A training run: the split (which holds the run's one seed), the training options, the engine, and where it goes.</summary>
public sealed record TrainRequest(SplitOptions Split, TrainOptions Train, ComputeOptions Compute, string RunsDirectory, string? RunName = null)
{
    /// <summary>The most retries --retry-collapsed may ask for.</summary>
    public const int MaxRetries = 10;

    public ulong Seed => Split.Seed;

    /// <summary>How many times a collapsed model is trained again with the next seed (--retry-collapsed).</summary>
    public int RetryCollapsed { get; init; }

    /// <summary>The seeds tried before this one whose models collapsed, in order; the first is the seed the user gave.</summary>
    public IReadOnlyList<ulong> CollapsedSeeds { get; init; } = [];

    /// <summary>The data the run trains on (set when it starts).</summary>
    public DataRecord? Data { get; init; }

    /// <summary>
    /// Training commits a checkpoint after an evaluation when at least this long has passed since the last commit (each
    /// costs a flush to disk); it always commits when it starts, stops or is interrupted. Not recorded: it changes no result.
    /// </summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(30);
}

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
    /// <summary>Indented, and without escaping '>' or non-ASCII text: the JSON is read by people and scripts, not embedded in HTML.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The weights a seed gives: PyTorch's default initialisation of the spec, drawn from our Rng.</summary>
    public static StateDict InitialWeights(ModelSpec spec, ulong seed) => spec.InitialWeights(new Rng(SeedStreams.Initialisation(seed)));

    public static TrainOutcome Execute(TrainRequest request, MnistDataset data, EngineCatalog? engines = null, Action<EpochRecord>? onEpoch = null,
        Action<RunDirectory, TrainRequest>? onStart = null, CancellationToken cancel = default, Action<string>? onNote = null)
    {
        request.Train.Validate();
        Splitter.Validate(request.Split);
        RunDirectory.CheckName(request.RunName);
        if (request.RetryCollapsed is < 0 or > TrainRequest.MaxRetries)
            throw new ArgumentException($"--retry-collapsed {request.RetryCollapsed} must be 0-{TrainRequest.MaxRetries}");
        engines ??= NativeEngine.Catalog;
        request = request with { Compute = engines.Validate(request.Compute), Data = new DataRecord(Path.GetFullPath(data.Directory), data.Sha256) };
        ModelSpec spec = request.Train.Spec();
        DataSplit split = Splitter.Split(data.Labels, data.TrainCount, request.Split);
        TrainingMemory.Check(spec, request.Train, split, request.Compute.Threads);
        using IEngine engine = engines.Create(request.Compute);
        IEngineModel model = engine.Load(spec, InitialWeights(spec, request.Seed));
        RunDirectory run;
        FileLock held;
        IOptimizer optimizer;
        TrainState state;
        try
        {
            optimizer = model.CreateAdam(AdamOptions(request.Train));
            state = Trainer.NewState(request.Seed);
            (run, held) = RunDirectory.Create(request.RunsDirectory, request.RunName,
                RunDirectory.DefaultName(request.Train.Model, request.Split.Normal, request.Seed, DateTime.UtcNow),
                staging => Commit(staging, request, model, optimizer, state, split, data, "running", null));
        }
        catch
        {
            model.Dispose();
            throw;
        }
        using (held)
            return Continue(request, data, split, run, engine, model, optimizer, state, onEpoch, onStart, onNote, cancel);
    }

    /// <summary>
    /// The run at <paramref name="runPath"/>, locked for this process, with its checkpoint read and every field checked;
    /// a missing, finished, busy or damaged run is a one-line error. Cheap, so callers check before loading data.
    /// </summary>
    public static ResumableRun OpenResumable(string runPath)
    {
        FileKind kind = FileKinds.Of(runPath);
        if (kind == FileKind.Missing)
            throw new DataFormatException($"{runPath}: run directory not found");
        if (kind != FileKind.Directory)
            throw new DataFormatException($"{runPath}: is {FileKinds.Describe(kind)}, not a run directory");
        var run = new RunDirectory(runPath);
        RunState state = run.State;
        if (state == RunState.Finished)
            throw new DataFormatException($"{runPath}: this run already finished; nothing to resume");
        if (state == RunState.NotARun)
            throw new DataFormatException(File.Exists(run.LockPath)
                ? $"{runPath}: no checkpoint here; the run was stopped before it saved anything, so there is nothing to resume (train it again)"
                : Directory.EnumerateDirectories(runPath).Any(d => File.Exists(Path.Combine(d, RunDirectory.CheckpointFileName)) || File.Exists(Path.Combine(d, RunDirectory.ModelFileName)))
                    ? $"{runPath}: no checkpoint here; this is a runs directory, not a run: resume one of its runs (aemnist train --resume {Path.Combine(runPath, "NAME")})"
                    : $"{runPath}: no checkpoint here; only an interrupted run can be resumed");
        FileLock held = run.Lock();
        try
        {
            // Now that no other process can change it, read it again: another resume may have finished it meanwhile.
            if (run.State == RunState.Finished)
                throw new DataFormatException($"{runPath}: this run already finished; nothing to resume");
            AtomicFile.RemoveStaleTemporaries(run.Path);
            CheckpointContents contents = Checkpoint.Load(run.CheckpointPath, () => RunDirectory.ReadHistory(run.HistoryPath));
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
    public static TrainOutcome Resume(ResumableRun resumable, MnistDataset data, int? threads = null, EngineCatalog? engines = null,
        Action<EpochRecord>? onEpoch = null, Action<RunDirectory, TrainRequest>? onStart = null, CancellationToken cancel = default, Action<string>? onNote = null,
        TimeSpan? checkpointInterval = null)
    {
        RunDirectory run = resumable.Run;
        CheckpointContents saved = resumable.Contents;
        TrainRequest request = saved.Request;
        if (checkpointInterval is { } interval) request = request with { CheckpointInterval = interval };
        CheckData(request, data, run.Path);
        DataSplit split = Splitter.Split(data.Labels, data.TrainCount, request.Split);
        if (saved.Final is { } final)
        {
            WriteFinished(run, saved, final);
            var result = new TrainResult(final.Reason, saved.State, 0, final.Message);
            return new TrainOutcome(request, run, result, split, final.Model.Threshold ?? double.NaN, 0, 0) { Collapsed = final.Model.Collapsed, CompletedOnly = true };
        }
        Checkpoint.CheckPosition(saved, split.Train.Length, run.CheckpointPath);
        if (threads is { } count) request = request with { Compute = request.Compute with { Threads = count } };
        engines ??= NativeEngine.Catalog;
        try { request = request with { Compute = engines.Validate(request.Compute with { Threads = 1 }) with { Threads = request.Compute.Threads } }; }
        catch (Exception e) when (e is ArgumentException or EngineUnavailableException)
        {
            throw new DataFormatException($"{run.CheckpointPath}: the run was trained with --engine {MessageText.Quote(request.Compute.Engine, 40)} --device {MessageText.Quote(request.Compute.Device, 40)}, which this build cannot continue ({(e is EngineUnavailableException ? "it has no torch engine; resume with a build made with -p:WithTorch=true" : e.Message)})");
        }
        request = request with { Compute = engines.Validate(request.Compute) };  // the thread count (the user's) is checked as an option
        TrainingMemory.Check(request.Train.Spec(), request.Train, split, request.Compute.Threads);
        using IEngine engine = engines.Create(request.Compute);
        IEngineModel model = engine.Load(request.Train.Spec(), saved.Weights);
        IOptimizer optimizer;
        try
        {
            optimizer = model.CreateAdam(AdamOptions(request.Train));
            optimizer.LoadStateDict(saved.OptimizerState, saved.OptimizerSteps);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return Continue(request, data, split, run, engine, model, optimizer, saved.State, onEpoch, onStart, onNote, cancel);
    }

    /// <summary>The data must be the run's own: the same checksum as recorded when it started.</summary>
    public static void CheckData(TrainRequest request, MnistDataset data, string runPath)
    {
        if (request.Data is { } recorded && recorded.Sha256 != data.Sha256)
            throw new DataFormatException(
                $"{data.Directory}: these MNIST files are not the ones {runPath} was trained on ({recorded.Directory}, sha256 {recorded.Sha256[..12]}...); pass --data {recorded.Directory}");
    }

    private static AdamOptions AdamOptions(TrainOptions options) => new(LearningRate: options.LearningRate, WeightDecay: options.WeightDecay);

    // Trains until the run stops, commits its state, and disposes the model (a retry after a collapse replaces it).
    private static TrainOutcome Continue(TrainRequest request, MnistDataset data, DataSplit split, RunDirectory run, IEngine engine, IEngineModel model,
        IOptimizer optimizer, TrainState state, Action<EpochRecord>? onEpoch, Action<RunDirectory, TrainRequest>? onStart, Action<string>? onNote, CancellationToken cancel)
    {
        try
        {
            return Train(request, data, split, run, engine, ref model, optimizer, state, onEpoch, onStart, onNote, cancel);
        }
        finally
        {
            model.Dispose();
        }
    }

    private static TrainOutcome Train(TrainRequest request, MnistDataset data, DataSplit split, RunDirectory run, IEngine engine, ref IEngineModel model,
        IOptimizer optimizer, TrainState state, Action<EpochRecord>? onEpoch, Action<RunDirectory, TrainRequest>? onStart, Action<string>? onNote, CancellationToken cancel)
    {
        TrainOptions options = request.Train;
        var clock = Stopwatch.StartNew();
        float[] train = data.Gather(split.Train);
        float[] monitor = data.Gather(split.Monitor);
        double dataSeconds = clock.Elapsed.TotalSeconds;
        onStart?.Invoke(run, request);
        var sinceCommit = Stopwatch.StartNew();

        while (true)
        {
            IEngineModel current = model;
            bool retry = request.CollapsedSeeds.Count < request.RetryCollapsed;
            var trainer = new Trainer(current, optimizer, options, train, monitor, request.Seed, stopOnCollapse: retry);
            // Allocation is measured from the end of the first epoch (when every buffer exists) to the end.
            int collectionsBefore = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);
            long allocatedAfterFirst = -1;
            int epochsAtFirst = 0;
            TrainRequest attempt = request;
            TrainResult result;
            try
            {
                result = options.Architecture.FitsExactly
                    ? Fit(current, options, train, split.Train.Length, monitor, split.Monitor.Length, state, onEpoch)
                    : trainer.Run(state, record =>
                {
                    if (allocatedAfterFirst < 0) { allocatedAfterFirst = GC.GetTotalAllocatedBytes(precise: true); epochsAtFirst = record.Epoch; }
                    onEpoch?.Invoke(record);
                    // Commit after every evaluation that training goes on from, so a killed run loses little.
                    bool stopping = record.Epoch >= options.Epochs || state.BadEvaluations >= options.Patience
                        || (retry && state.ConstantEvaluations >= Trainer.CollapseEvaluations);
                    if (record.MonitorLoss is not null && !stopping && sinceCommit.Elapsed >= attempt.CheckpointInterval)
                    {
                        Guarded(run, () => Commit(run, attempt, current, optimizer, state, split, data, "running", null));
                        sinceCommit.Restart();
                    }
                }, cancel);
            }
            catch (OutOfMemoryException e) when (e is not InsufficientMemoryException)
            {
                throw new InsufficientMemoryException(TrainingMemory.Explain(options.Spec(), options, split, request.Compute.Threads), e);
            }
            int laterEpochs = state.EpochsDone - epochsAtFirst;
            result = result with
            {
                AllocatedBytesPerEpoch = allocatedAfterFirst >= 0 && laterEpochs > 0
                    ? (GC.GetTotalAllocatedBytes(precise: true) - allocatedAfterFirst) / (double)laterEpochs : double.NaN,
                GcCollections = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2) - collectionsBefore,
            };

            if (result.Reason == StopReason.Interrupted)
            {
                var interrupted = new TrainOutcome(request, run, result, split, double.NaN, dataSeconds, 0);
                IEngineModel stopped = model;
                TrainRequest stoppedRequest = request;
                DataSplit stoppedSplit = split;
                Guarded(run, () => Commit(run, stoppedRequest, stopped, optimizer, state, stoppedSplit, data, "interrupted", interrupted));
                return interrupted;
            }

            if (result.Reason == StopReason.Collapsed)
            {
                // The next seed: train again from scratch in the same run directory, and say so.
                ulong collapsedSeed = request.Seed, next = collapsedSeed + 1;
                while (request.CollapsedSeeds.Contains(next) || next == collapsedSeed) next++;
                request = request with { Split = request.Split with { Seed = next }, CollapsedSeeds = [.. request.CollapsedSeeds, collapsedSeed] };
                onNote?.Invoke($"{result.Message}; training again with seed {next} (--retry-collapsed, attempt {request.CollapsedSeeds.Count + 1} of {request.RetryCollapsed + 1})");
                split = Splitter.Split(data.Labels, data.TrainCount, request.Split);
                train = data.Gather(split.Train);
                monitor = data.Gather(split.Monitor);
                model.Dispose();
                ModelSpec spec = options.Spec();
                model = engine.Load(spec, InitialWeights(spec, next));
                optimizer = model.CreateAdam(AdamOptions(options));
                state = Trainer.NewState(next);
                IEngineModel fresh = model;
                IOptimizer freshOptimizer = optimizer;
                TrainState freshState = state;
                TrainRequest retried = request;
                DataSplit freshSplit = split;
                Guarded(run, () => Commit(run, retried, fresh, freshOptimizer, freshState, freshSplit, data, "running", null));
                continue;
            }
            return Finish(request, data, split, train, run, model, state, result, dataSeconds);
        }
    }

    // Diverged weights are never saved: fall back to the best evaluated weights or, when no evaluation succeeded before
    // the loss diverged, to this seed's initial weights (epoch 0). Then one final checkpoint (the commit), and the files.
    // train: the train split's images, gathered once for training.
    private static TrainOutcome Finish(TrainRequest request, MnistDataset data, DataSplit split, float[] train, RunDirectory run, IEngineModel model,
        TrainState state, TrainResult result, double dataSeconds)
    {
        TrainOptions options = request.Train;
        bool useBest = options.Keep == KeepCheckpoint.Best || result.Reason == StopReason.Diverged;
        if (useBest && state.BestWeights is { } best)
            model.LoadStateDict(best);
        else if (result.Reason == StopReason.Diverged)
            model.LoadStateDict(InitialWeights(model.Spec, request.Seed));

        var clock = Stopwatch.StartNew();
        float[] trainErrors = new float[split.Train.Length];
        AnomalyScore.Compute(model, options.Score, train, split.Train.Length, trainErrors);
        ModelHealth.CheckFinite(trainErrors, run.ModelPath, i => $"train image {split.Train[i]}");
        double threshold = Thresholds.FromContamination(trainErrors, options.Contamination);
        double thresholdSeconds = clock.Elapsed.TotalSeconds;
        float[] probe = data.Gather(split.Monitor.AsSpan(0, Math.Min(split.Monitor.Length, ModelHealth.ProbeImages)));
        bool collapsed = ModelHealth.IsConstant(model, probe, probe.Length / MnistDataset.PixelsPerImage);

        var outcome = new TrainOutcome(request, run, result, split, threshold, dataSeconds, thresholdSeconds) { Collapsed = collapsed };
        ModelMetadata metadata = ModelMetadataOf(request, threshold, collapsed);
        var contents = new CheckpointContents(request, model.StateDict(), new StateDict([]), 0, state)
        {
            Final = new FinalRun(metadata, RunJson(request, outcome, data, StatusName(result.Reason)).ToJsonString(JsonOptions), result.Reason, result.Message),
        };
        Guarded(run, () => Checkpoint.Save(run.CheckpointPath, contents));
        WriteFinished(run, contents, contents.Final);
        return outcome;
    }

    // An architecture fitted in closed form (pca): one "epoch" that computes the weights, recorded like a trained one.
    private static TrainResult Fit(IEngineModel model, TrainOptions options, float[] train, int trainCount, float[] monitor, int monitorCount,
        TrainState state, Action<EpochRecord>? onEpoch)
    {
        var clock = Stopwatch.StartNew();
        model.LoadStateDict(options.Architecture.Fit(model.Spec, train, trainCount));
        double Mean(float[] images, int n)
        {
            if (n == 0) return double.NaN;
            var errors = new float[n];
            model.ReconstructionErrors(images, n, errors);
            return errors.Average(e => (double)e);
        }
        double trainLoss = Mean(train, trainCount), monitorLoss = Mean(monitor, monitorCount);
        var record = new EpochRecord(1, trainLoss, double.IsFinite(monitorLoss) ? monitorLoss : null, clock.Elapsed.TotalSeconds, Improved: true);
        state.History.Add(record);
        state.EpochsDone = 1;
        state.BestEpoch = 1;
        state.BestMonitorLoss = monitorLoss;
        state.BestWeights = model.StateDict();
        onEpoch?.Invoke(record);
        return new TrainResult(StopReason.Completed, state, clock.Elapsed.TotalSeconds, null);
    }

    /// <summary>The metadata model.safetensors records for a run's request and threshold.</summary>
    public static ModelMetadata ModelMetadataOf(TrainRequest request, double threshold, bool collapsed) =>
        new(request.Train.Architecture, request.Train.ResolvedSettings, request.Split.Normal, SplitOptions.ProtocolName(request.Split.Protocol),
            request.Seed, threshold, request.Split, request.Train.Score) { Collapsed = collapsed };

    // Everything a finished run writes after its final checkpoint: a run killed (or out of space) in here is completed by
    // `train --resume`, which calls this again.
    private static void WriteFinished(RunDirectory run, CheckpointContents contents, FinalRun final)
    {
        try
        {
            run.WriteHistory(contents.State.History);
            ModelFile.Save(run.ModelPath, contents.Weights, final.Model);
            AtomicFile.WriteAllText(run.RunPath, final.RunJson);
            File.Delete(run.CheckpointPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{e.Message}; training finished, but the run's files are not all written: free the space (or fix the cause) and complete them with aemnist train --resume {run.Path}", e);
        }
    }

    // A commit (checkpoint) that fails leaves the previous one in place: say so, and how to go on.
    private static void Guarded(RunDirectory run, Action commit)
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
    private static void Commit(RunDirectory run, TrainRequest request, IEngineModel model, IOptimizer optimizer, TrainState state,
        DataSplit split, MnistDataset data, string status, TrainOutcome? outcome)
    {
        Checkpoint.Save(run.CheckpointPath, new CheckpointContents(request, model.StateDict(), optimizer.StateDict(), optimizer.StepCount, state));
        run.WriteHistory(state.History);
        if (outcome is not null || !File.Exists(run.RunPath) || status != "running")
            AtomicFile.WriteAllText(run.RunPath, RunJson(request, outcome ?? new TrainOutcome(request, run, new TrainResult(StopReason.Interrupted, state, 0, null), split, double.NaN, 0, 0), data, status)
                .ToJsonString(JsonOptions));
    }

    /// <summary>run.json's "status" for a stop reason: completed, early-stopped, interrupted, diverged.</summary>
    public static string StatusName(StopReason reason) => reason switch
    {
        StopReason.Completed => "completed",
        StopReason.EarlyStopped => "early-stopped",
        StopReason.Interrupted => "interrupted",
        StopReason.Collapsed => "collapsed",
        _ => "diverged",
    };

    /// <summary>The stop reason of a finished run's status, or null.</summary>
    public static StopReason? ParseStatus(string status) => status switch
    {
        "completed" => StopReason.Completed,
        "early-stopped" => StopReason.EarlyStopped,
        "diverged" => StopReason.Diverged,
        _ => null,
    };

    /// <summary>run.json: every option, the split's definition, the data, versions, timings and the machine.</summary>
    public static JsonObject RunJson(TrainRequest request, TrainOutcome outcome, MnistDataset data, string? status = null)
    {
        TrainOptions o = request.Train;
        SplitOptions s = request.Split;
        TrainState state = outcome.Result.State;
        return new JsonObject
        {
            ["aemnist_version"] = ModelMetadata.ToolVersion,
            ["created_utc"] = DateTime.UtcNow.ToString("O"),
            ["status"] = status ?? StatusName(outcome.Result.Reason),
            ["options"] = OptionsJson(request),
            ["split"] = new JsonObject
            {
                ["options"] = Checkpoint.SplitJson(s),
                ["train_count"] = outcome.Split.Train.Length,
                ["validation_count"] = outcome.Split.Validation.Length,
                ["test_count"] = outcome.Split.Test.Length,
                ["monitor"] = outcome.Split.MonitorsTest ? "test" : "validation",
                ["indices_sha256"] = IndicesHash(outcome.Split),
                // Indices into the pooled 70,000 images (training file 0-59,999, test file 60,000-69,999).
                ["indices"] = new JsonObject
                {
                    ["train"] = IndexArray(outcome.Split.Train),
                    ["validation"] = IndexArray(outcome.Split.Validation),
                    ["test"] = IndexArray(outcome.Split.Test),
                },
                ["data_directory"] = Path.GetFullPath(data.Directory),
                ["data"] = new JsonObject
                {
                    ["directory"] = request.Data?.Directory ?? Path.GetFullPath(data.Directory),
                    ["sha256"] = request.Data?.Sha256 ?? data.Sha256,
                },
            },
            ["result"] = new JsonObject
            {
                ["epochs_run"] = state.EpochsDone,
                ["best_epoch"] = state.BestEpoch,
                ["best_monitor_loss"] = double.IsFinite(state.BestMonitorLoss) ? state.BestMonitorLoss : null,
                ["final_train_loss"] = state.History.Count > 0 ? state.History[^1].TrainLoss : null,
                ["threshold"] = double.IsFinite(outcome.Threshold) ? outcome.Threshold : null,
                ["threshold_rule"] = $"percentile {100 * (1 - o.Contamination):R} of the train split's {AnomalyScore.Name(o.Score)} scores (contamination {o.Contamination:R})",
                ["collapsed"] = outcome.Collapsed,
                ["message"] = outcome.Result.Message,
            },
            ["timings"] = new JsonObject
            {
                ["split_seconds"] = outcome.DataSeconds,
                ["train_seconds"] = outcome.Result.Seconds,
                ["seconds_per_epoch"] = state.History.Count > 0 ? state.History.Average(h => h.Seconds) : null,
                ["threshold_seconds"] = outcome.ThresholdSeconds,
                ["allocated_bytes_per_epoch"] = double.IsFinite(outcome.Result.AllocatedBytesPerEpoch) ? outcome.Result.AllocatedBytesPerEpoch : null,
                ["gc_collections"] = outcome.Result.GcCollections,
            },
            ["machine"] = MachineJson(),
        };
    }

    // run.json's "options": the training options, the seed (and the seeds that collapsed before it) and the engine.
    private static JsonObject OptionsJson(TrainRequest request)
    {
        JsonObject json = Checkpoint.TrainJson(request.Train);
        json["seed"] = request.Seed;
        json["requested_seed"] = request.CollapsedSeeds.Count > 0 ? request.CollapsedSeeds[0] : request.Seed;
        json["retry_collapsed"] = request.RetryCollapsed;
        json["collapsed_seeds"] = new JsonArray([.. request.CollapsedSeeds.Select(s => (JsonNode)s)]);
        json["engine"] = request.Compute.Engine;
        json["device"] = request.Compute.Device;
        json["threads"] = request.Compute.Threads;
        return json;
    }

    private static JsonArray IndexArray(int[] indices) => new(indices.Select(i => (JsonNode)i).ToArray());

    /// <summary>SHA-256 over the train, validation and test indices: two runs with equal hashes used the same images.</summary>
    public static string IndicesHash(DataSplit split)
    {
        int[] all = [.. split.Train, -1, .. split.Validation, -1, .. split.Test];
        return Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(all.AsSpan())));
    }

    public static JsonObject MachineJson() => new()
    {
        ["os"] = RuntimeInformation.OSDescription,
        ["architecture"] = RuntimeInformation.ProcessArchitecture.ToString(),
        ["processor_count"] = Environment.ProcessorCount,
        ["cpu"] = CpuName(),
        ["vector512"] = Vector512.IsHardwareAccelerated,
        ["dotnet"] = RuntimeInformation.FrameworkDescription,
    };

    private static string? CpuName()
    {
        try
        {
            return File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
                : null;
        }
        catch (IOException) { return null; }
    }
}
