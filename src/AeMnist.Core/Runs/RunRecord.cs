// run.json: what a run was (every option, the split's definition and indices, the data and its checksum), how it went
// (status, epochs, threshold, collapse) and what it cost (timings, the machine). Its one writer (Write) and one typed
// reader (Read): every command that asks what a run records reads it here, and a field that is there but malformed is
// a one-line error naming it.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.IO;
using AeMnist.Scoring;
using AeMnist.Training;

namespace AeMnist.Runs;

/// <summary>What run.json records; null fields were not recorded (a run of an older aemnist, or one still training).</summary>
public sealed record RunRecord(
    string? Status,
    TrainOptions? Options,
    ulong? Seed,
    IReadOnlyList<ulong> CollapsedSeeds,
    DataRecord? Data,
    bool Collapsed,
    int? EpochsRun,
    int? BestEpoch,
    double? TrainSeconds)
{
    /// <summary>run.json's "status" for a stop reason: completed, early-stopped, interrupted, collapsed, diverged.</summary>
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

    /// <summary>Indented, and without escaping '>' or non-ASCII text: the JSON is read by people and scripts, not embedded in HTML.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Reads run.json at <paramref name="path"/>; null when there is none.</summary>
    public static RunRecord? Read(string path)
    {
        if (!File.Exists(path)) return null;
        JsonObject json;
        try
        {
            if (new FileInfo(path).Length > 256L << 20) throw new DataFormatException($"{path}: is too large for a run.json");
            json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new DataFormatException($"{path}: is not a JSON object");
        }
        catch (JsonException e) { throw new DataFormatException($"{path}: is not valid JSON (line {(e.LineNumber ?? 0) + 1}, byte {e.BytePositionInLine ?? 0})", e); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DataFormatException($"{path}: cannot read file ({FileErrors.Reason(e)})", e); }
        var root = new JsonFields(json, path, "field");
        JsonFields? options = root.HasValue("options") ? root.Fields("options") : null;
        JsonFields? split = root.HasValue("split") ? root.Fields("split") : null;
        JsonFields? result = root.HasValue("result") ? root.Fields("result") : null;
        JsonFields? timings = root.HasValue("timings") ? root.Fields("timings") : null;
        DataRecord? data = null;
        if (split?.HasValue("data") == true)
        {
            data = DataRecord.Read(split.Fields("data"), requireSha: false);
            if (data.Directory.Length == 0) data = data with { Directory = split.OptionalString("data_directory") ?? "" };
        }
        else if (split?.OptionalString("data_directory") is { } directory)
        {
            data = new DataRecord(directory, "");
        }
        return new RunRecord(
            root.OptionalString("status"),
            options is not null && options.HasValue("model") ? RequestJson.ReadTrain(options, path) : null,
            options?.HasValue("seed") == true ? options.ULong("seed") : null,
            options?.Has("collapsed_seeds") == true ? options.ULongArray("collapsed_seeds") : [],
            data,
            result?.HasValue("collapsed") == true && result.Bool("collapsed"),
            result?.HasValue("epochs_run") == true ? result.Int("epochs_run", 0, int.MaxValue) : null,
            result?.HasValue("best_epoch") == true ? result.Int("best_epoch", 0, int.MaxValue) : null,
            timings?.OptionalDouble("train_seconds", 0, double.MaxValue));
    }

    /// <summary>run.json: every option, the split's definition, the data, versions, timings and the machine.</summary>
    public static JsonObject Write(TrainRequest request, TrainOutcome outcome, Dataset data, string? status = null)
    {
        TrainOptions o = request.Train;
        TrainState state = outcome.Result.State;
        DataSplit split = outcome.Split;
        JsonObject options = RequestJson.Train(o);
        options["seed"] = request.Seed;
        options["requested_seed"] = request.RequestedSeed;
        options["retry_collapsed"] = request.RetryCollapsed;
        options["collapsed_seeds"] = RequestJson.Seeds(request.CollapsedSeeds);
        options["engine"] = request.Compute.Engine;
        options["device"] = request.Compute.Device;
        options["threads"] = request.Compute.Threads;
        var record = new JsonObject
        {
            ["aemnist_version"] = Models.ModelFile.ToolVersion,
            ["created_utc"] = DateTime.UtcNow.ToString("O"),
            ["status"] = status ?? StatusName(outcome.Result.Reason),
            ["options"] = options,
            ["split"] = new JsonObject
            {
                ["options"] = RequestJson.Split(request.Split),
                ["train_count"] = split.Train.Length,
                ["validation_count"] = split.Validation.Length,
                ["test_count"] = split.Test.Length,
                ["monitor"] = split.MonitorsTest ? "test" : "validation",
                ["indices_sha256"] = IndicesHash(split),
                // Indices into the pooled images (the data's training part first, then its test part).
                ["indices"] = new JsonObject
                {
                    ["train"] = IndexArray(split.Train),
                    ["validation"] = IndexArray(split.Validation),
                    ["test"] = IndexArray(split.Test),
                },
                ["data_directory"] = Path.GetFullPath(data.Directory),
                ["data"] = (request.Data ?? new DataRecord(Path.GetFullPath(data.Directory), data.Sha256)).ToJson(),
            },
            ["result"] = new JsonObject
            {
                ["epochs_run"] = state.EpochsDone,
                ["best_epoch"] = state.BestEpoch,
                ["best_monitor_loss"] = double.IsFinite(state.BestMonitorLoss) ? state.BestMonitorLoss : null,
                ["final_train_loss"] = state.History.Count > 0 ? state.History[^1].TrainLoss : null,
                ["threshold"] = double.IsFinite(outcome.Threshold) ? outcome.Threshold : null,
                ["threshold_rule"] = $"percentile {100 * (1 - o.Contamination):R} of the train split's {Scores.Name(o.Score)} scores (contamination {o.Contamination:R})",
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
        // What the combined score learnt from the normal images, and from which (written only for runs scored with it).
        if (outcome.Calibration is { } calibration)
        {
            JsonObject json = calibration.ToJson();
            json["rule"] = calibration.Describe();
            ((JsonObject)record["result"]!)["score_calibration"] = json;
        }
        return record;
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
