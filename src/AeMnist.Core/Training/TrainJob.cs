// `aemnist train` as a library call: split the data, build and train the model, choose the default
// threshold, and write the run directory (model.safetensors, run.json, history.csv).
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Evaluation;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Optim;

namespace AeMnist.Training;

/// <summary>A training run: the split (which holds the run's one seed), the training options, the engine, and where it goes.</summary>
public sealed record TrainRequest(SplitOptions Split, TrainOptions Train, ComputeOptions Compute, string RunsDirectory, string? RunName = null)
{
    public ulong Seed => Split.Seed;
}

public sealed record TrainOutcome(
    TrainRequest Request,
    RunDirectory Run,
    TrainResult Result,
    DataSplit Split,
    double Threshold,
    double DataSeconds,
    double ThresholdSeconds);

public static class TrainJob
{
    /// <summary>Indented, and without escaping '>' or non-ASCII text: the JSON is read by people and scripts, not embedded in HTML.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The weights a seed gives: PyTorch's default initialisation of the spec, drawn from our Rng.</summary>
    public static StateDict InitialWeights(ModelSpec spec, ulong seed) => spec.InitialWeights(new Rng(SeedStreams.Initialisation(seed)));

    public static TrainOutcome Execute(TrainRequest request, MnistDataset data, EngineCatalog? engines = null, Action<EpochRecord>? onEpoch = null,
        Action<RunDirectory, TrainRequest>? onStart = null, CancellationToken cancel = default)
    {
        request.Train.Validate();
        Splitter.Validate(request.Split);
        engines ??= EngineCatalog.Native;
        request = request with { Compute = engines.Validate(request.Compute) };
        ModelSpec spec = request.Train.Spec();
        DataSplit split = Splitter.Split(data.Labels, data.TrainCount, request.Split);
        using IEngine engine = engines.Create(request.Compute);
        using IEngineModel model = engine.Load(spec, InitialWeights(spec, request.Seed));
        IOptimizer optimizer = model.CreateAdam(AdamOptions(request.Train));
        var run = RunDirectory.Create(request.RunsDirectory, request.RunName,
            RunDirectory.DefaultName(request.Train.Model, request.Split.Normal, request.Seed, DateTime.UtcNow));
        return Continue(request, data, split, run, model, optimizer, Trainer.NewState(request.Seed), onEpoch, onStart, cancel);
    }

    /// <summary>The run directory of an interrupted run, or a one-line error; cheap, so callers check before loading data.</summary>
    public static RunDirectory OpenResumable(string runPath)
    {
        if (!Directory.Exists(runPath))
            throw new DataFormatException($"{runPath}: run directory not found");
        var run = new RunDirectory(runPath);
        if (File.Exists(run.ModelPath) && !File.Exists(run.CheckpointPath))
            throw new DataFormatException($"{runPath}: this run already finished; nothing to resume");
        return run;
    }

    /// <summary>
    /// Continues an interrupted run from its checkpoint, to the same result as an uninterrupted run. Every option comes
    /// from the checkpoint, the engine included, except the thread count, which changes no result on the native engine:
    /// <paramref name="threads"/> replaces it.
    /// </summary>
    public static TrainOutcome Resume(string runPath, MnistDataset data, int? threads = null, EngineCatalog? engines = null,
        Action<EpochRecord>? onEpoch = null, Action<RunDirectory, TrainRequest>? onStart = null, CancellationToken cancel = default)
    {
        RunDirectory run = OpenResumable(runPath);
        CheckpointContents saved = Checkpoint.Load(run.CheckpointPath, RunDirectory.ReadHistory(run.HistoryPath));
        TrainRequest request = saved.Request;
        if (threads is { } count) request = request with { Compute = request.Compute with { Threads = count } };
        engines ??= EngineCatalog.Native;
        request = request with { Compute = engines.Validate(request.Compute) };
        DataSplit split = Splitter.Split(data.Labels, data.TrainCount, request.Split);
        using IEngine engine = engines.Create(request.Compute);
        using IEngineModel model = engine.Load(request.Train.Spec(), saved.Weights);
        IOptimizer optimizer = model.CreateAdam(AdamOptions(request.Train));
        optimizer.LoadStateDict(saved.OptimizerState, saved.OptimizerSteps);
        return Continue(request, data, split, run, model, optimizer, saved.State, onEpoch, onStart, cancel);
    }

    private static AdamOptions AdamOptions(TrainOptions options) => new(LearningRate: options.LearningRate, WeightDecay: options.WeightDecay);

