// What `aemnist benchmark` runs: a grid of model configurations × normal digits × seeds on one protocol, each cell
// trained once and scored with every requested score. A model configuration is written as
// NAME[:KEY=VALUE...], e.g. "bottleneck:latent=32:epochs=60": KEY is an option of the architecture (latent, channels,
// hidden, components) or of training (epochs, lr, batch-size, weight-decay, noise, validation, eval-every, patience,
// keep). Unset training options take the architecture's recipe (Architecture.Recipe), except that a recipe without a
// validation split gets validation=0.1, so that no cell ever watches its test split.
using System.Globalization;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Models;
using AeMnist.Runs;
using AeMnist.Scoring;
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
        // tutorial's, which watches the test split) gets 10 % of the normal training digits unless told otherwise.
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
}

/// <summary>The whole grid and how to run it.</summary>
public sealed record BenchmarkGrid(
    IReadOnlyList<BenchmarkModel> Models,
    IReadOnlyList<int> Digits,
    IReadOnlyList<ulong> Seeds,
    IReadOnlyList<ScoreKind> Scores,
    SplitProtocol Protocol,
    string OutputDirectory)
{
    /// <summary>The cells in the order they run: digit-major within seed-major within model, so early results cover every digit.</summary>
    public IEnumerable<BenchmarkCell> Cells =>
        from model in Models from seed in Seeds from digit in Digits select new BenchmarkCell(model, digit, seed);

    /// <summary>Parses "0-9", "2,5,8", "0-3,7": digits 0-9, each once, in the order given.</summary>
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

    /// <summary>Parses "1,2,3" or "1-3".</summary>
    public static ulong[] ParseSeeds(string text)
    {
        var seeds = new List<ulong>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            string[] range = part.Split('-', StringSplitOptions.TrimEntries);
            if (range.Length is < 1 or > 2 || !ulong.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong first)
                || !ulong.TryParse(range[^1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong last) || last < first || last - first > 1000)
                throw new ArgumentException($"--seeds '{text}' must be non-negative integers and ranges, e.g. 1,2,3 or 1-3");
            for (ulong s = first; s <= last; s++)
                if (!seeds.Contains(s)) seeds.Add(s);
        }
        return [.. seeds];
    }
}

/// <summary>One cell: a model configuration trained on one normal digit with one seed.</summary>
public sealed record BenchmarkCell(BenchmarkModel Model, int Digit, ulong Seed)
{
    public string Name => string.Create(CultureInfo.InvariantCulture, $"d{Digit}-s{Seed}");

    public override string ToString() => $"{Model.Text} digit {Digit} seed {Seed}";
}
