// checkpoint.safetensors: the one commit point of a run directory. It holds everything a run needs to continue
// bit-identically, as named tensors any engine can read — the weights under their state-dict names, the optimiser's
// moments ("adam.exp_avg.NAME", "adam.exp_avg_sq.NAME"), the best weights so far ("best.NAME") — and in the metadata
// the optimiser's step, the shuffle generator's state, the position inside the epoch, the history of the finished
// epochs, and the request the run was started with (options, data directory and checksum, collapse retries), as
// JSON. A finished run's last checkpoint is "final": it holds the model's weights, its threshold and run.json, from
// which model.safetensors, history.csv and run.json are written; so a run killed (or out of disk) while writing
// them is completed by `train --resume`. Every field is validated on load, naming the file and the field, before
// anything is changed.
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Serialization;

namespace AeMnist.Training;

/// <summary>What a finished run writes: its model's metadata (the weights are the checkpoint's) and run.json.</summary>
public sealed record FinalRun(ModelMetadata Model, string RunJson, StopReason Reason, string? Message);

/// <summary>A checkpoint's contents: the request, the weights, the optimiser state and the trainer's state (and, when the run finished, what it writes).</summary>
public sealed record CheckpointContents(TrainRequest Request, StateDict Weights, StateDict OptimizerState, long OptimizerSteps, TrainState State)
{
    public FinalRun? Final { get; init; }
}

public static class Checkpoint
{
    private const string Format = "aemnist-checkpoint-3", Format2 = "aemnist-checkpoint-2";
    private const string AdamPrefix = "adam.", BestPrefix = "best.";

