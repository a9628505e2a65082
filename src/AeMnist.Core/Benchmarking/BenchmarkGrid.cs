// What `aemnist benchmark` runs: a grid of model configurations × normal classes × seeds of one labelled dataset on one
// protocol, each cell trained once and scored with every requested score. A model configuration is written as
// NAME[:KEY=VALUE...], e.g. "bottleneck:latent=32:epochs=60": KEY is an option of the architecture (latent, channels,
// hidden, components) or of training (epochs, lr, batch-size, weight-decay, noise, validation, eval-every, patience,
// keep). Unset training options take the architecture's recipe (Architecture.Recipe), except that a recipe without a
// validation split gets validation=0.1, so that no cell ever watches its test split.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AeMnist.Engines;
using AeMnist.Data;
using AeMnist.Models;
using AeMnist.Runs;
using AeMnist.Scoring;
using AeMnist.Tensors;
using AeMnist.Training;

namespace AeMnist.Benchmarking;

/// <summary>One model configuration of the grid: its text as given, the training options and the split's validation fraction.</summary>
public sealed record BenchmarkModel(string Text, TrainOptions Train, double Validation)
{
    /// <summary>A directory name for the configuration's cells: the text with anything but letters, digits, '=', '.', '_', ',' and '-' as '-'.</summary>
    public string Slug => new([.. Text.Select(c => char.IsAsciiLetterOrDigit(c) || c is '=' or '.' or '_' or ',' or '-' ? c : '-')]);

    private static readonly string[] TrainingKeys = ["epochs", "lr", "batch-size", "weight-decay", "noise", "validation", "eval-every", "patience", "keep", "lr-schedule"];

    /// <summary>Parses NAME[:KEY=VALUE...]; an unknown name, key or value is an <see cref="ArgumentException"/> naming it.</summary>
    private static LrSchedule Schedule(string text, string value)
    {
        try { return TrainOptions.ParseSchedule(value); }
        catch (ArgumentException e) { throw new ArgumentException($"--model '{text}': {e.Message}"); }
    }

    public static BenchmarkModel Parse(string text)
    {
        string[] parts = text.Trim().Split(':');
        Architecture architecture = Architectures.Get(parts[0]);
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in parts.Skip(1))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new ArgumentException($"--model '{text}': '{part}' is not KEY=VALUE");
            string key = part[..eq].Trim(), value = part[(eq + 1)..].Trim();
            if (architecture.Options.All(o => o.Name != key) && !TrainingKeys.Contains(key))
                throw new ArgumentException($"--model '{text}': '{key}' is neither an option of {architecture.Name} ({string.Join(", ", architecture.Options.Select(o => o.Name).DefaultIfEmpty("none"))}) nor a training option ({string.Join(", ", TrainingKeys)})");
            if (architecture.FitsExactly && TrainingKeys.Contains(key) && key != "validation")
                throw new ArgumentException($"--model '{text}': '{key}' cannot apply: {architecture.Name} is fitted exactly, in closed form, not trained");
            if (!given.TryAdd(key, value)) throw new ArgumentException($"--model '{text}': '{key}' is given twice");
        }
        ArchitectureSettings settings = architecture.Settings(given.Where(p => architecture.Options.Any(o => o.Name == p.Key)).ToDictionary(p => p.Key, p => p.Value));
        (TrainOptions recipe, double validation) = TrainOptions.Recipe(architecture);
        double Number(string key, double fallback) => given.TryGetValue(key, out string? v)
            ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) ? x : throw new ArgumentException($"--model '{text}': {key} '{v}' is not a number")
            : fallback;
        int Int(string key, int fallback) => given.TryGetValue(key, out string? v)
            ? int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x) ? x : throw new ArgumentException($"--model '{text}': {key} '{v}' is not an integer")
            : fallback;
        var train = recipe with
        {
            Model = architecture.Name,
            Settings = settings,
            Epochs = Int("epochs", recipe.Epochs),
            BatchSize = Int("batch-size", recipe.BatchSize),
            LearningRate = Number("lr", recipe.LearningRate),
            WeightDecay = Number("weight-decay", recipe.WeightDecay),
            Noise = Number("noise", recipe.Noise),
            Schedule = given.TryGetValue("lr-schedule", out string? schedule) ? Schedule(text, schedule) : recipe.Schedule,
            EvalEvery = Int("eval-every", recipe.EvalEvery),
            Patience = Int("patience", recipe.Patience),
            Keep = given.TryGetValue("keep", out string? keep)
                ? TrainOptions.TryParseKeep(keep, out KeepCheckpoint k) ? k : throw new ArgumentException($"--model '{text}': keep '{keep}' is not best or last")
                : recipe.Keep,
        };
        train.Validate();
        // In the benchmark early stopping never watches the test split: a recipe without a validation split (the
        // tutorial's, which watches the test split) gets 10 % of the normal training images unless told otherwise.
        validation = Number("validation", validation > 0 ? validation : 0.1);
        if (!(validation >= 0 && validation < 1)) throw new ArgumentException($"--model '{text}': validation {validation} must be a fraction in [0, 1)");
        return new BenchmarkModel(text.Trim(), train, validation);
    }

    /// <summary>Everything that defines the cells' training, to check that an existing cell was made by the same configuration.</summary>
    public JsonObject ToJson()
    {
        JsonObject json = RequestJson.Train(Train);
        json.Remove("score");  // a cell is scored with every requested score; the training does not depend on it
        json["validation"] = Validation;
        return json;
    }

    /// <summary>
    /// True when early stopping (and keep=best) watches the test split: validation=0 on a trained model. Its AUROC is then
    /// not a clean test result, and the pages say so. A model fitted in closed form watches nothing.
    /// </summary>
    public bool WatchesTest => Validation == 0 && !Train.Architecture.FitsExactly;
}

