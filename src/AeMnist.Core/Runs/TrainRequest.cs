// A training run as an immutable request, built and validated once at the edge (the CLI, a benchmark configuration, a
// checkpoint's metadata), and the one serializer of a request to JSON and back: the checkpoint stores it (to resume),
// run.json records it ("options", "split.options"), and a benchmark cell records its configuration with it.
using System.Globalization;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Models;
using AeMnist.Scoring;
using AeMnist.Tensors;
using AeMnist.Training;

namespace AeMnist.Runs;

/// <summary>
/// The data a run was trained on: its directory (or file) and the checksum of its contents (<see cref="Dataset.Sha256"/>),
/// and how to read it again: the --input paths of normal images (null for a labelled dataset at <see cref="Directory"/>)
/// and the rules the images were read with (--size, --channels, --invert).
/// </summary>
public sealed record DataRecord(string Directory, string Sha256)
{
    public IReadOnlyList<string>? Inputs { get; init; }

    public ImageRules Rules { get; init; } = new();

    /// <summary>As JSON: directory and sha256, and the rest only when set (so MNIST runs' records are unchanged).</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject { ["directory"] = Directory, ["sha256"] = Sha256 };
        if (Inputs is not null) json["inputs"] = new JsonArray([.. Inputs.Select(i => (JsonNode)i)]);
        if (Rules.Size is { } size) json["size"] = FormattableString.Invariant($"{size.Height}x{size.Width}");
        if (Rules.Channels is { } channels) json["channels"] = channels;
        if (Rules.Invert) json["invert"] = true;
        return json;
    }

    internal static DataRecord Read(JsonFields d, bool requireSha = true)
    {
        string? sha = requireSha ? d.String("sha256") : d.OptionalString("sha256");
        if (sha is not null && (sha.Length != 64 || !sha.All(char.IsAsciiHexDigitLower))) throw d.Bad("sha256", "64 lowercase hexadecimal digits");
        (int, int)? size = null;
        if (d.HasValue("size"))
        {
            try { size = ImageRules.ParseSize(d.String("size")); }
            catch (ArgumentException) { throw d.Bad("size", "HEIGHTxWIDTH"); }
        }
        return new DataRecord(d.OptionalString("directory") ?? "", sha ?? "")
        {
            Inputs = d.Has("inputs") ? d.StringArray("inputs") : null,
            Rules = new ImageRules { Size = size, Channels = d.HasValue("channels") ? d.Int("channels", 1, 3) : null, Invert = d.HasValue("invert") && d.Bool("invert") },
        };
    }
}

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

    /// <summary>The normal class's name, for data that is not MNIST (MNIST's is the digit <see cref="SplitOptions.Normal"/>).</summary>
    public string? NormalClass { get; init; }

    /// <summary>
    /// Training commits a checkpoint after an evaluation when at least this long has passed since the last commit (each
    /// costs a flush to disk); it always commits when it starts, stops or is interrupted. Not recorded: it changes no result.
    /// </summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether another collapse may be retried with the next seed.</summary>
    public bool MayRetry => CollapsedSeeds.Count < RetryCollapsed;

    /// <summary>The request of the next attempt after the model of this one collapsed: the next seed not tried yet.</summary>
    public TrainRequest NextAttempt()
    {
        ulong collapsed = Seed, next = collapsed + 1;
        while (CollapsedSeeds.Contains(next) || next == collapsed) next = unchecked(next + 1);
        return this with { Split = Split with { Seed = next }, CollapsedSeeds = [.. CollapsedSeeds, collapsed] };
    }

    /// <summary>The seed the user asked for (the first one tried).</summary>
    public ulong RequestedSeed => CollapsedSeeds.Count > 0 ? CollapsedSeeds[0] : Seed;
}

/// <summary>The one reader and writer of requests as JSON.</summary>
public static class RequestJson
{
    public static JsonObject Write(TrainRequest r)
    {
        var json = new JsonObject
        {
            ["runs_directory"] = r.RunsDirectory,
            ["run_name"] = r.RunName,
            ["split"] = Split(r.Split),
            ["train"] = Train(r.Train),
            ["compute"] = Compute(r.Compute),
            ["retry_collapsed"] = r.RetryCollapsed,
            ["collapsed_seeds"] = Seeds(r.CollapsedSeeds),
        };
        if (r.Data is { } data) json["data"] = data.ToJson();
        if (r.NormalClass is { } normalClass) json["normal_class"] = normalClass;
        return json;
    }

    /// <summary>The split options as JSON (checkpoint metadata and run.json's "split.options"); its seed is the run's one seed.</summary>
    public static JsonObject Split(SplitOptions s) => new()
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

