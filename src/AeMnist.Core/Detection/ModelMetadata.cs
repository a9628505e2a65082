// What model.safetensors says about the detector it holds, beside the architecture (Models/ModelFile): the score its
// threshold is for, the threshold, the normal class and the split it was trained on, and whether training found it
// collapsed. One reader (Parse) and one writer (ToDictionary); every field is checked, naming the file and the key.
using System.Globalization;
using AeMnist.Data;
using AeMnist.Models;
using AeMnist.Scoring;
using AeMnist.Tensors;

namespace AeMnist.Detection;

/// <summary>What model.safetensors says about itself in <c>__metadata__</c>. Null fields were absent.</summary>
public sealed record ModelMetadata(
    Architecture Architecture,
    ArchitectureSettings Settings,
    int? Normal = null,
    string? Protocol = null,
    ulong? Seed = null,
    double? Threshold = null,
    SplitOptions? Split = null,
    ScoreKind? Score = null)
{
    /// <summary>The file named no architecture, and it was recognised from its tensor names and shapes.</summary>
    public bool ArchitectureGuessed { get; init; }

    /// <summary>The tensor names carried a prefix that was dropped ("module.", as torch.nn.DataParallel saves them).</summary>
    public string? DroppedPrefix { get; init; }

    /// <summary>Training found the model collapsed (it reconstructs every image as the same image); see docs/reliability.md.</summary>
    public bool Collapsed { get; init; }

    /// <summary>The shape of the images the model takes (MNIST's unless recorded otherwise).</summary>
    public ImageShape Image { get; init; } = ImageShape.Mnist;

    /// <summary>The normal class's name, for data that is not MNIST (whose normal class is the digit <see cref="Normal"/>).</summary>
    public string? NormalClass { get; init; }

    /// <summary>The model was trained on images resized to its size (train --size): inputs of another size are resized the same way.</summary>
    public bool Resize { get; init; }

    /// <summary>The model was trained on inverted images (train --invert): inputs are inverted the same way.</summary>
    public bool Invert { get; init; }

    /// <summary>The combined score's calibration, learnt from normal images at training (recorded only for models trained with --score combined).</summary>
    public ScoreCalibration? Calibration { get; init; }

    /// <summary>How inputs are read for this model: resized to its size when it was trained so, its channels, inverted when it was.</summary>
    public Data.ImageRules InputRules => new() { Size = Resize ? (Image.Height, Image.Width) : null, Channels = Image.Channels, Invert = Invert };

    /// <summary>What the normal class is called in messages: "digit 5", "class 'good'".</summary>
    public string DescribeNormal() => NormalClass is { } name ? $"class {IO.MessageText.Quote(name, 40)}" : Normal is { } d ? $"digit {d}" : "an unknown class";

    public static string ToolVersion => ModelFile.ToolVersion;

    /// <summary>The architecture's name: "dense", "conv".</summary>
    public string Model => Architecture.Name;

    /// <summary>The model these metadata describe.</summary>
    public ModelSpec Spec() => Architecture.Spec(Settings, Image);

    public Dictionary<string, string> ToDictionary()
    {
        var map = new Dictionary<string, string>
        {
            ["format"] = ModelFile.Format,
            ["aemnist_version"] = ToolVersion,
            ["model"] = Model,
        };
        foreach ((string name, string text) in Settings.Texts) map[name] = text;
        if (Image != ImageShape.Mnist) map[ModelFile.ImageKey] = Image.Text;  // absent means MNIST's, so older files keep their bytes
        if (NormalClass is { } normalClass) map["normal_class"] = normalClass;
        if (Resize) map["resize"] = "true";
        if (Invert) map["invert"] = "true";
        if (Normal is { } normal) map["normal"] = normal.ToString(CultureInfo.InvariantCulture);
        if (Protocol is { } protocol) map["protocol"] = protocol;
        if (Seed is { } seed) map["seed"] = seed.ToString(CultureInfo.InvariantCulture);
        if (Threshold is { } threshold) map["threshold"] = threshold.ToString("R", CultureInfo.InvariantCulture);
        // The score the stored threshold is for; absent means mse (so files of the tutorial's runs keep their bytes).
        if (Score is { } score && score != ScoreKind.Mse) map["score"] = Scores.Name(score);
        if (Calibration is { } calibration) map["score_calibration"] = calibration.ToJson().ToJsonString();
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

    /// <summary>The detector fields of a model file's header, each checked; a bad one is a one-line error naming <paramref name="name"/> and the key.</summary>
    public static ModelMetadata Parse(ModelFileHeader header, string name)
    {
        IReadOnlyDictionary<string, string> meta = header.Metadata;
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
        int? normal = Int("normal");
        if (normal is < 0 or > 254) throw new DataFormatException($"{name}: metadata 'normal' is {normal}, expected a class number 0-254");
        string? protocolText = meta.TryGetValue("protocol", out string? p) ? p : null;
        SplitProtocol protocol = SplitProtocol.Seed;
        if (protocolText is not null && !SplitOptions.TryParseProtocol(protocolText, out protocol))
            throw new DataFormatException($"{name}: metadata 'protocol' is {Quote(protocolText)}, expected {SplitOptions.ProtocolNames}");
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
        bool Flag(string key) => meta.TryGetValue(key, out string? v) && (v == "true" ? true
            : v == "false" ? false : throw new DataFormatException($"{name}: metadata '{key}' is {Quote(v)}, expected true or false"));
        ScoreKind? score = null;
        if (meta.TryGetValue("score", out string? scoreText))
            score = Scores.TryParse(scoreText, out ScoreKind parsed) ? parsed
                : throw new DataFormatException($"{name}: metadata 'score' is {Quote(scoreText)}, expected {string.Join(", ", Scores.All.Select(Scores.Name))}");
        ScoreCalibration? calibration = null;
        if (meta.TryGetValue("score_calibration", out string? calibrationText))
        {
            try { calibration = ScoreCalibration.FromJson(calibrationText); }
            catch (ArgumentException e) { throw new DataFormatException($"{name}: metadata 'score_calibration' is {Quote(calibrationText)}: {e.Message}"); }
        }
        if (score == ScoreKind.Combined && calibration is null)
            throw new DataFormatException($"{name}: metadata 'score' is combined but there is no 'score_calibration' to compute it with");
        return new ModelMetadata(header.Architecture, header.Settings, normal, protocolText, seed, threshold, split, score)
        {
            Calibration = calibration,
            Collapsed = collapsed,
            ArchitectureGuessed = header.ArchitectureGuessed,
            DroppedPrefix = header.DroppedPrefix,
            Image = header.Image,
            NormalClass = meta.TryGetValue("normal_class", out string? normalClass) ? normalClass : null,
            Resize = Flag("resize"),
            Invert = Flag("invert"),
        };
    }

    // "--train-normal must be positive, got -5" (the splitter's words for an option) as "'train_normal' must be ..." (a metadata key).
    private static string OptionToKey(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, "--([a-z-]+)", m => $"'{m.Groups[1].Value.Replace('-', '_')}'");

    private static string Quote(string text) => IO.MessageText.Quote(text);
}

/// <summary>A detector's model file: <see cref="ModelFile"/>'s tensors and architecture with <see cref="ModelMetadata"/>.</summary>
public static class DetectorFile
{
    /// <summary>Loads a model file and its detector metadata; every tensor and field is checked (see <see cref="ModelFile.Load"/>).</summary>
    public static (ModelSpec Spec, StateDict Weights, ModelMetadata Metadata) Load(string path, string? modelOverride = null)
    {
        ModelMetadata? metadata = null;
        var (spec, weights, _) = ModelFile.Load(path, modelOverride, header => metadata = ModelMetadata.Parse(header, Path.GetFileName(path)));
        return (spec, weights, metadata!);
    }

    /// <summary>Writes the weights with the detector's metadata, atomically.</summary>
    public static void Save(string path, StateDict weights, ModelMetadata metadata) => ModelFile.Save(path, weights, metadata.ToDictionary());
}
