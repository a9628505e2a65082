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
using System.Text.Json;
using System.Text.Json.Nodes;
using AeMnist.Detection;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Scoring;
using AeMnist.Serialization;
using AeMnist.Training;

namespace AeMnist.Runs;

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
            ["request"] = RequestJson.Write(c.Request).ToJsonString(),
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
            ["history"] = HistoryFile.Text(state.History),
        };
        if (c.Final is { } final)
        {
            meta["final"] = "true";
            meta["status"] = RunRecord.StatusName(final.Reason);
            if (final.Message is not null) meta["message"] = final.Message;
            meta["threshold"] = (final.Model.Threshold ?? double.NaN).ToString("R", CultureInfo.InvariantCulture);
            meta["collapsed"] = final.Model.Collapsed ? "true" : "false";
            if (final.Model.Calibration is { } calibration) meta["score_calibration"] = calibration.ToJson().ToJsonString();
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
            request = RequestJson.Read(meta.Json("request"), name);
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
            ? HistoryFile.Parse(m.String("history"), $"{name}: checkpoint field 'history'")
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
        ScoreCalibration? calibration = null;
        if (m.Has("score_calibration"))
        {
            try { calibration = ScoreCalibration.FromJson(m.String("score_calibration")); }
            catch (ArgumentException e) { throw m.Bad("score_calibration", m.String("score_calibration"), $"the combined score's calibration ({e.Message})"); }
        }
        if (request.Train.Score == ScoreKind.Combined && calibration is null)
            throw new DataFormatException($"{name}: checkpoint of a run scored with combined has no 'score_calibration'; the file is inconsistent");
        var metadata = RunLifecycle.ModelMetadataOf(request, threshold, m.Bool("collapsed"), calibration);
        StopReason reason = RunRecord.ParseStatus(m.String("status")) ?? throw m.Bad("status", m.String("status"), "completed, early-stopped or diverged");
        try { JsonNode.Parse(m.String("run_json")); }
        catch (JsonException) { throw m.Bad("run_json", m.String("run_json"), "run.json's JSON text"); }
        return contents with { Final = new FinalRun(metadata, m.String("run_json"), reason, m.Has("message") ? m.String("message") : null) };
    }

    /// <summary>Checks a restored position against the split it trains on: batches within the epoch, the optimiser's step count.</summary>
    public static void CheckPosition(CheckpointContents c, int trainCount, string path)
    {
        if (c.Final is not null) return;
        string name = Path.GetFileName(path);
        long batches = Trainer.BatchesPerEpoch(trainCount, c.Request.Train.BatchSize);
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
