// checkpoint.safetensors: everything an interrupted run needs to continue bit-identically — weights,
// Adam's moments and step, the best weights so far, the shuffle generator's state, the position inside
// the epoch, and the options the run was started with (as JSON in the metadata).
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Models;
using AeMnist.Optim;
using AeMnist.Serialization;

namespace AeMnist.Training;

public static class Checkpoint
{
    private const string Format = "aemnist-checkpoint-1";

    public static void Save(string path, TrainRequest request, AutoEncoder model, Adam adam, TrainState state)
    {
        int p = model.Parameters.Length;
        var tensors = new List<(string, int[], ReadOnlyMemory<float>)>
        {
            ("parameters", [p], model.Parameters.Data),
            ("adam.m", [p], adam.M),
            ("adam.v", [p], adam.V),
        };
        if (state.BestParameters is { } best) tensors.Add(("best", [p], best));
        var meta = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["request"] = RequestJson(request).ToJsonString(),
            ["adam_step"] = adam.StepCount.ToString(CultureInfo.InvariantCulture),
            ["epochs_done"] = state.EpochsDone.ToString(CultureInfo.InvariantCulture),
            ["batches_done"] = state.BatchesDone.ToString(CultureInfo.InvariantCulture),
            ["epoch_loss_sum"] = state.EpochLossSum.ToString("R", CultureInfo.InvariantCulture),
            ["epoch_seconds"] = state.EpochSeconds.ToString("R", CultureInfo.InvariantCulture),
            ["shuffle_state"] = string.Join(",", state.ShuffleState.Select(s => s.ToString(CultureInfo.InvariantCulture))),
            ["best_monitor_loss"] = state.BestMonitorLoss.ToString("R", CultureInfo.InvariantCulture),
            ["best_epoch"] = state.BestEpoch.ToString(CultureInfo.InvariantCulture),
            ["bad_evaluations"] = state.BadEvaluations.ToString(CultureInfo.InvariantCulture),
        };
        SafeTensors.Write(path, tensors, meta);
    }

    /// <summary>Restores a run: its request, a model and Adam holding the saved state, and the trainer state.</summary>
    public static (TrainRequest Request, AutoEncoder Model, Adam Adam, TrainState State) Load(string path, IReadOnlyList<EpochRecord> history)
    {
        string name = Path.GetFileName(path);
        if (!File.Exists(path))
            throw new DataFormatException($"{path}: no checkpoint here; only an interrupted run can be resumed");
        SafeTensorsFile file = SafeTensors.Read(path);
        var meta = file.Metadata;
        string Get(string key) => meta.TryGetValue(key, out string? v) ? v
            : throw new DataFormatException($"{name}: checkpoint metadata '{key}' is missing; the file is not an aemnist checkpoint");
        if (Get("format") != Format)
            throw new DataFormatException($"{name}: checkpoint format '{Get("format")}' is not {Format}");
        try
        {
            TrainRequest request = ParseRequest(JsonNode.Parse(Get("request"))!.AsObject());
            AutoEncoder model = TrainJob.CreateModel(request.Train);
            var adam = new Adam(model.Parameters, new AdamOptions(LearningRate: request.Train.LearningRate, WeightDecay: request.Train.WeightDecay));
            float[] Tensor(string key) => file.Tensors.TryGetValue(key, out TensorData? t) && t.Data.Length == model.Parameters.Length ? t.Data
                : throw new DataFormatException($"{name}: checkpoint tensor '{key}' is missing or has the wrong size");
            Tensor("parameters").CopyTo(model.Parameters.Data, 0);
            adam.LoadState(Tensor("adam.m"), Tensor("adam.v"), long.Parse(Get("adam_step"), CultureInfo.InvariantCulture));
            var state = new TrainState
            {
                EpochsDone = int.Parse(Get("epochs_done"), CultureInfo.InvariantCulture),
                BatchesDone = int.Parse(Get("batches_done"), CultureInfo.InvariantCulture),
                EpochLossSum = double.Parse(Get("epoch_loss_sum"), CultureInfo.InvariantCulture),
                EpochSeconds = double.Parse(Get("epoch_seconds"), CultureInfo.InvariantCulture),
                ShuffleState = Get("shuffle_state").Split(',').Select(s => ulong.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
                BestMonitorLoss = double.Parse(Get("best_monitor_loss"), CultureInfo.InvariantCulture),
                BestEpoch = int.Parse(Get("best_epoch"), CultureInfo.InvariantCulture),
                BadEvaluations = int.Parse(Get("bad_evaluations"), CultureInfo.InvariantCulture),
                BestParameters = file.Tensors.ContainsKey("best") ? Tensor("best") : null,
            };
            if (history.Count != state.EpochsDone)
                throw new DataFormatException($"{name}: checkpoint is at epoch {state.EpochsDone} but history.csv has {history.Count} rows; the run directory is inconsistent");
            state.History.AddRange(history);
            return (request, model, adam, state);
        }
        catch (Exception e) when (e is FormatException or OverflowException or JsonException or InvalidOperationException or NullReferenceException)
        {
            throw new DataFormatException($"{name}: checkpoint metadata is corrupt ({e.Message})", e);
        }
    }

    private static JsonObject RequestJson(TrainRequest r) => new()
    {
        ["runs_directory"] = r.RunsDirectory,
        ["run_name"] = r.RunName,
        ["split"] = SplitJson(r.Split),
        ["train"] = TrainJson(r.Train),
    };

    /// <summary>The split options as JSON (checkpoint metadata and run.json's "split").</summary>
    public static JsonObject SplitJson(SplitOptions s) => new()
    {
        ["protocol"] = SplitOptions.ProtocolName(s.Protocol),
        ["normal"] = s.Normal,
        ["train_normal"] = s.TrainNormal,
        ["train_anomalies"] = s.TrainAnomalies,
        ["test_normal"] = s.TestNormal,
        ["test_anomalies"] = s.TestAnomalies,
        ["validation"] = s.Validation,
        ["seed"] = s.Seed,
    };

    /// <summary>The training options as JSON (checkpoint metadata and run.json's "options").</summary>
    public static JsonObject TrainJson(TrainOptions t) => new()
    {
        ["model"] = t.Model,
        ["hidden"] = t.Model == "dense" ? new JsonArray(t.HiddenOrDefault.Select(x => (JsonNode)x).ToArray()) : null,
        ["epochs"] = t.Epochs,
        ["batch_size"] = t.BatchSize,
        ["lr"] = t.LearningRate,
        ["weight_decay"] = t.WeightDecay,
        ["eval_every"] = t.EvalEvery,
        ["patience"] = t.Patience,
        ["keep"] = t.Keep == KeepCheckpoint.Best ? "best" : "last",
        ["contamination"] = t.Contamination,
        ["seed"] = t.Seed,
        ["threads"] = t.Threads,
    };

    private static TrainRequest ParseRequest(JsonObject o)
    {
        JsonObject s = o["split"]!.AsObject(), t = o["train"]!.AsObject();
        SplitOptions.TryParseProtocol((string)s["protocol"]!, out SplitProtocol protocol);
        var split = new SplitOptions(protocol, (int)s["normal"]!, (int)s["train_normal"]!, (int)s["train_anomalies"]!,
            (int)s["test_normal"]!, (int)s["test_anomalies"]!, (double)s["validation"]!, (ulong)s["seed"]!);
        var train = new TrainOptions(
            Model: (string)t["model"]!,
            Hidden: t["hidden"] is JsonArray h ? h.Select(x => (int)x!).ToArray() : null,
            Epochs: (int)t["epochs"]!,
            BatchSize: (int)t["batch_size"]!,
            LearningRate: (double)t["lr"]!,
            WeightDecay: (double)t["weight_decay"]!,
            EvalEvery: (int)t["eval_every"]!,
            Patience: (int)t["patience"]!,
            Keep: (string)t["keep"]! == "last" ? KeepCheckpoint.Last : KeepCheckpoint.Best,
            Contamination: (double)t["contamination"]!,
            Seed: (ulong)t["seed"]!,
            Threads: (int)t["threads"]!);
        return new TrainRequest(split, train, (string)o["runs_directory"]!, (string?)o["run_name"]);
    }
}