/// <summary>
/// The labelled dataset a benchmark runs on, as its pages name it: its kind and path, the checksum of its contents
/// (<see cref="Dataset.Sha256"/>), its classes, its image shape, whether it has a test part of its own, and the rules its
/// images were read with (--size, --color, --invert).
/// </summary>
public sealed record BenchmarkData(string Kind, string Path, string Sha256, IReadOnlyList<string> ClassNames, bool IsMnist, bool HasTestPart, ImageShape Shape, ImageRules Rules)
{
    public static BenchmarkData Of(Dataset data, ImageRules? rules = null) =>
        new(data.Source.Kind, System.IO.Path.GetFullPath(data.Directory), data.Sha256, data.ClassNames, data.Source.IsMnist, data.TrainCount < data.Count, data.Shape, rules ?? new ImageRules());

    /// <summary>"digit" for MNIST, else "class".</summary>
    public string ClassNoun => IsMnist ? "digit" : "class";

    /// <summary>Class <paramref name="index"/> as a page shows it: its name, control characters replaced, at most 40 characters.</summary>
    public string ClassLabel(int index)
    {
        string name = new([.. ClassNames[index].Select(c => char.IsControl(c) ? '?' : c)]);
        return name.Length > 40 ? name[..39] + "…" : name;
    }

