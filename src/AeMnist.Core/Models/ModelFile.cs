// model.safetensors: the weights under PyTorch's state-dict names and shapes, plus a string metadata
// map saying what the model is and how it was trained. A PyTorch user loads it with
// model.load_state_dict(safetensors.torch.load_file(path)); a PyTorch-trained file loads here too.
using System.Globalization;
using AeMnist.Data;
using AeMnist.Serialization;

namespace AeMnist.Models;

/// <summary>What model.safetensors says about itself in <c>__metadata__</c>. Null fields were absent.</summary>
public sealed record ModelMetadata(
    string Model,
    int[] Hidden,
    int? Normal = null,
    string? Protocol = null,
    ulong? Seed = null,
    double? Threshold = null,
    SplitOptions? Split = null)
{
    public static string ToolVersion =>
        typeof(ModelFile).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";

    public Dictionary<string, string> ToDictionary()
    {
        var map = new Dictionary<string, string>
        {
            ["format"] = "aemnist-model",
            ["aemnist_version"] = ToolVersion,
            ["model"] = Model,
        };
        if (Model == "dense") map["hidden"] = string.Join(",", Hidden);
        if (Normal is { } normal) map["normal"] = normal.ToString(CultureInfo.InvariantCulture);
        if (Protocol is { } protocol) map["protocol"] = protocol;
        if (Seed is { } seed) map["seed"] = seed.ToString(CultureInfo.InvariantCulture);
        if (Threshold is { } threshold) map["threshold"] = threshold.ToString("R", CultureInfo.InvariantCulture);
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
    /// <summary>Writes the model's parameters in state-dict order with the metadata, atomically.</summary>
    public static void Save(string path, AutoEncoder model, ModelMetadata metadata)
    {
        var parameters = model.Parameters;
        var tensors = parameters.Entries.Select(e =>
            (e.Name, e.Shape, (ReadOnlyMemory<float>)parameters.Data.AsMemory(e.Offset, e.Length)));
        SafeTensors.Write(path, tensors, metadata.ToDictionary());
    }

    /// <summary>
    /// Loads a model file. The architecture comes from the metadata's <c>model</c> key, or from
    /// <paramref name="modelOverride"/> for files without one (e.g. saved from PyTorch); a dense model's
    /// hidden sizes are read from the tensor shapes.
    /// </summary>
    public static (AutoEncoder Model, ModelMetadata Metadata) Load(string path, string? modelOverride = null)
    {
        string name = Path.GetFileName(path);
        if (Directory.Exists(path))
            throw new DataFormatException($"{path}: is a directory; pass the model file, or use --run DIR");
        if (!File.Exists(path))
            throw new DataFormatException($"{path}: model file not found");
        SafeTensorsFile file = SafeTensors.Read(path);
        IReadOnlyDictionary<string, string> meta = file.Metadata;
        string? kind = modelOverride ?? (meta.TryGetValue("model", out string? m) ? m : null);
        if (kind is null)
            throw new DataFormatException($"{name}: has no 'model' metadata; pass --model dense or --model conv");
        if (kind is not ("dense" or "conv"))
            throw new DataFormatException($"{name}: metadata names an unknown model '{kind}'; expected dense or conv");

        int[] hidden = kind == "dense" ? DenseHidden(file, name) : [];
        AutoEncoder model = kind == "dense"
            ? AutoEncoder.CreateDense(MnistDataset.PixelsPerImage, hidden, new Rng(0))
            : AutoEncoder.CreateConv(new Rng(0));

        var expected = new HashSet<string>();
        foreach (var entry in model.Parameters.Entries)
        {
            expected.Add(entry.Name);
            if (!file.Tensors.TryGetValue(entry.Name, out TensorData? tensor))
                throw new DataFormatException($"{name}: tensor '{entry.Name}' is missing; is this a {kind} model?");
            if (!tensor.Shape.SequenceEqual(entry.Shape))
                throw new DataFormatException(
                    $"{name}: tensor '{entry.Name}' has shape [{string.Join(", ", tensor.Shape)}], expected [{string.Join(", ", entry.Shape)}] for a {kind} model");
            tensor.Data.CopyTo(model.Parameters.Values(entry));
        }
        string? extra = file.Tensors.Keys.FirstOrDefault(k => !expected.Contains(k));
        if (extra is not null)
            throw new DataFormatException($"{name}: unexpected tensor '{extra}' for a {kind} model");

        return (model, ReadMetadata(meta, kind, hidden, name));
    }

    /// <summary>Hidden sizes of a dense model from its encoder weights: encoder.{2i}.weight is (hidden[i], in).</summary>
    private static int[] DenseHidden(SafeTensorsFile file, string name)
    {
        var hidden = new List<int>();
        for (int i = 0; file.Tensors.TryGetValue($"encoder.{2 * i}.weight", out TensorData? w); i++)
        {
            if (w.Shape.Length != 2)
                throw new DataFormatException($"{name}: tensor 'encoder.{2 * i}.weight' has {w.Shape.Length} dimensions, expected 2 for a dense model");
            hidden.Add(w.Shape[0]);
        }
        if (hidden.Count == 0)
            throw new DataFormatException($"{name}: tensor 'encoder.0.weight' is missing; is this a dense model?");
        return hidden.ToArray();
    }

    private static ModelMetadata ReadMetadata(IReadOnlyDictionary<string, string> meta, string kind, int[] hidden, string name)
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
        return new ModelMetadata(kind, hidden, normal, protocolText, seed, Double("threshold"), split);
    }
}
