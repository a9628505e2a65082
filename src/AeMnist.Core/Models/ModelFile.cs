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
    /// <summary>Training found the model collapsed (it reconstructs every image as the same image); see docs/reliability.md.</summary>
    public bool Collapsed { get; init; }

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
        if (Collapsed) map["collapsed"] = "true";  // written only for collapsed models, so other files keep their bytes
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
        if (!File.Exists(path) && IO.FileKinds.Of(path) == IO.FileKind.Missing)
            throw new DataFormatException($"{path}: model file not found");
        // A torch.save file is refused by its first bytes; only a regular file is peeked at, so a pipe is read once.
        if (IO.FileKinds.Of(path) == IO.FileKind.Regular) RefuseTorchSave(path, name);
        // The architecture, its settings and every tensor's name and shape are checked against the header, before the
        // data is read: a header cannot make this reader hold more than the architecture's own weights.
        ModelSpec? spec = null;
        ModelMetadata? metadata = null;
        SafeTensorsFile file = SafeTensors.Read(path, header =>
        {
            (spec, metadata) = Describe(header, modelOverride, name);
        });
        string prefix = metadata!.DroppedPrefix ?? "";
        var weights = new StateDict(file.Names.Select(n => new NamedTensor(n[prefix.Length..], file.Tensors[n].Shape, file.Tensors[n].Data)));
        // The file's own order may differ (a PyTorch writer sorts names); the model keeps the spec's order.
        weights = new StateDict(spec!.StateEntries.Select(e => weights[e.Name]));
        CheckFinite(weights, name, "");
        return (spec, weights, metadata);
    }

    /// <summary>The prefix torch.nn.DataParallel (and DistributedDataParallel) puts before every state-dict name.</summary>
    public const string DataParallelPrefix = "module.";

    /// <summary>
    /// The architecture and settings a header describes (its metadata, or <paramref name="modelOverride"/>, or else the
    /// one architecture its tensor names and shapes fit, and the tensor shapes), checked against every tensor's name and
    /// shape, and the rest of the metadata, each field validated. Names that all carry DataParallel's "module." prefix
    /// are read without it (<see cref="ModelMetadata.DroppedPrefix"/>).
    /// </summary>
    public static (ModelSpec Spec, ModelMetadata Metadata) Describe(SafeTensorsHeaderInfo header, string? modelOverride, string name)
    {
        IReadOnlyDictionary<string, string> meta = header.Metadata;
        string? prefix = null;
        List<(string Name, int[] Shape)> tensors = [.. header.Tensors.Select(t => (t.Name, t.Shape))];
        if (tensors.Count > 0 && tensors.All(t => t.Name.StartsWith(DataParallelPrefix, StringComparison.Ordinal)))
        {
            prefix = DataParallelPrefix;
            tensors = [.. tensors.Select(t => (t.Name[prefix.Length..], t.Shape))];
        }
        var shapes = tensors.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
        string? recorded = meta.TryGetValue("model", out string? m) ? m : null;
        string? kind = modelOverride ?? recorded;
        Architecture architecture;
        bool guessed = kind is null;
        if (kind is null)
            architecture = Guess(meta, tensors, shapes, name);
        else
            architecture = Architectures.Find(kind)
                ?? (modelOverride is not null
                    ? throw new ArgumentException($"--model {Quote(kind)} is not a model; use {Architectures.Names}")
                    : throw new DataFormatException($"{name}: metadata names an unknown model {Quote(kind)}; expected {Architectures.Names}"));
        if (modelOverride is not null && recorded is not null && Architectures.Find(recorded) is { } own && own != architecture)
            throw new ArgumentException($"--model {architecture.Name} does not apply: {name} says it is a {own.Name} model; drop --model");
        ArchitectureSettings settings = Settings(architecture, meta, shapes, name);
        ModelSpec spec = architecture.Spec(settings);
        CheckShapes(spec, tensors, name);
        return (spec, ReadMetadata(meta, architecture, settings, name) with { ArchitectureGuessed = guessed, DroppedPrefix = prefix });
    }

    // Every tensor of the spec with its shape, and no other.
    private static void CheckShapes(ModelSpec spec, IReadOnlyList<(string Name, int[] Shape)> tensors, string name)
    {
        foreach (StateEntry e in spec.StateEntries)
        {
            var t = tensors.FirstOrDefault(t => t.Name == e.Name);
            if (t.Name is null)
                throw new DataFormatException($"{name}: tensor {Quote(e.Name)} is missing for {spec.Describe()}");
            if (!t.Shape.SequenceEqual(e.Shape))
                throw new DataFormatException($"{name}: tensor {Quote(e.Name)} has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", e.Shape)}] for {spec.Describe()}");
        }
        if (tensors.Count != spec.StateEntries.Count)
        {
            var known = spec.StateEntries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
            throw new DataFormatException($"{name}: unexpected tensor {Quote(tensors.First(t => !known.Contains(t.Name)).Name)} for {spec.Describe()}");
        }
    }

    // The one architecture whose spec the tensors fit exactly (names and shapes), for files without 'model' metadata.
    private static Architecture Guess(IReadOnlyDictionary<string, string> meta, IReadOnlyList<(string Name, int[] Shape)> tensors,
        IReadOnlyDictionary<string, int[]> shapes, string name)
    {
        var fits = new List<Architecture>();
        foreach (Architecture candidate in Architectures.All)
        {
            try
            {
                CheckShapes(candidate.Spec(Settings(candidate, meta, shapes, name)), tensors, name);
                fits.Add(candidate);
            }
            catch (Exception e) when (e is ArgumentException or DataFormatException or OverflowException) { }
        }
        if (fits.Count == 1) return fits[0];
        string listed = string.Join(", ", tensors.Take(4).Select(t => $"{MessageText.Quote(t.Name, 40)} [{string.Join(", ", t.Shape)}]"))
                        + (tensors.Count > 4 ? ", ..." : "");
        string choices = string.Join(" or ", Architectures.All.Select(a => "--model " + a.Name));
        return fits.Count == 0
            ? throw new DataFormatException($"{name}: has no 'model' metadata and its tensors ({listed}) fit none of the architectures ({Architectures.Names}); save the state dict of one of them, or pass {choices}")
            : throw new DataFormatException($"{name}: has no 'model' metadata and its tensors fit {string.Join(" and ", fits.Select(f => f.Name))}; pass {choices}");
    }

    // torch.save writes a zip archive (PyTorch 1.6 and later) or a bare pickle; neither is a safetensors file.
    private static void RefuseTorchSave(string path, string name)
    {
        Span<byte> head = stackalloc byte[9];
        int n;
        long length;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            length = stream.Length;
            n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{path}: cannot read file ({e.Message.TrimEnd('.')})", e);
        }
        // A safetensors file starts with its header's length (little-endian u64, within the file) and then '{': its first
        // two bytes can be 0x80 0x02 (a 640-byte header), which is no pickle.
        if (n == 9 && head[8] == (byte)'{' && System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(head) <= (ulong)Math.Max(0, length - 8)) return;
        bool zip = n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
        bool pickle = n >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5;
        if (zip || pickle)
            throw new DataFormatException($"{name}: this is a torch.save file ({(zip ? "a zip archive" : "a pickle")}), not safetensors; save a state dict with safetensors: "
                + "from safetensors.torch import save_file; save_file(model.state_dict(), \"model.safetensors\")");
    }

    /// <summary>A model whose weights hold NaN or infinity cannot give a meaningful error: a data error naming the tensor.</summary>
    public static void CheckFinite(StateDict weights, string file, string what)
    {
        foreach (NamedTensor t in weights.Tensors)
        {
            int bad = Training.ModelHealth.FirstNonFinite(t.Data);
            if (bad >= 0)
                throw new DataFormatException(
                    $"{file}: {what}tensor {Quote(t.Name)} holds {t.Data[bad]} at index {bad}; a model with non-finite weights gives no meaningful error (retrain it)");
        }
    }

    private static string Quote(string text) => IO.MessageText.Quote(text);

    // "--train-normal must be positive, got -5" (the splitter's words for an option) as "'train_normal' must be ..." (a metadata key).
    private static string OptionToKey(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, "--([a-z-]+)", m => $"'{m.Groups[1].Value.Replace('-', '_')}'");

    // Each option from the metadata when recorded, else from the shapes (files saved elsewhere), else its default.
    private static ArchitectureSettings Settings(Architecture architecture, IReadOnlyDictionary<string, string> meta, IReadOnlyDictionary<string, int[]> shapes, string name)
    {
        ArchitectureSettings? fromShapes;
        try
        {
            fromShapes = architecture.Options.All(o => meta.ContainsKey(o.Name)) ? null : architecture.SettingsFromShapes(shapes);
        }
        catch (ArgumentException)
        {
            string first = shapes.Keys.Order(StringComparer.Ordinal).FirstOrDefault() ?? "";
            throw new DataFormatException($"{name}: the tensor shapes (e.g. {Quote(first)} [{string.Join(", ", shapes.GetValueOrDefault(first) ?? [])}]) are not those of any {architecture.Name} model aemnist can build");
        }
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
        catch (ArgumentException)
        {
            string key = architecture.Options.First(o => given.ContainsKey(o.Name) && !TryParse(o, given[o.Name])).Name;
            throw new DataFormatException(meta.ContainsKey(key)
                ? $"{name}: metadata '{key}' is {Quote(given[key])}; expected {architecture.Options.First(o => o.Name == key).Expected}"
                : $"{name}: the tensor shapes give {key} {Quote(given[key])}; expected {architecture.Options.First(o => o.Name == key).Expected}");
        }
    }

    private static bool TryParse(ArchitectureOption option, string text)
    {
        try { option.Parse(text); return true; }
        catch (ArgumentException) { return false; }
    }

    private static ModelMetadata ReadMetadata(IReadOnlyDictionary<string, string> meta, Architecture architecture, ArchitectureSettings settings, string name)
    {
        int? Int(string key) => meta.TryGetValue(key, out string? v)
            ? IO.StrictNumbers.TryParseInt(v, out int x) ? x
                : throw new DataFormatException($"{name}: metadata '{key}' is {Quote(v)}, expected an integer")
            : null;
        double? Double(string key) => meta.TryGetValue(key, out string? v)
            ? IO.StrictNumbers.TryParseDouble(v, out double x) && double.IsFinite(x) ? x
                : throw new DataFormatException($"{name}: metadata '{key}' is {Quote(v)}, expected a number")
            : null;
        ulong? seed = meta.TryGetValue("seed", out string? s)
            ? IO.StrictNumbers.TryParseULong(s, out ulong x) ? x
                : throw new DataFormatException($"{name}: metadata 'seed' is {Quote(s)}, expected an integer")
            : null;
        if (meta.TryGetValue("format", out string? format) && format != "aemnist-model")
            throw new DataFormatException(format.StartsWith("aemnist-checkpoint", StringComparison.Ordinal)
                ? $"{name}: is a training checkpoint, not a model; finish its run with aemnist train --resume DIR"
                : $"{name}: metadata 'format' is {Quote(format)}, expected aemnist-model");
        int? normal = Int("normal");
        if (normal is < 0 or > 9) throw new DataFormatException($"{name}: metadata 'normal' is {normal}, expected a digit 0-9");
        string? protocolText = meta.TryGetValue("protocol", out string? p) ? p : null;
        SplitProtocol protocol = SplitProtocol.Seed;
        if (protocolText is not null && !SplitOptions.TryParseProtocol(protocolText, out protocol))
            throw new DataFormatException($"{name}: metadata 'protocol' is {Quote(protocolText)}, expected seed or one-class");
        double? threshold = Double("threshold");
        if (threshold is < 0) throw new DataFormatException($"{name}: metadata 'threshold' is {threshold}, expected a number 0 or more");
        SplitOptions? split = null;
        if (normal is { } digit && protocolText is not null && seed is { } seedValue)
        {
            var defaults = new SplitOptions();
            split = new SplitOptions(protocol, digit,
                Int("train_normal") ?? defaults.TrainNormal, Int("train_anomalies") ?? defaults.TrainAnomalies,
                Int("test_normal") ?? defaults.TestNormal, Int("test_anomalies") ?? defaults.TestAnomalies,
                Double("validation") ?? 0, seedValue);
            try { Splitter.Validate(split); }
            catch (ArgumentException e) { throw new DataFormatException($"{name}: metadata {OptionToKey(e.Message)}"); }
        }
        bool collapsed = meta.TryGetValue("collapsed", out string? c) && (c == "true" ? true
            : c == "false" ? false : throw new DataFormatException($"{name}: metadata 'collapsed' is {Quote(c)}, expected true or false"));
        Evaluation.ScoreKind? score = null;
        if (meta.TryGetValue("score", out string? scoreText))
            score = Evaluation.AnomalyScore.TryParse(scoreText, out Evaluation.ScoreKind parsed) ? parsed
                : throw new DataFormatException($"{name}: metadata 'score' is {Quote(scoreText)}, expected {string.Join(", ", Evaluation.AnomalyScore.All.Select(Evaluation.AnomalyScore.Name))}");
        return new ModelMetadata(architecture, settings, normal, protocolText, seed, threshold, split, score) { Collapsed = collapsed };
    }
}
