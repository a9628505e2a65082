// checkpoint.safetensors: everything an interrupted run needs to continue bit-identically, as named tensors any
// engine can read — the weights under their state-dict names, the optimiser's moments ("adam.exp_avg.NAME",
// "adam.exp_avg_sq.NAME"), the best weights so far ("best.NAME") — and in the metadata the optimiser's step, the
// shuffle generator's state, the position inside the epoch, and the request the run was started with (as JSON).
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Models;
using AeMnist.Serialization;

namespace AeMnist.Training;

/// <summary>A checkpoint's contents: the request, the weights, the optimiser state and the trainer's state.</summary>
public sealed record CheckpointContents(TrainRequest Request, StateDict Weights, StateDict OptimizerState, long OptimizerSteps, TrainState State);

public static class Checkpoint
{
    private const string Format = "aemnist-checkpoint-2";
    private const string AdamPrefix = "adam.", BestPrefix = "best.";

    public static void Save(string path, TrainRequest request, StateDict weights, StateDict optimizerState, long optimizerSteps, TrainState state)
    {
        IEnumerable<NamedTensor> tensors = weights.Tensors.Concat(optimizerState.WithPrefix(AdamPrefix).Tensors);
        if (state.BestWeights is { } best) tensors = tensors.Concat(best.WithPrefix(BestPrefix).Tensors);
        var meta = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["request"] = RequestJson(request).ToJsonString(),
            ["adam_step"] = optimizerSteps.ToString(CultureInfo.InvariantCulture),
            ["epochs_done"] = state.EpochsDone.ToString(CultureInfo.InvariantCulture),
            ["batches_done"] = state.BatchesDone.ToString(CultureInfo.InvariantCulture),
            ["epoch_loss_sum"] = state.EpochLossSum.ToString("R", CultureInfo.InvariantCulture),
            ["epoch_seconds"] = state.EpochSeconds.ToString("R", CultureInfo.InvariantCulture),
            ["shuffle_state"] = string.Join(",", state.ShuffleState.Select(s => s.ToString(CultureInfo.InvariantCulture))),
            ["best_monitor_loss"] = state.BestMonitorLoss.ToString("R", CultureInfo.InvariantCulture),
            ["best_epoch"] = state.BestEpoch.ToString(CultureInfo.InvariantCulture),
            ["bad_evaluations"] = state.BadEvaluations.ToString(CultureInfo.InvariantCulture),
        };
        SafeTensors.Write(path, tensors.Select(t => (t.Name, t.Shape, (ReadOnlyMemory<float>)t.Data)), meta);
    }

    /// <summary>Reads a run's checkpoint and checks it against the model its request describes and the run's history.</summary>
    public static CheckpointContents Load(string path, IReadOnlyList<EpochRecord> history)
    {
        string name = Path.GetFileName(path);
        if (!File.Exists(path))
            throw new DataFormatException($"{path}: no checkpoint here; only an interrupted run can be resumed");
        SafeTensorsFile file = SafeTensors.Read(path);
        var meta = file.Metadata;
        string Get(string key) => meta.TryGetValue(key, out string? v) ? v
            : throw new DataFormatException($"{name}: checkpoint metadata '{key}' is missing; the file is not an aemnist checkpoint");
        string format = Get("format");
        if (format != Format)
            throw new DataFormatException(format == "aemnist-checkpoint-1"
                ? $"{name}: this checkpoint was written by an older aemnist (format 1) and cannot be resumed by this one; train the run again"
                : $"{name}: checkpoint format '{format}' is not {Format}");
        try
        {
            TrainRequest request = ParseRequest(JsonNode.Parse(Get("request"))!.AsObject());
            ModelSpec spec = request.Train.Spec();
            var all = new StateDict(file.Names.Select(n => new NamedTensor(n, file.Tensors[n].Shape, file.Tensors[n].Data)));
            StateDict Weights(string prefix, string what)
            {
                StateDict section = new(spec.StateEntries.Select(e => all.TryGet(prefix + e.Name, out NamedTensor t) ? t with { Name = e.Name }
                    : throw new DataFormatException($"{name}: checkpoint tensor '{prefix}{e.Name}' ({what}) is missing")));
                try { spec.CheckWeights(section); }
                catch (ArgumentException e) { throw new DataFormatException($"{name}: checkpoint {what}: {e.Message}"); }
                return section;
            }
            StateDict weights = Weights("", "weights");
            StateDict optimizer = all.Section(AdamPrefix);
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
                BestWeights = all.Tensors.Any(t => t.Name.StartsWith(BestPrefix, StringComparison.Ordinal)) ? Weights(BestPrefix, "best weights") : null,
            };
            if (history.Count != state.EpochsDone)
                throw new DataFormatException($"{name}: checkpoint is at epoch {state.EpochsDone} but history.csv has {history.Count} rows; the run directory is inconsistent");
            state.History.AddRange(history);
            return new CheckpointContents(request, weights, optimizer, long.Parse(Get("adam_step"), CultureInfo.InvariantCulture), state);
        }
        catch (Exception e) when (e is FormatException or OverflowException or JsonException or InvalidOperationException or NullReferenceException or ArgumentException)
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
        ["compute"] = ComputeJson(r.Compute),
    };

    /// <summary>The split options as JSON (checkpoint metadata and run.json's "split"); its seed is the run's one seed.</summary>
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

    /// <summary>The training options as JSON (checkpoint metadata and run.json's "options"): the model, its settings by name, the hyper-parameters.</summary>
    public static JsonObject TrainJson(TrainOptions t)
    {
        var json = new JsonObject { ["model"] = t.Model };
        foreach ((ArchitectureOption option, int[] values) in t.ResolvedSettings.Items)
            json[option.Name] = option.IsList ? new JsonArray([.. values.Select(v => (JsonNode)v)]) : values[0];
        json["epochs"] = t.Epochs;
        json["batch_size"] = t.BatchSize;
        json["lr"] = t.LearningRate;
        json["weight_decay"] = t.WeightDecay;
        json["eval_every"] = t.EvalEvery;
        json["patience"] = t.Patience;
        json["keep"] = t.Keep == KeepCheckpoint.Best ? "best" : "last";
        json["contamination"] = t.Contamination;
        json["score"] = Evaluation.AnomalyScore.Name(t.Score);
        json["noise"] = t.Noise;
        return json;
    }

    /// <summary>The engine, device and threads as JSON.</summary>
    public static JsonObject ComputeJson(ComputeOptions c) => new()
    {
        ["engine"] = c.Engine,
        ["device"] = c.Device,
        ["threads"] = c.Threads,
    };

    private static TrainRequest ParseRequest(JsonObject o)
    {
        JsonObject s = o["split"]!.AsObject(), t = o["train"]!.AsObject(), c = o["compute"]!.AsObject();
        if (!SplitOptions.TryParseProtocol((string)s["protocol"]!, out SplitProtocol protocol))
            throw new FormatException($"protocol '{(string)s["protocol"]!}' is not seed or one-class");
        var split = new SplitOptions(protocol, (int)s["normal"]!, (int)s["train_normal"]!, (int)s["train_anomalies"]!,
            (int)s["test_normal"]!, (int)s["test_anomalies"]!, (double)s["validation"]!, (ulong)s["seed"]!);
        Architecture architecture = Architectures.Get((string)t["model"]!);
        var settings = architecture.Settings(architecture.Options.Where(option => t[option.Name] is not null).ToDictionary(
            option => option.Name,
            option => t[option.Name] is JsonArray list ? string.Join(",", list.Select(x => ((int)x!).ToString(CultureInfo.InvariantCulture)))
                : ((int)t[option.Name]!).ToString(CultureInfo.InvariantCulture)));
        var train = new TrainOptions(
            Model: architecture.Name,
            Settings: settings,
            Epochs: (int)t["epochs"]!,
            BatchSize: (int)t["batch_size"]!,
            LearningRate: (double)t["lr"]!,
            WeightDecay: (double)t["weight_decay"]!,
            EvalEvery: (int)t["eval_every"]!,
            Patience: (int)t["patience"]!,
            Keep: (string)t["keep"]! == "last" ? KeepCheckpoint.Last : KeepCheckpoint.Best,
            Contamination: (double)t["contamination"]!,
            Score: t["score"] is { } score ? Evaluation.AnomalyScore.Parse((string)score!) : Evaluation.ScoreKind.Mse,
            Noise: t["noise"] is { } noise ? (double)noise : 0.0);
        var compute = new ComputeOptions((string)c["engine"]!, (string)c["device"]!, (int)c["threads"]!);
        return new TrainRequest(split, train, compute, (string)o["runs_directory"]!, (string?)o["run_name"]);
    }
}
