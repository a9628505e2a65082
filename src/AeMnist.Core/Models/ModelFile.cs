// model.safetensors: the weights under PyTorch's state-dict names and shapes, plus a string metadata map saying
// what the model is and how it was trained. A PyTorch user loads it with
// model.load_state_dict(safetensors.torch.load_file(path)); a PyTorch-trained file loads here too.
using System.Globalization;
using AeMnist.Data;
using AeMnist.IO;
using AeMnist.Serialization;

namespace AeMnist.Models;

/// <summary>What model.safetensors says about itself in <c>__metadata__</c>. Null fields were absent.</summary>
public sealed record ModelMetadata(
    Architecture Architecture,
    ArchitectureSettings Settings,
    int? Normal = null,
    string? Protocol = null,
    ulong? Seed = null,
    double? Threshold = null,
    SplitOptions? Split = null,
    Evaluation.ScoreKind? Score = null)
{
    /// <summary>The file named no architecture, and it was recognised from its tensor names and shapes.</summary>
    public bool ArchitectureGuessed { get; init; }

    /// <summary>The tensor names carried a prefix that was dropped ("module.", as torch.nn.DataParallel saves them).</summary>
    public string? DroppedPrefix { get; init; }

    public static string ToolVersion =>
        typeof(ModelFile).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";

    /// <summary>The architecture's name: "dense", "conv".</summary>
    public string Model => Architecture.Name;

    /// <summary>The model these metadata describe.</summary>
    public ModelSpec Spec() => Architecture.Spec(Settings);

    public Dictionary<string, string> ToDictionary()
    {
        var map = new Dictionary<string, string>
        {
            ["format"] = "aemnist-model",
            ["aemnist_version"] = ToolVersion,
            ["model"] = Model,
        };
        foreach ((string name, string text) in Settings.Texts) map[name] = text;
        if (Normal is { } normal) map["normal"] = normal.ToString(CultureInfo.InvariantCulture);
        if (Protocol is { } protocol) map["protocol"] = protocol;
        if (Seed is { } seed) map["seed"] = seed.ToString(CultureInfo.InvariantCulture);
        if (Threshold is { } threshold) map["threshold"] = threshold.ToString("R", CultureInfo.InvariantCulture);
        // The score the stored threshold is for; absent means mse (so files of the tutorial's runs keep their bytes).
        if (Score is { } score && score != Evaluation.ScoreKind.Mse) map["score"] = Evaluation.AnomalyScore.Name(score);
        if (Split is { } s)
        {
            map["train_normal"] = s.TrainNormal.ToString(CultureInfo.InvariantCulture);
            map["train_anomalies"] = s.TrainAnomalies.ToString(CultureInfo.InvariantCulture);
            map["test_normal"] = s.TestNormal.ToString(CultureInfo.InvariantCulture);
            map["test_anomalies"] = s.TestAnomalies.ToString(CultureInfo.InvariantCulture);
            map["validation"] = s.Validation.ToString("R", CultureInfo.InvariantCulture);
        }
        return map;
    }
}

public static class ModelFile
{
    /// <summary>Writes the weights in state-dict order with the metadata, atomically.</summary>
    public static void Save(string path, StateDict weights, ModelMetadata metadata) =>
        SafeTensors.Write(path, weights.Tensors.Select(t => (t.Name, t.Shape, (ReadOnlyMemory<float>)t.Data)), metadata.ToDictionary());

    /// <summary>
    /// Loads a model file. The architecture comes from the metadata's <c>model</c> key, or from
    /// <paramref name="modelOverride"/> for files without one (e.g. saved from PyTorch); its settings from the
    /// metadata, or else from the tensor shapes (a dense model's hidden sizes). Every tensor must match the spec.
    /// </summary>
    public static (ModelSpec Spec, StateDict Weights, ModelMetadata Metadata) Load(string path, string? modelOverride = null)
    {
        string name = Path.GetFileName(path);
        if (Directory.Exists(path))
            throw new DataFormatException($"{path}: is a directory; pass the model file, or use --run DIR");
        if (!File.Exists(path))
            throw new DataFormatException($"{path}: model file not found");
        RefuseTorchSave(path, name);
        SafeTensorsFile file = SafeTensors.Read(path);
        IReadOnlyDictionary<string, string> meta = file.Metadata;
        var weights = new StateDict(file.Names.Select(n => new NamedTensor(n, file.Tensors[n].Shape, file.Tensors[n].Data)));
        string? prefix = null;
        if (weights.Tensors.Count > 0 && weights.Tensors.All(t => t.Name.StartsWith(DataParallelPrefix, StringComparison.Ordinal)))
        {
            prefix = DataParallelPrefix;
            weights = new StateDict(weights.Tensors.Select(t => new NamedTensor(t.Name[prefix.Length..], t.Shape, t.Data)));
        }
        string? kind = modelOverride ?? (meta.TryGetValue("model", out string? m) ? m : null);
        Architecture architecture;
        bool guessed = false;
        if (kind is null)
        {
            architecture = Guess(meta, weights, name);
            guessed = true;
        }
        else
            architecture = Architectures.Find(kind)
                ?? throw new DataFormatException($"{name}: metadata names an unknown model '{kind}'; expected {Architectures.Names}");

        ArchitectureSettings settings = Settings(architecture, meta, weights, name);
        ModelSpec spec = architecture.Spec(settings);
        try
        {
            spec.CheckWeights(weights);
        }
        catch (ArgumentException e)
        {
            throw new DataFormatException($"{name}: {e.Message}");
        }
        // The file's own order may differ (a PyTorch writer sorts names); the model keeps the spec's order.
        weights = new StateDict(spec.StateEntries.Select(e => weights[e.Name]));
        return (spec, weights, ReadMetadata(meta, architecture, settings, name) with { ArchitectureGuessed = guessed, DroppedPrefix = prefix });
    }