    public static void Save(string path, CheckpointContents c)
    {
        TrainState state = c.State;
        IEnumerable<NamedTensor> tensors = c.Weights.Tensors;
        if (c.Final is null)
        {
            tensors = tensors.Concat(c.OptimizerState.WithPrefix(AdamPrefix).Tensors);
            if (state.BestWeights is { } best) tensors = tensors.Concat(best.WithPrefix(BestPrefix).Tensors);
        }
        var meta = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["request"] = RequestJson(c.Request).ToJsonString(),
            ["adam_step"] = c.OptimizerSteps.ToString(CultureInfo.InvariantCulture),
            ["epochs_done"] = state.EpochsDone.ToString(CultureInfo.InvariantCulture),
            ["batches_done"] = state.BatchesDone.ToString(CultureInfo.InvariantCulture),
            ["epoch_loss_sum"] = state.EpochLossSum.ToString("R", CultureInfo.InvariantCulture),
            ["epoch_seconds"] = state.EpochSeconds.ToString("R", CultureInfo.InvariantCulture),
            ["shuffle_state"] = string.Join(",", state.ShuffleState.Select(s => s.ToString(CultureInfo.InvariantCulture))),
            ["best_monitor_loss"] = state.BestMonitorLoss.ToString("R", CultureInfo.InvariantCulture),
            ["best_epoch"] = state.BestEpoch.ToString(CultureInfo.InvariantCulture),
            ["bad_evaluations"] = state.BadEvaluations.ToString(CultureInfo.InvariantCulture),
            ["constant_evaluations"] = state.ConstantEvaluations.ToString(CultureInfo.InvariantCulture),
            ["history"] = RunDirectory.HistoryText(state.History),
        };
        if (c.Final is { } final)
        {
            meta["final"] = "true";
            meta["status"] = TrainJob.StatusName(final.Reason);
            if (final.Message is not null) meta["message"] = final.Message;
            meta["threshold"] = (final.Model.Threshold ?? double.NaN).ToString("R", CultureInfo.InvariantCulture);
            meta["collapsed"] = final.Model.Collapsed ? "true" : "false";
            meta["run_json"] = final.RunJson;
        }
        SafeTensors.Write(path, tensors.Select(t => (t.Name, t.Shape, (ReadOnlyMemory<float>)t.Data)), meta);
    }

    /// <summary>True when the checkpoint at <paramref name="path"/> is a finished run's (reads only its header).</summary>
    public static bool IsFinal(string path)
    {
        try { return SafeTensors.ReadHeader(path).Metadata.TryGetValue("final", out string? f) && f == "true"; }
        catch (DataFormatException) { return false; }
    }

    /// <summary>
    /// Reads a run's checkpoint and checks every field: the request (each option in range), the position, the history,
    /// and every tensor against the model the request describes (present, the right shape, finite). Format-2 checkpoints
    /// (which kept their history in history.csv) are read with <paramref name="legacyHistory"/>.
    /// </summary>
    public static CheckpointContents Load(string path, Func<IReadOnlyList<EpochRecord>>? legacyHistory = null)
    {
        string name = Path.GetFileName(path);
        if (!File.Exists(path))
            throw new DataFormatException($"{path}: no checkpoint here; only an interrupted run can be resumed");
        TrainRequest? request = null;
        ModelSpec? spec = null;
        // Names, shapes and metadata are checked before the tensors' data is read.
        SafeTensorsFile file = SafeTensors.Read(path, header =>
        {
            var meta = new Meta(header.Metadata, name);
            string format = meta.String("format");
            if (format != Format && format != Format2)
                throw new DataFormatException(format == "aemnist-checkpoint-1"
                    ? $"{name}: this checkpoint was written by an older aemnist (format 1) and cannot be resumed by this one; train the run again"
                    : $"{name}: checkpoint format {MessageText.Quote(format)} is not {Format}");
            request = ParseRequest(meta.Json("request"), name);
            spec = request.Train.Spec();
            CheckTensorNames(header, spec, meta.Has("final"), name);
        });
        var m = new Meta(file.Metadata, name);
        bool final = m.Has("final") && m.Bool("final");
        var all = new StateDict(file.Names.Select(n => new NamedTensor(n, file.Tensors[n].Shape, file.Tensors[n].Data)));
        StateDict Section(string prefix, string what)
        {
            var section = new StateDict(spec!.StateEntries.Select(e => all[prefix + e.Name] with { Name = e.Name }));
            ModelFile.CheckFinite(section, name, what.Length == 0 ? "checkpoint " : $"checkpoint {what} ");
            return section;
        }
        StateDict weights = Section("", "");
        TrainOptions t = request!.Train;
        var state = new TrainState
        {
            EpochsDone = m.Int("epochs_done", 0, t.Epochs),
            BatchesDone = m.Int("batches_done", 0, int.MaxValue),
            EpochLossSum = m.Double("epoch_loss_sum", 0, double.MaxValue),
            EpochSeconds = m.Double("epoch_seconds", 0, double.MaxValue),
            ShuffleState = m.ShuffleState("shuffle_state"),
            BestMonitorLoss = m.Double("best_monitor_loss", 0, double.PositiveInfinity),
            BestEpoch = m.Int("best_epoch", 0, t.Epochs),
            BadEvaluations = m.Int("bad_evaluations", 0, t.Patience),
            // The collapse count (--retry-collapsed): a resumed run must stop where an uninterrupted one would.
            ConstantEvaluations = m.Has("constant_evaluations") ? m.Int("constant_evaluations", 0, Trainer.CollapseEvaluations) : 0,
            BestWeights = !final && all.Tensors.Any(x => x.Name.StartsWith(BestPrefix, StringComparison.Ordinal)) ? Section(BestPrefix, "best weights") : null,
        };
        long steps = m.Long("adam_step", 0, long.MaxValue);
        if (state.BestEpoch > state.EpochsDone)
            throw m.Bad("best_epoch", state.BestEpoch.ToString(CultureInfo.InvariantCulture), $"an epoch 0-{state.EpochsDone} (epochs_done)");
        if ((state.BestWeights is null) != (state.BestEpoch == 0) && !final)
            throw new DataFormatException($"{name}: checkpoint {(state.BestWeights is null ? "has no best weights" : "has best weights")} but best_epoch is {state.BestEpoch}; the file is inconsistent");
        IReadOnlyList<EpochRecord> history = m.Has("history")
            ? RunDirectory.ParseHistory(m.String("history"), $"{name}: checkpoint field 'history'")
            : legacyHistory?.Invoke() ?? throw new DataFormatException($"{name}: checkpoint metadata 'history' is missing; the file is not an aemnist checkpoint");
        if (history.Count != state.EpochsDone)
            throw new DataFormatException(m.Has("history")
                ? $"{name}: checkpoint is at epoch {state.EpochsDone} but its history has {history.Count} epochs; the file is inconsistent"
                : $"{name}: checkpoint is at epoch {state.EpochsDone} but history.csv has {history.Count} rows; the run directory is inconsistent");
        state.History.AddRange(history);
        StateDict optimizer = final ? new StateDict([]) : all.Section(AdamPrefix);
        if (!final)
            foreach (NamedTensor moment in optimizer.Tensors)
                ModelFile.CheckFinite(new StateDict([moment]), name, "checkpoint optimiser ");
        var contents = new CheckpointContents(request, weights, optimizer, steps, state);
        if (!final) return contents;
        double threshold = m.Double("threshold", 0, double.MaxValue);
        var metadata = TrainJob.ModelMetadataOf(request, threshold, m.Bool("collapsed"));
        StopReason reason = TrainJob.ParseStatus(m.String("status")) ?? throw m.Bad("status", m.String("status"), "completed, early-stopped or diverged");
        try { JsonNode.Parse(m.String("run_json")); }
        catch (JsonException) { throw m.Bad("run_json", m.String("run_json"), "run.json's JSON text"); }
        return contents with { Final = new FinalRun(metadata, m.String("run_json"), reason, m.Has("message") ? m.String("message") : null) };
    }

    /// <summary>Checks a restored position against the split it trains on: batches within the epoch, the optimiser's step count.</summary>
    public static void CheckPosition(CheckpointContents c, int trainCount, string path)
    {
        if (c.Final is not null) return;
        string name = Path.GetFileName(path);
        long batches = (trainCount + (long)Math.Min(c.Request.Train.BatchSize, Math.Max(trainCount, 1)) - 1) / Math.Min(c.Request.Train.BatchSize, Math.Max(trainCount, 1));
        if (c.State.BatchesDone >= batches && c.State.BatchesDone > 0)
            throw new DataFormatException($"{name}: checkpoint field 'batches_done' is {c.State.BatchesDone}, but an epoch has {batches} batches; the file is inconsistent");
        long steps = c.State.EpochsDone * batches + c.State.BatchesDone;
        if (c.OptimizerSteps != steps)
            throw new DataFormatException($"{name}: checkpoint field 'adam_step' is {c.OptimizerSteps}, but {c.State.EpochsDone} epochs of {batches} batches and {c.State.BatchesDone} more make {steps}; the file is inconsistent");
    }

    private static void CheckTensorNames(SafeTensorsHeaderInfo header, ModelSpec spec, bool final, string name)
    {
        var shapes = header.Shapes;
        var expected = new List<(string Name, int[] Shape, string What)>();
        foreach (StateEntry e in spec.StateEntries) expected.Add((e.Name, e.Shape, "weights"));
        if (!final)
        {
            foreach (StateEntry e in spec.ParameterEntries) expected.Add((AdamPrefix + "exp_avg." + e.Name, e.Shape, "optimiser state"));
            foreach (StateEntry e in spec.ParameterEntries) expected.Add((AdamPrefix + "exp_avg_sq." + e.Name, e.Shape, "optimiser state"));
            if (shapes.Keys.Any(k => k.StartsWith(BestPrefix, StringComparison.Ordinal)))
                foreach (StateEntry e in spec.StateEntries) expected.Add((BestPrefix + e.Name, e.Shape, "best weights"));
        }
        foreach (var (tensor, shape, what) in expected)
        {
            if (!shapes.TryGetValue(tensor, out int[]? found))
                throw new DataFormatException($"{name}: checkpoint tensor {MessageText.Quote(tensor)} ({what}) is missing for {spec.Describe()}");
            if (!found.SequenceEqual(shape))
                throw new DataFormatException($"{name}: checkpoint tensor {MessageText.Quote(tensor)} has shape [{string.Join(", ", found)}], expected [{string.Join(", ", shape)}] for {spec.Describe()}");
        }
        if (shapes.Count != expected.Count)
        {
            var known = expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
            throw new DataFormatException($"{name}: unexpected checkpoint tensor {MessageText.Quote(shapes.Keys.First(k => !known.Contains(k)))} for {spec.Describe()}");
        }
    }

    private static JsonObject RequestJson(TrainRequest r)
    {
        var json = new JsonObject
        {
            ["runs_directory"] = r.RunsDirectory,
            ["run_name"] = r.RunName,
            ["split"] = SplitJson(r.Split),
            ["train"] = TrainJson(r.Train),
            ["compute"] = ComputeJson(r.Compute),
            ["retry_collapsed"] = r.RetryCollapsed,
            ["collapsed_seeds"] = new JsonArray([.. r.CollapsedSeeds.Select(s => (JsonNode)s)]),
        };
        if (r.Data is { } data) json["data"] = new JsonObject { ["directory"] = data.Directory, ["sha256"] = data.Sha256 };
        return json;
    }

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
        // Written only when not constant, so that the records (and benchmark cells) of runs before schedules are unchanged.
        if (t.Schedule != LrSchedule.Constant) json["lr_schedule"] = TrainOptions.ScheduleName(t.Schedule);
        return json;
    }

    /// <summary>The engine, device and threads as JSON.</summary>
    public static JsonObject ComputeJson(ComputeOptions c) => new()
    {
        ["engine"] = c.Engine,
        ["device"] = c.Device,
        ["threads"] = c.Threads,
    };

    // The request, field by field: each must be there, of its type and in its range; the message names the field.
    private static TrainRequest ParseRequest(JsonObject o, string file)
    {
        var root = new Fields(o, file, "");
        Fields s = root.Object("split"), t = root.Object("train"), c = root.Object("compute");
        string protocolText = s.String("protocol");
        if (!SplitOptions.TryParseProtocol(protocolText, out SplitProtocol protocol)) throw s.Bad("protocol", "seed or one-class");
        var split = new SplitOptions(protocol, s.Int("normal", 0, 9), s.Int("train_normal", 1, int.MaxValue), s.Int("train_anomalies", 0, int.MaxValue),
            s.Int("test_normal", 1, int.MaxValue), s.Int("test_anomalies", 1, int.MaxValue), s.Double("validation", 0, 0.999999999), s.ULong("seed"));
        string modelName = t.String("model");
        Architecture architecture = Architectures.Find(modelName) ?? throw t.Bad("model", Architectures.Names);
        var given = new Dictionary<string, string>();
        foreach (ArchitectureOption option in architecture.Options)
        {
            if (!t.Has(option.Name)) continue;
            given[option.Name] = option.IsList
                ? string.Join(",", t.IntArray(option.Name, option.Min, option.Max).Select(v => v.ToString(CultureInfo.InvariantCulture)))
                : t.Int(option.Name, option.Min, option.Max).ToString(CultureInfo.InvariantCulture);
        }
        ArchitectureSettings settings;
        try { settings = architecture.Settings(given); }
        catch (ArgumentException e) { throw new DataFormatException($"{file}: checkpoint field 'train': {e.Message}"); }
        string keep = t.String("keep");
        var train = new TrainOptions(
            Model: architecture.Name,
            Settings: settings,
            Epochs: t.Int("epochs", 1, int.MaxValue),
            BatchSize: t.Int("batch_size", 1, int.MaxValue),
            LearningRate: t.Double("lr", double.Epsilon, double.MaxValue),
            WeightDecay: t.Double("weight_decay", 0, double.MaxValue),
            EvalEvery: t.Int("eval_every", 1, int.MaxValue),
            Patience: t.Int("patience", 1, int.MaxValue),
            Keep: keep switch { "best" => KeepCheckpoint.Best, "last" => KeepCheckpoint.Last, _ => throw t.Bad("keep", "best or last") },
            Contamination: t.Double("contamination", double.Epsilon, 0.5),
            Score: t.Has("score") ? (Evaluation.AnomalyScore.TryParse(t.String("score"), out Evaluation.ScoreKind score) ? score
                : throw t.Bad("score", string.Join(", ", Evaluation.AnomalyScore.All.Select(Evaluation.AnomalyScore.Name)))) : Evaluation.ScoreKind.Mse,
            Noise: t.Has("noise") ? t.Double("noise", 0, 1e6) : 0.0,
            Schedule: !t.Has("lr_schedule") ? LrSchedule.Constant
                : t.String("lr_schedule") switch { "constant" => LrSchedule.Constant, "cosine" => LrSchedule.Cosine, _ => throw t.Bad("lr_schedule", "constant or cosine") });
        try
        {
            train.Validate();
            ModelSpec.CheckSize(train.Spec());
        }
        catch (ArgumentException e) { throw new DataFormatException($"{file}: checkpoint field 'train': {e.Message}"); }
        var compute = new ComputeOptions(c.String("engine"), c.String("device"), c.Int("threads", 1, 1 << 16));
        DataRecord? data = null;
        if (root.Has("data"))
        {
            Fields d = root.Object("data");
            string sha = d.String("sha256");
            if (sha.Length != 64 || !sha.All(char.IsAsciiHexDigitLower)) throw d.Bad("sha256", "64 lowercase hexadecimal digits");
            data = new DataRecord(d.String("directory"), sha);
        }
        return new TrainRequest(split, train, compute, root.String("runs_directory"), root.Has("run_name") && o["run_name"] is not null ? root.String("run_name") : null)
        {
            RetryCollapsed = root.Has("retry_collapsed") ? root.Int("retry_collapsed", 0, TrainRequest.MaxRetries) : 0,
            CollapsedSeeds = root.Has("collapsed_seeds") ? root.ULongArray("collapsed_seeds") : [],
            Data = data,
        };
    }

    /// <summary>Typed, range-checked fields of a JSON object; a problem is a one-line error naming the file and the field.</summary>
    private sealed class Fields(JsonObject o, string file, string prefix)
    {
        public bool Has(string key) => o.ContainsKey(key);

        public DataFormatException Bad(string key, string expected) =>
            new($"{file}: checkpoint field 'request.{prefix}{key}' is {(o[key] is JsonValue v && v.TryGetValue(out string? text) ? MessageText.Quote(text, 40)
                : o[key] is { } n ? MessageText.Quote(n.ToJsonString(), 40) : "missing")}; expected {expected}");

        private JsonValue Value(string key, string expected) => o[key] as JsonValue ?? throw Bad(key, expected);

        public Fields Object(string key) => new(o[key] as JsonObject ?? throw Bad(key, "an object"), file, $"{prefix}{key}.");

        public string String(string key) => Value(key, "a string").TryGetValue(out string? v) ? v : throw Bad(key, "a string");

        public int Int(string key, int min, int max)
        {
            string expected = max == int.MaxValue ? $"an integer {min} or more" : $"an integer {min}-{max}";
            return Value(key, expected).TryGetValue(out int v) && v >= min && v <= max ? v
                : Value(key, expected).TryGetValue(out double d) && d == Math.Floor(d) && d >= min && d <= max ? (int)d
                : throw Bad(key, expected);
        }

        public ulong ULong(string key) =>
            Value(key, "a non-negative integer").TryGetValue(out ulong v) ? v : throw Bad(key, "a non-negative integer");

        public double Double(string key, double min, double max)
        {
            string expected = max >= double.MaxValue ? (min > 0 ? "a positive number" : $"a number {min} or more") : $"a number {min.ToString(CultureInfo.InvariantCulture)}-{max.ToString(CultureInfo.InvariantCulture)}";
            return Value(key, expected).TryGetValue(out double v) && double.IsFinite(v) && v >= min && v <= max ? v : throw Bad(key, expected);
        }

        public int[] IntArray(string key, int min, int max)
        {
            if (o[key] is not JsonArray list || list.Count == 0) throw Bad(key, $"a list of integers {min}-{max}");
            return [.. list.Select(x => x is JsonValue v && v.TryGetValue(out int i) && i >= min && i <= max ? i : throw Bad(key, $"a list of integers {min}-{max}"))];
        }

        public ulong[] ULongArray(string key)
        {
            if (o[key] is not JsonArray list) throw Bad(key, "a list of seeds");
            return [.. list.Select(x => x is JsonValue v && v.TryGetValue(out ulong i) ? i : throw Bad(key, "a list of seeds"))];
        }
    }

    /// <summary>Typed, range-checked metadata strings; a problem is a one-line error naming the file and the key.</summary>
    private sealed class Meta(IReadOnlyDictionary<string, string> meta, string file)
    {
        public bool Has(string key) => meta.ContainsKey(key);

        public DataFormatException Bad(string key, string value, string expected) =>
            new($"{file}: checkpoint field '{key}' is {MessageText.Quote(value, 40)}; expected {expected}");

        public string String(string key) => meta.TryGetValue(key, out string? v) ? v
            : throw new DataFormatException($"{file}: checkpoint field '{key}' is missing; the file is not an aemnist checkpoint");

        public JsonObject Json(string key)
        {
            try { return JsonNode.Parse(String(key)) as JsonObject ?? throw Bad(key, String(key), "a JSON object"); }
            catch (JsonException) { throw Bad(key, String(key), "a JSON object"); }
        }

        public bool Bool(string key) => String(key) switch { "true" => true, "false" => false, var v => throw Bad(key, v, "true or false") };

        public int Int(string key, int min, int max) =>
            StrictNumbers.TryParseInt(String(key), out int v) && v >= min && v <= max ? v
                : throw Bad(key, String(key), max == int.MaxValue ? $"an integer {min} or more" : $"an integer {min}-{max}");

        public long Long(string key, long min, long max) =>
            StrictNumbers.TryParseLong(String(key), out long v) && v >= min && v <= max ? v
                : throw Bad(key, String(key), $"an integer {min} or more");

        public double Double(string key, double min, double max) =>
            StrictNumbers.TryParseDouble(String(key), out double v) && !double.IsNaN(v) && v >= min && v <= max
                && (double.IsFinite(v) || double.IsPositiveInfinity(max)) ? v
                : throw Bad(key, String(key), double.IsPositiveInfinity(max) ? $"a number {min} or more, or Infinity" : $"a number {min} or more");

        public ulong[] ShuffleState(string key)
        {
            string text = String(key);
            string[] parts = text.Split(',');
            var words = new ulong[parts.Length];
            for (int i = 0; i < parts.Length; i++)
                if (!StrictNumbers.TryParseULong(parts[i], out words[i]) || parts[i].StartsWith('+')) throw Bad(key, text, "four comma-separated integers");
            if (words.Length != 4 || words.All(w => w == 0)) throw Bad(key, text, "four comma-separated integers, not all zero");
            return words;
        }
    }
}