    private static TrainOutcome Continue(TrainRequest request, MnistDataset data, DataSplit split, RunDirectory run,
        IEngineModel model, IOptimizer optimizer, TrainState state, Action<EpochRecord>? onEpoch, Action<RunDirectory, TrainRequest>? onStart, CancellationToken cancel)
    {
        TrainOptions options = request.Train;
        var clock = Stopwatch.StartNew();
        float[] train = data.Gather(split.Train);
        float[] monitor = data.Gather(split.Monitor);
        double dataSeconds = clock.Elapsed.TotalSeconds;
        onStart?.Invoke(run, request);

        var trainer = new Trainer(model, optimizer, options, train, monitor, request.Seed);
        // Allocation is measured from the end of the first epoch (when every buffer exists) to the end.
        int collectionsBefore = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);
        long allocatedAfterFirst = -1;
        int epochsAtFirst = 0;
        TrainResult result = options.Architecture.FitsExactly
            ? Fit(model, options, train, split.Train.Length, monitor, split.Monitor.Length, state, onEpoch)
            : trainer.Run(state, record =>
            {
                if (allocatedAfterFirst < 0) { allocatedAfterFirst = GC.GetTotalAllocatedBytes(precise: true); epochsAtFirst = record.Epoch; }
                onEpoch?.Invoke(record);
            }, cancel);
        int laterEpochs = state.EpochsDone - epochsAtFirst;
        result = result with
        {
            AllocatedBytesPerEpoch = allocatedAfterFirst >= 0 && laterEpochs > 0
                ? (GC.GetTotalAllocatedBytes(precise: true) - allocatedAfterFirst) / (double)laterEpochs : double.NaN,
            GcCollections = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2) - collectionsBefore,
        };
        run.WriteHistory(state.History);

        if (result.Reason == StopReason.Interrupted)
        {
            Checkpoint.Save(run.CheckpointPath, request, model.StateDict(), optimizer.StateDict(), optimizer.StepCount, state);
            var interrupted = new TrainOutcome(request, run, result, split, double.NaN, dataSeconds, 0);
            AtomicFile.WriteAllText(run.RunPath, RunJson(request, interrupted, data).ToJsonString(JsonOptions));
            return interrupted;
        }

        // Diverged weights are never saved: fall back to the best evaluated weights or, when no evaluation
        // succeeded before the loss diverged, to this seed's initial weights (epoch 0).
        bool useBest = options.Keep == KeepCheckpoint.Best || result.Reason == StopReason.Diverged;
        if (useBest && state.BestWeights is { } best)
            model.LoadStateDict(best);
        else if (result.Reason == StopReason.Diverged)
            model.LoadStateDict(InitialWeights(model.Spec, request.Seed));

        clock.Restart();
        float[] trainErrors = new float[split.Train.Length];
        AnomalyScore.Compute(model, options.Score, train, split.Train.Length, trainErrors);
        double threshold = Thresholds.FromContamination(trainErrors, options.Contamination);
        double thresholdSeconds = clock.Elapsed.TotalSeconds;

        var outcome = new TrainOutcome(request, run, result, split, threshold, dataSeconds, thresholdSeconds);
        var metadata = new ModelMetadata(options.Architecture, options.ResolvedSettings,
            request.Split.Normal, SplitOptions.ProtocolName(request.Split.Protocol), request.Seed, threshold, request.Split, options.Score);
        ModelFile.Save(run.ModelPath, model.StateDict(), metadata);
        AtomicFile.WriteAllText(run.RunPath, RunJson(request, outcome, data).ToJsonString(JsonOptions));
        if (File.Exists(run.CheckpointPath)) File.Delete(run.CheckpointPath);
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

    /// <summary>run.json: every option, the split's definition, versions, timings and the machine.</summary>
    public static JsonObject RunJson(TrainRequest request, TrainOutcome outcome, MnistDataset data)
    {
        TrainOptions o = request.Train;
        SplitOptions s = request.Split;
        TrainState state = outcome.Result.State;
        return new JsonObject
        {
            ["aemnist_version"] = ModelMetadata.ToolVersion,
            ["created_utc"] = DateTime.UtcNow.ToString("O"),
            ["status"] = outcome.Result.Reason switch
            {
                StopReason.Completed => "completed",
                StopReason.EarlyStopped => "early-stopped",
                StopReason.Interrupted => "interrupted",
                _ => "diverged",
            },
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
            },
            ["result"] = new JsonObject
            {
                ["epochs_run"] = state.EpochsDone,
                ["best_epoch"] = state.BestEpoch,
                ["best_monitor_loss"] = double.IsFinite(state.BestMonitorLoss) ? state.BestMonitorLoss : null,
                ["final_train_loss"] = state.History.Count > 0 ? state.History[^1].TrainLoss : null,
                ["threshold"] = double.IsFinite(outcome.Threshold) ? outcome.Threshold : null,
                ["threshold_rule"] = $"percentile {100 * (1 - o.Contamination):R} of the train split's {AnomalyScore.Name(o.Score)} scores (contamination {o.Contamination:R})",
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

    // run.json's "options": the training options, the seed and the engine.
    private static JsonObject OptionsJson(TrainRequest request)
    {
        JsonObject json = Checkpoint.TrainJson(request.Train);
        json["seed"] = request.Seed;
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