    /// <summary>The prefix torch.nn.DataParallel (and DistributedDataParallel) puts before every state-dict name.</summary>
    public const string DataParallelPrefix = "module.";

    // The one architecture whose spec the tensors fit exactly (names and shapes), for files without 'model' metadata.
    private static Architecture Guess(IReadOnlyDictionary<string, string> meta, StateDict weights, string name)
    {
        var fits = new List<Architecture>();
        foreach (Architecture candidate in Architectures.All)
        {
            try
            {
                candidate.Spec(Settings(candidate, meta, weights, name)).CheckWeights(weights);
                fits.Add(candidate);
            }
            catch (Exception e) when (e is ArgumentException or DataFormatException or OverflowException) { }
        }
        if (fits.Count == 1) return fits[0];
        string tensors = string.Join(", ", weights.Tensors.Take(4).Select(t => $"{MessageText.Quote(t.Name, 40)} [{string.Join(", ", t.Shape)}]"))
                         + (weights.Tensors.Count > 4 ? ", ..." : "");
        string choices = string.Join(" or ", Architectures.All.Select(a => "--model " + a.Name));
        return fits.Count == 0
            ? throw new DataFormatException($"{name}: has no 'model' metadata and its tensors ({tensors}) fit none of the architectures ({Architectures.Names}); save the state dict of one of them, or pass {choices}")
            : throw new DataFormatException($"{name}: has no 'model' metadata and its tensors fit {string.Join(" and ", fits.Select(f => f.Name))}; pass {choices}");
    }

    // torch.save writes a zip archive (PyTorch 1.6 and later) or a bare pickle; neither is a safetensors file.
    private static void RefuseTorchSave(string path, string name)
    {
        Span<byte> head = stackalloc byte[4];
        int n;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{path}: cannot read file ({e.Message.TrimEnd('.')})", e);
        }
        bool zip = n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
        bool pickle = n >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5;
        if (zip || pickle)
            throw new DataFormatException($"{name}: this is a torch.save file ({(zip ? "a zip archive" : "a pickle")}), not safetensors; save a state dict with safetensors: "
                + "from safetensors.torch import save_file; save_file(model.state_dict(), \"model.safetensors\")");
    }

    // Each option from the metadata when recorded, else from the shapes (files saved elsewhere), else its default.
    private static ArchitectureSettings Settings(Architecture architecture, IReadOnlyDictionary<string, string> meta, StateDict weights, string name)
    {
        ArchitectureSettings? fromShapes = architecture.SettingsFromShapes(weights.Tensors.ToDictionary(t => t.Name, t => t.Shape));
        var given = new Dictionary<string, string>();
        foreach (ArchitectureOption option in architecture.Options)
        {
            if (meta.TryGetValue(option.Name, out string? text)) given[option.Name] = text;
            else if (fromShapes is not null) given[option.Name] = ArchitectureOption.Format(fromShapes[option]);
        }
        try
        {
            return architecture.Settings(given);
        }
        catch (ArgumentException e)
        {
            throw new DataFormatException($"{name}: metadata {e.Message.Replace("--", "", StringComparison.Ordinal)}");
        }
    }

    private static ModelMetadata ReadMetadata(IReadOnlyDictionary<string, string> meta, Architecture architecture, ArchitectureSettings settings, string name)
    {
        int? Int(string key) => meta.TryGetValue(key, out string? v)
            ? int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x) ? x
                : throw new DataFormatException($"{name}: metadata '{key}' is '{v}', expected an integer")
            : null;
        double? Double(string key) => meta.TryGetValue(key, out string? v)
            ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.IsFinite(x) ? x
                : throw new DataFormatException($"{name}: metadata '{key}' is '{v}', expected a number")
            : null;
        ulong? seed = meta.TryGetValue("seed", out string? s)
            ? ulong.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong x) ? x
                : throw new DataFormatException($"{name}: metadata 'seed' is '{s}', expected an integer")
            : null;
        int? normal = Int("normal");
        if (normal is < 0 or > 9) throw new DataFormatException($"{name}: metadata 'normal' is {normal}, expected a digit 0-9");
        string? protocolText = meta.TryGetValue("protocol", out string? p) ? p : null;
        SplitOptions? split = null;
        if (normal is { } digit && protocolText is not null && seed is { } seedValue)
        {
            if (!SplitOptions.TryParseProtocol(protocolText, out SplitProtocol protocol))
                throw new DataFormatException($"{name}: metadata 'protocol' is '{protocolText}', expected seed or one-class");
            var defaults = new SplitOptions();
            split = new SplitOptions(protocol, digit,
                Int("train_normal") ?? defaults.TrainNormal, Int("train_anomalies") ?? defaults.TrainAnomalies,
                Int("test_normal") ?? defaults.TestNormal, Int("test_anomalies") ?? defaults.TestAnomalies,
                Double("validation") ?? 0, seedValue);
        }
        Evaluation.ScoreKind? score = null;
        if (meta.TryGetValue("score", out string? scoreText))
            score = Evaluation.AnomalyScore.TryParse(scoreText, out Evaluation.ScoreKind parsed) ? parsed
                : throw new DataFormatException($"{name}: metadata 'score' is '{scoreText}', expected {string.Join(", ", Evaluation.AnomalyScore.All.Select(Evaluation.AnomalyScore.Name))}");
        return new ModelMetadata(architecture, settings, normal, protocolText, seed, Double("threshold"), split, score);
    }
}