    /// <summary>
    /// The classes <paramref name="text"/> names, each once, in the order given: "all", or comma-separated class names
    /// (exactly, else ignoring case), class numbers and ranges of numbers ("0-3,7"; numbers that are all class names, as
    /// a CSV's labels, name those classes); for MNIST the digits 0-9. Anything
    /// else is an <see cref="ArgumentException"/> naming <paramref name="option"/> and the classes there are.
    /// </summary>
    public int[] ParseClasses(string text, string option = "--classes")
    {
        if (string.Equals(text.Trim(), "all", StringComparison.OrdinalIgnoreCase) && !ClassNames.Contains(text.Trim()))
            return [.. Enumerable.Range(0, ClassNames.Count)];
        var classes = new List<int>();
        foreach (string raw in text.Split(','))
        {
            string part = raw.Trim();
            if (part.Length == 0) throw new ArgumentException($"{option} {IO.MessageText.Quote(text, 60)} has an empty entry; give class names or numbers separated by commas, e.g. 0-2 or good,scratch");
            int exact = ClassNames.ToList().IndexOf(part);
            if (exact < 0 && part.Split('-') is [var a, var b] && Number(a) is { } first && Number(b) is { } last)
            {
                if (last < first) throw new ArgumentException($"{option}: the range {part} runs backwards");
                // Numbers that all name classes (labels 0-9 of a CSV or IDX file) are those classes; else class numbers.
                int[] named = [.. Enumerable.Range(first, last - first + 1).Select(n => ClassNames.ToList().IndexOf(n.ToString(CultureInfo.InvariantCulture)))];
                if (named.Any(i => i < 0) && last >= ClassNames.Count)
                    throw new ArgumentException($"{option}: the range {part} goes past the last {ClassNoun}, {ClassNames.Count - 1}");
                foreach (int c in named.All(i => i >= 0) ? named : Enumerable.Range(first, last - first + 1))
                    if (!classes.Contains(c)) classes.Add(c);
                continue;
            }
            int index = exact >= 0 ? exact : Resolve(part, option);
            if (!classes.Contains(index)) classes.Add(index);
        }
        return [.. classes];
    }

    // A class number of one to three digits, or null.
    private static int? Number(string text) =>
        text.Trim() is { Length: > 0 and <= 3 } t && t.All(char.IsAsciiDigit) ? int.Parse(t, CultureInfo.InvariantCulture) : null;

    private int Resolve(string part, string option)
    {
        int[] loose = [.. Enumerable.Range(0, ClassNames.Count).Where(i => string.Equals(ClassNames[i], part, StringComparison.OrdinalIgnoreCase))];
        if (loose.Length == 1) return loose[0];
        if (Number(part) is { } n && n < ClassNames.Count) return n;
        if (IsMnist) throw new ArgumentException($"{option} {IO.MessageText.Quote(part, 40)} is not a digit; use 0-9");
        string classes = string.Join(", ", ClassNames.Take(12).Select(c => IO.MessageText.Quote(c, 30))) + (ClassNames.Count > 12 ? ", ..." : "");
        throw new ArgumentException($"{option} {IO.MessageText.Quote(part, 40)} is not a class of {Path}; its classes are {classes}");
    }
}