    /// <summary>The training options as JSON (checkpoint metadata, run.json's "options", a benchmark cell's configuration).</summary>
    public static JsonObject Train(TrainOptions t)
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
        json["keep"] = TrainOptions.KeepName(t.Keep);
        json["contamination"] = t.Contamination;
        json["score"] = Scores.Name(t.Score);
        json["noise"] = t.Noise;
        // Written only when not constant, so that the records (and benchmark cells) of runs before schedules are unchanged.
        if (t.Schedule != LrSchedule.Constant) json["lr_schedule"] = TrainOptions.ScheduleName(t.Schedule);
        // Likewise the images' shape, only when it is not MNIST's.
        if (t.ResolvedImage != ImageShape.Mnist) json["image"] = t.ResolvedImage.Text;
        return json;
    }

    /// <summary>The engine, device and threads as JSON.</summary>
    public static JsonObject Compute(ComputeOptions c) => new()
    {
        ["engine"] = c.Engine,
        ["device"] = c.Device,
        ["threads"] = c.Threads,
    };

    public static JsonArray Seeds(IEnumerable<ulong> seeds) => new([.. seeds.Select(s => (JsonNode)s)]);

    /// <summary>A request written by <see cref="Write"/>, every field checked; a problem names <paramref name="file"/> and the field.</summary>
    public static TrainRequest Read(JsonObject o, string file)
    {
        var root = new JsonFields(o, file, "checkpoint field", "request.");
        JsonFields c = root.Fields("compute");
        DataRecord? data = root.Has("data") ? DataRecord.Read(root.Fields("data")) : null;
        SplitOptions split = ReadSplit(root.Fields("split"));
        // MNIST's requests name no class: their normal class is a digit.
        if (!root.HasValue("normal_class") && split.Normal > 9) throw root.Fields("split").Bad("normal", "a digit 0-9");
        return new TrainRequest(split, ReadTrain(root.Fields("train"), file), new ComputeOptions(c.String("engine"), c.String("device"), c.Int("threads", 1, 1 << 16)),
            root.String("runs_directory"), root.OptionalString("run_name"))
        {
            RetryCollapsed = root.Has("retry_collapsed") ? root.Int("retry_collapsed", 0, TrainRequest.MaxRetries) : 0,
            CollapsedSeeds = root.Has("collapsed_seeds") ? root.ULongArray("collapsed_seeds") : [],
            Data = data,
            NormalClass = root.OptionalString("normal_class"),
        };
    }

    internal static SplitOptions ReadSplit(JsonFields s)
    {
        string protocolText = s.String("protocol");
        if (!SplitOptions.TryParseProtocol(protocolText, out SplitProtocol protocol)) throw s.Bad("protocol", SplitOptions.ProtocolNames);
        return new SplitOptions(protocol, s.Int("normal", 0, 254), s.Int("train_normal", 1, int.MaxValue), s.Int("train_anomalies", 0, int.MaxValue),
            s.Int("test_normal", 1, int.MaxValue), s.Int("test_anomalies", 1, int.MaxValue), s.Double("validation", 0, 0.999999999), s.ULong("seed"));
    }

    /// <summary>
    /// Training options written by <see cref="Train"/>, validated; a field absent from an older file takes its default (a
    /// checkpoint's format version guarantees that its own are there).
    /// </summary>
    internal static TrainOptions ReadTrain(JsonFields t, string file)
    {
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
        catch (ArgumentException e) { throw new DataFormatException($"{file}: {t.Describe}: {e.Message}"); }
        var d = new TrainOptions();  // a field an older file did not record takes its default
        var train = new TrainOptions(
            Model: architecture.Name,
            Settings: settings,
            Epochs: t.Has("epochs") ? t.Int("epochs", 1, int.MaxValue) : d.Epochs,
            BatchSize: t.Has("batch_size") ? t.Int("batch_size", 1, int.MaxValue) : d.BatchSize,
            LearningRate: t.Has("lr") ? t.Double("lr", double.Epsilon, double.MaxValue) : d.LearningRate,
            WeightDecay: t.Has("weight_decay") ? t.Double("weight_decay", 0, double.MaxValue) : d.WeightDecay,
            EvalEvery: t.Has("eval_every") ? t.Int("eval_every", 1, int.MaxValue) : d.EvalEvery,
            Patience: t.Has("patience") ? t.Int("patience", 1, int.MaxValue) : d.Patience,
            Keep: !t.Has("keep") ? d.Keep : TrainOptions.TryParseKeep(t.String("keep"), out KeepCheckpoint keep) ? keep : throw t.Bad("keep", "best or last"),
            Contamination: t.Has("contamination") ? t.Double("contamination", double.Epsilon, 0.5) : d.Contamination,
            Score: !t.Has("score") ? d.Score : Scores.TryParse(t.String("score"), out ScoreKind score) ? score
                : throw t.Bad("score", string.Join(", ", Scores.All.Select(Scores.Name))),
            Noise: t.Has("noise") ? t.Double("noise", 0, 1e6) : d.Noise,
            Schedule: !t.Has("lr_schedule") ? d.Schedule
                : TrainOptions.TryParseSchedule(t.String("lr_schedule"), out LrSchedule schedule) ? schedule : throw t.Bad("lr_schedule", "constant or cosine"),
            Image: !t.Has("image") ? null : ImageShape.TryParse(t.String("image"), out ImageShape image) ? image : throw t.Bad("image", "channels x height x width, e.g. 3x40x40"));
        try { train.Validate(); }
        catch (ArgumentException e) { throw new DataFormatException($"{file}: {t.Describe}: {e.Message}"); }
        return train;
    }
}
