// What a benchmark cell is a run of, as one canonical JSON object: the split (protocol, normal class, validation
// fraction, seed, the seed protocol's counts), every training option (the image shape included), the engine and device,
// collapse retries, and the data's checksum. A cell's files are reused (its checkpoint resumed, its model scored, its
// cell.json read) only when the configuration they record is the cell's, field for field; the thread count is not part
// of it (it changes no result).
using System.Text.Json;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Runs;
using AeMnist.Tensors;

namespace AeMnist.Benchmarking;

public static class CellConfiguration
{
    /// <summary>The request that trains <paramref name="cell"/> of <paramref name="grid"/> into <paramref name="modelDirectory"/>.</summary>
    public static TrainRequest Request(BenchmarkGrid grid, BenchmarkCell cell, string modelDirectory, int threads) =>
        new(new SplitOptions(grid.Protocol, cell.Class, Validation: cell.Model.Validation, Seed: cell.Seed),
            cell.Model.Train with { Image = grid.Data.Shape == ImageShape.Mnist ? null : grid.Data.Shape },
            grid.Compute with { Threads = threads }, modelDirectory, cell.Name)
        {
            // As train records it: the rules only when some were given; the checksum is set when the run starts.
            Data = grid.Data.Rules.IsDefault ? null : new DataRecord(grid.Data.Path, "") { Rules = grid.Data.Rules },
            NormalClass = grid.Data.IsMnist ? null : cell.ClassName,
        };

    /// <summary>The configuration of <paramref name="request"/> on data of checksum <paramref name="sha256"/>.</summary>
    public static JsonObject Of(TrainRequest request, string? sha256) => new()
    {
        ["split"] = RequestJson.Split(request.Split),
        ["train"] = RequestJson.Train(request.Train),
        ["engine"] = request.Compute.Engine,
        ["device"] = request.Compute.Device,
        ["retry_collapsed"] = request.RetryCollapsed,
        ["collapsed_seeds"] = RequestJson.Seeds(request.CollapsedSeeds),
        ["data_sha256"] = sha256,
    };

    /// <summary>The configuration a checkpoint's request records, or null when its header cannot be read.</summary>
    public static JsonObject? FromCheckpoint(string path) => CheckpointRequest(path) is { } request ? Of(request, request.Data?.Sha256) : null;

    /// <summary>The request a checkpoint records, or null when it cannot be read (or is damaged).</summary>
    public static TrainRequest? CheckpointRequest(string path)
    {
        try
        {
            return Checkpoint.Load(path).Request;
        }
        catch (Exception e) when (e is DataFormatException or JsonException or IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException) { return null; }
    }

    /// <summary>The configuration a finished run's run.json records, or null when it records less (or cannot be read).</summary>
    public static JsonObject? FromRunJson(string path)
    {
        try
        {
            if (!File.Exists(path)) return null;
            if (JsonNode.Parse(File.ReadAllText(path)) is not JsonObject json) return null;
            var root = new JsonFields(json, path, "field");
            JsonFields options = root.Fields("options"), split = root.Fields("split");
            return new JsonObject
            {
                ["split"] = RequestJson.Split(RequestJson.ReadSplit(split.Fields("options"))),
                ["train"] = RequestJson.Train(RequestJson.ReadTrain(options, path)),
                ["engine"] = options.String("engine"),
                ["device"] = options.String("device"),
                ["retry_collapsed"] = options.Int("retry_collapsed", 0, TrainRequest.MaxRetries),
                ["collapsed_seeds"] = RequestJson.Seeds(options.ULongArray("collapsed_seeds")),
                ["data_sha256"] = split.HasValue("data") ? split.Fields("data").OptionalString("sha256") : null,
            };
        }
        catch (Exception e) when (e is DataFormatException or JsonException or IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException) { return null; }
    }

    /// <summary>True when two configurations are the same, field for field.</summary>
    public static bool Same(JsonNode? a, JsonNode? b) => a is not null && b is not null && a.ToJsonString() == b.ToJsonString();

    private static bool Equal(JsonNode? a, JsonNode? b) => (a?.ToJsonString() ?? "null") == (b?.ToJsonString() ?? "null");

    /// <summary>The first field in which <paramref name="found"/> differs from <paramref name="expected"/>, for messages: "train.epochs 2, not 1".</summary>
    public static string Difference(JsonObject expected, JsonObject? found)
    {
        if (found is null) return "no configuration could be read";
        foreach ((string key, JsonNode? value) in expected)
        {
            JsonNode? other = found[key];
            if (value is JsonObject inner && other is JsonObject otherInner)
            {
                foreach ((string k, JsonNode? v) in inner)
                    if (!Equal(v, otherInner[k])) return $"{key}.{k} {otherInner[k]?.ToJsonString() ?? "missing"}, not {v?.ToJsonString() ?? "missing"}";
                foreach ((string k, JsonNode? v) in otherInner)
                    if (!inner.ContainsKey(k)) return $"{key}.{k} {v?.ToJsonString()}, not missing";
            }
            else if (!Equal(value, other)) return $"{key} {other?.ToJsonString() ?? "missing"}, not {value?.ToJsonString() ?? "missing"}";
        }
        return "another configuration";
    }
}
