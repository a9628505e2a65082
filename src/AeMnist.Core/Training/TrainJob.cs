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
using AeMnist.Evaluation;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Optim;

namespace AeMnist.Training;

public sealed record TrainRequest(SplitOptions Split, TrainOptions Train, string RunsDirectory, string? RunName = null);

public sealed record TrainOutcome(
    TrainRequest Request,
    RunDirectory Run,
    TrainResult Result,
    DataSplit Split,
    AutoEncoder Model,
    double Threshold,
    double DataSeconds,
    double ThresholdSeconds);

public static class TrainJob
{
    /// <summary>Indented, and without escaping '>' or non-ASCII text: the JSON is read by people and scripts, not embedded in HTML.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Builds the model that a seed gives: PyTorch's default initialisation from our Rng.</summary>
    public static AutoEncoder CreateModel(TrainOptions options)
    {
        AutoEncoder model = options.Model == "conv"
            ? AutoEncoder.CreateConv(new Rng(SeedStreams.Initialisation(options.Seed)))
            : AutoEncoder.CreateDense(MnistDataset.PixelsPerImage, options.HiddenOrDefault, new Rng(SeedStreams.Initialisation(options.Seed)));
        model.Threads = options.Threads;
        return model;
    }

    public static TrainOutcome Execute(TrainRequest request, MnistDataset data, Action<EpochRecord>? onEpoch = null,
        Action<RunDirectory, TrainRequest>? onStart = null, CancellationToken cancel = default)
    {
        request.Train.Validate();
        Splitter.Validate(request.Split);
        if (request.Train.Seed != request.Split.Seed)
            throw new ArgumentException("the split seed and the training seed must be the same --seed");
        AutoEncoder model = CreateModel(request.Train);
        var adam = new Adam(model.Parameters, new AdamOptions(LearningRate: request.Train.LearningRate, WeightDecay: request.Train.WeightDecay));
        DataSplit split = Splitter.Split(data.Labels, data.TrainCount, request.Split);
        var run = RunDirectory.Create(request.RunsDirectory, request.RunName,
            RunDirectory.DefaultName(request.Train.Model, request.Split.Normal, request.Train.Seed, DateTime.UtcNow));
        return Continue(request, data, split, run, model, adam, Trainer.NewState(request.Train.Seed), onEpoch, onStart, cancel);
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
    /// from the checkpoint except the thread count, which changes no result: <paramref name="threads"/> replaces it.
    /// </summary>
    public static TrainOutcome Resume(string runPath, MnistDataset data, int? threads = null, Action<EpochRecord>? onEpoch = null,
        Action<RunDirectory, TrainRequest>? onStart = null, CancellationToken cancel = default)
    {
        RunDirectory run = OpenResumable(runPath);
        var (request, model, adam, state) = Checkpoint.Load(run.CheckpointPath, RunDirectory.ReadHistory(run.HistoryPath));
        if (threads is { } count)
        {
            request = request with { Train = request.Train with { Threads = count } };
            model.Threads = count;
        }
        DataSplit split = Splitter.Split(data.Labels, data.TrainCount, request.Split);
        return Continue(request, data, split, run, model, adam, state, onEpoch, onStart, cancel);
    }

    private static TrainOutcome Continue(TrainRequest request, MnistDataset data, DataSplit split, RunDirectory run,
        AutoEncoder model, Adam adam, TrainState state, Action<EpochRecord>? onEpoch, Action<RunDirectory, TrainRequest>? onStart, CancellationToken cancel)
    {
        TrainOptions options = request.Train;
        var clock = Stopwatch.StartNew();
        float[] train = data.Gather(split.Train);
        float[] monitor = data.Gather(split.Monitor);
        double dataSeconds = clock.Elapsed.TotalSeconds;
        onStart?.Invoke(run, request);

        var trainer = new Trainer(model, adam, options, train, monitor);
        // Allocation is measured from the end of the first epoch (when every buffer exists) to the end.
        int collectionsBefore = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);
        long allocatedAfterFirst = -1;
        int epochsAtFirst = 0;
        TrainResult result = trainer.Run(state, record =>
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
            Checkpoint.Save(run.CheckpointPath, request, model, adam, state);
            var interrupted = new TrainOutcome(request, run, result, split, model, double.NaN, dataSeconds, 0);
            AtomicFile.WriteAllText(run.RunPath, RunJson(request, interrupted, data).ToJsonString(JsonOptions));
            return interrupted;
        }

        // Diverged weights are never saved: fall back to the best evaluated weights or, when no evaluation
        // succeeded before the loss diverged, to this seed's initial weights (epoch 0).
        bool useBest = options.Keep == KeepCheckpoint.Best || result.Reason == StopReason.Diverged;
        if (useBest && state.BestParameters is { } best)
            best.CopyTo(model.Parameters.Data, 0);
        else if (result.Reason == StopReason.Diverged)
            CreateModel(options).Parameters.Data.CopyTo(model.Parameters.Data, 0);

        clock.Restart();
        float[] trainErrors = new float[split.Train.Length];
        model.ReconstructionErrors(train, split.Train.Length, trainErrors);
        double threshold = Thresholds.FromContamination(trainErrors, options.Contamination);
        double thresholdSeconds = clock.Elapsed.TotalSeconds;

        var outcome = new TrainOutcome(request, run, result, split, model, threshold, dataSeconds, thresholdSeconds);
        var metadata = new ModelMetadata(options.Model, options.Model == "dense" ? options.HiddenOrDefault : [],
            request.Split.Normal, SplitOptions.ProtocolName(request.Split.Protocol), options.Seed, threshold, request.Split);
        ModelFile.Save(run.ModelPath, model, metadata);
        AtomicFile.WriteAllText(run.RunPath, RunJson(request, outcome, data).ToJsonString(JsonOptions));
        if (File.Exists(run.CheckpointPath)) File.Delete(run.CheckpointPath);
        return outcome;
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
            ["options"] = Checkpoint.TrainJson(o),
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
                ["threshold_rule"] = $"percentile {100 * (1 - o.Contamination):R} of the train split's errors (contamination {o.Contamination:R})",
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
