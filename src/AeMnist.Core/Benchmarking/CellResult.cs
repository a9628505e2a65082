// A benchmark cell's result and its cell.json: the status, the AUROCs, and the configuration and data it was made
// from, so that a later benchmark reuses it only when it records exactly the cell it is asked for (BenchmarkRunner).
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Models;
using AeMnist.Scoring;

namespace AeMnist.Benchmarking;

/// <summary>How a cell ended: scored, or a run whose numbers mean nothing.</summary>
public enum CellStatus
{
    /// <summary>Trained and scored: its AUROCs count.</summary>
    Finished,

    /// <summary>The loss became NaN or infinite (or the model's errors did): no AUROC.</summary>
    Diverged,

    /// <summary>The model reconstructs every image as the same image: no AUROC.</summary>
    Collapsed,
}

/// <summary>
/// A cell that ran to its end: its status (and why, when it is not finished), AUROC per score and the AUROC of the normal
/// class against each other class alone (both empty unless finished), timings.
/// </summary>
public sealed record CellResult(
    BenchmarkCell Cell,
    IReadOnlyDictionary<ScoreKind, double> Auroc,
    IReadOnlyDictionary<ScoreKind, double[]> PairAuroc,
    double TrainSeconds,
    int Epochs,
    int BestEpoch,
    bool ConstantOutput,
    bool Reused)
{
    public CellStatus Status { get; init; } = CellStatus.Finished;

    /// <summary>Why a cell diverged or collapsed.</summary>
    public string? Message { get; init; }

    public bool IsFinished => Status == CellStatus.Finished;

    public static string StatusName(CellStatus status) => status switch
    {
        CellStatus.Finished => "finished",
        CellStatus.Diverged => "diverged",
        _ => "collapsed",
    };
}

/// <summary>Writes and reads a cell's cell.json.</summary>
internal static class CellFile
{
    private const string Format = "aemnist-benchmark-cell-2";

    public static string PairKey(BenchmarkGrid grid) => grid.Data.IsMnist ? "auroc_against_digit" : "auroc_against_class";

    /// <summary>The cell.json of <paramref name="r"/>, recording the configuration it ran (<paramref name="expected"/>).</summary>
    public static JsonObject Json(BenchmarkGrid grid, CellResult r, JsonObject expected)
    {
        var auroc = new JsonObject();
        var pairs = new JsonObject();
        foreach ((ScoreKind score, double value) in r.Auroc)
        {
            auroc[Scores.Name(score)] = value;
            pairs[Scores.Name(score)] = new JsonArray([.. r.PairAuroc[score].Select(v => double.IsFinite(v) ? (JsonNode?)v : null)]);
        }
        var json = new JsonObject
        {
            ["format"] = Format,
            ["status"] = CellResult.StatusName(r.Status),
            ["message"] = r.Message,
            ["model"] = r.Cell.Model.Text,
            ["configuration"] = r.Cell.Model.ToJson(),
            ["run_configuration"] = expected.DeepClone(),
            ["protocol"] = SplitOptions.ProtocolName(grid.Protocol),
            ["monitor"] = r.Cell.Model.WatchesTest ? "test" : "validation",
        };
        if (grid.Data.IsMnist) json["digit"] = r.Cell.Class;
        else
        {
            json["class"] = r.Cell.Class;
            json["class_name"] = r.Cell.ClassName;
        }
        json["seed"] = r.Cell.Seed;
        json["data"] = new JsonObject { ["kind"] = grid.Data.Kind, ["path"] = grid.Data.Path, ["sha256"] = grid.Data.Sha256 };
        json["engine"] = grid.Compute.Engine;
        json["device"] = grid.Compute.Device;
        json["auroc"] = auroc;
        json[PairKey(grid)] = pairs;
        json["train_seconds"] = double.IsFinite(r.TrainSeconds) ? r.TrainSeconds : null;
        json["epochs_run"] = r.Epochs;
        json["best_epoch"] = r.BestEpoch;
        json["constant_output"] = r.ConstantOutput;
        json["aemnist_version"] = ModelFile.ToolVersion;
        return json;
    }

    // A cell.json of exactly this cell's configuration (data included) holding every requested score, or null: a
    // damaged one, one of another configuration or from an older build is not a result, and the cell is scored (or
    // trained) again.
    public static CellResult? TryRead(string path, BenchmarkGrid grid, BenchmarkCell cell, JsonObject expected)
    {
        if (!File.Exists(path)) return null;
        JsonObject json;
        try
        {
            if (JsonNode.Parse(File.ReadAllText(path)) is not JsonObject parsed) return null;
            json = parsed;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or IOException or UnauthorizedAccessException) { return null; }
        if (!(json["format"] is JsonValue format && format.TryGetValue(out string? f) && f == Format)) return null;
        if (!CellConfiguration.Same(json["run_configuration"], expected)) return null;
        if (!(json["status"] is JsonValue statusValue && statusValue.TryGetValue(out string? statusText))) return null;
        CellStatus? status = statusText switch { "finished" => CellStatus.Finished, "diverged" => CellStatus.Diverged, "collapsed" => CellStatus.Collapsed, _ => null };
        if (status is null) return null;
        static double? Number(JsonNode? node) => node is JsonValue v && v.TryGetValue(out double d) ? d : null;
        var auroc = new Dictionary<ScoreKind, double>();
        var pairs = new Dictionary<ScoreKind, double[]>();
        if (status == CellStatus.Finished)
            foreach (ScoreKind score in grid.Scores)
            {
                string name = Scores.Name(score);
                if (Number(json["auroc"]?[name]) is not { } value) return null;  // scored with fewer scores: evaluate again
                if (json[PairKey(grid)]?[name] is not JsonArray against || against.Count != grid.Data.ClassNames.Count) return null;
                auroc[score] = value;
                pairs[score] = [.. against.Select(v => Number(v) ?? double.NaN)];
            }
        if (Number(json["epochs_run"]) is not { } epochs || Number(json["best_epoch"]) is not { } best
            || json["constant_output"] is not JsonValue constant || !constant.TryGetValue(out bool isConstant))
            return null;
        string? message = json["message"] is JsonValue m && m.TryGetValue(out string? text) ? text : null;
        return new CellResult(cell, auroc, pairs, Number(json["train_seconds"]) ?? double.NaN, (int)epochs, (int)best, isConstant, Reused: true)
        {
            Status = status.Value,
            Message = message,
        };
    }
}