/// <summary>The whole grid and how to run it: models × classes × seeds of one dataset on one protocol and engine.</summary>
public sealed record BenchmarkGrid(
    IReadOnlyList<BenchmarkModel> Models,
    IReadOnlyList<int> Classes,
    IReadOnlyList<ulong> Seeds,
    IReadOnlyList<ScoreKind> Scores,
    SplitProtocol Protocol,
    string OutputDirectory,
    BenchmarkData Data,
    ComputeOptions Compute)
{
    /// <summary>The most seeds a grid takes.</summary>
    public const int MaxSeeds = 1000;

    /// <summary>The cells in the order they run: class-major within seed-major within model, so early results cover every class.</summary>
    public IEnumerable<BenchmarkCell> Cells =>
        from model in Models from seed in Seeds from c in Classes select new BenchmarkCell(model, c, seed, Data.ClassNames[c], Data.IsMnist);

    /// <summary>
    /// The checksum (<see cref="Dataset.Sha256"/>) of MNIST itself, its 60,000 training and 10,000 test images (the
    /// shipped data/mnist, raw or gzipped): the data the published one-class rows were measured on.
    /// </summary>
    public const string MnistSha256 = "f352dd58f37648b8228d45e0a004be1e4ac662e9dda217cdf60c00336b92558a";

    /// <summary>
    /// True when the published one-class rows (and our earlier ones) are about this benchmark: MNIST itself (not other
    /// files in its format, nor a part of it) on the one-class protocol. On other data or another protocol they are
    /// not shown.
    /// </summary>
    public bool ReferencesApply => Data.IsMnist && Data.Sha256 == MnistSha256 && Protocol == SplitProtocol.OneClass;

    /// <summary>
    /// The directory of a model configuration's cells under cells/: readable (the configuration's text, cut to 60
    /// characters) and unique: a SHA-256 of the canonical configuration (every training option, the validation fraction,
    /// the protocol, the engine and device) that no two configurations share.
    /// </summary>
    public string ModelDirectoryName(BenchmarkModel model)
    {
        var key = new JsonObject
        {
            ["format"] = "aemnist-benchmark-key-1",
            ["configuration"] = model.ToJson(),
            ["protocol"] = SplitOptions.ProtocolName(Protocol),
            ["engine"] = Compute.Engine,
            ["device"] = Compute.Device,
        };
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToJsonString())))[..16];
        string slug = model.Slug.Length > 60 ? model.Slug[..60] : model.Slug;
        return $"{slug}-{hash}";
    }

    /// <summary>Parses "0-9", "2,5,8", "0-3,7": digits 0-9, each once, in the order given (--digits, MNIST's).</summary>
    public static int[] ParseDigits(string text)
    {
        var digits = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            string[] range = part.Split('-', StringSplitOptions.TrimEntries);
            if (range.Length is < 1 or > 2 || !range.All(r => r.Length == 1 && char.IsAsciiDigit(r[0])))
                throw new ArgumentException($"--digits '{text}' must be digits 0-9 and ranges, e.g. 0-9 or 2,5,8");
            int first = range[0][0] - '0', last = range[^1][0] - '0';
            if (last < first) throw new ArgumentException($"--digits '{text}': the range {part} runs backwards");
            for (int d = first; d <= last; d++)
                if (!digits.Contains(d)) digits.Add(d);
        }
        return [.. digits];
    }

    /// <summary>
    /// Parses "1,2,3" or "1-3": seeds 0 to 2^64-1 (a range may end at the last one), each once, in the order given, at
    /// most <see cref="MaxSeeds"/>.
    /// </summary>
    public static ulong[] ParseSeeds(string text)
    {
        var seeds = new List<ulong>();
        var seen = new HashSet<ulong>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            string[] range = part.Split('-', StringSplitOptions.TrimEntries);
            if (range.Length is < 1 or > 2 || !ulong.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong first)
                || !ulong.TryParse(range[^1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong last))
                throw new ArgumentException($"--seeds {IO.MessageText.Quote(text, 60)} must be whole numbers 0-18446744073709551615 and ranges, e.g. 1,2,3 or 1-3");
            if (last < first) throw new ArgumentException($"--seeds: the range {IO.MessageText.Quote(part, 60)} runs backwards");
            if (last - first >= MaxSeeds) throw new ArgumentException($"--seeds: the range {IO.MessageText.Quote(part, 60)} holds more than {MaxSeeds} seeds");
            // Counted, not compared with last + 1: a range ending at 2^64-1 must end too.
            for (ulong s = first; ; s++)
            {
                if (seen.Add(s)) seeds.Add(s);
                if (seeds.Count > MaxSeeds) throw new ArgumentException($"--seeds {IO.MessageText.Quote(text, 60)} holds more than {MaxSeeds} seeds");
                if (s == last) break;
            }
        }
        return [.. seeds];
    }
}

/// <summary>One cell: a model configuration trained on one normal class (a digit for MNIST) with one seed.</summary>
public sealed record BenchmarkCell(BenchmarkModel Model, int Class, ulong Seed, string ClassName, bool IsDigit)
{
    /// <summary>The cell's directory name: dD-sS for MNIST's digits, cN-NAME-sS for other classes (N makes it unique).</summary>
    public string Name => IsDigit
        ? string.Create(CultureInfo.InvariantCulture, $"d{Class}-s{Seed}")
        : string.Create(CultureInfo.InvariantCulture, $"c{Class}-{Slug(ClassName)}-s{Seed}");

    private static string Slug(string name)
    {
        string slug = new([.. name.Take(30).Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_')]);
        return slug.Length == 0 ? "class" : slug;
    }

    public override string ToString() => IsDigit
        ? $"{Model.Text} digit {Class} seed {Seed}"
        : $"{Model.Text} class {IO.MessageText.Quote(ClassName, 40)} seed {Seed}";
}
