// Options that several commands share (data location, split definition, output mode), declared once so
// their names, defaults and descriptions cannot drift apart between commands; and the mechanisms every option
// goes through: one strict number parser (a decimal comma or a group separator is an error, whatever the locale),
// path options that refuse option-looking tokens ("--thresold" is a typo, not a file), and one check that an
// option given where it cannot apply is an error.
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Evaluation;
using AeMnist.IO;
using AeMnist.Training;

namespace AeMnist.Cli.Commands;

internal static partial class SharedOptions
{
    public static Option<string?> Data() => PathOption(new Option<string?>("--data")
    {
        Description = "Directory with the four MNIST IDX files, raw or .gz [default: the run's recorded data, else the shipped data/mnist]",
        HelpName = "DIR",
    });

    public static Option<string> RunsDir() => PathOption(new Option<string>("--runs-dir")
    {
        Description = "Directory that holds run directories",
        DefaultValueFactory = _ => "runs",
        HelpName = "DIR",
    });

    /// <summary>--score: how a reconstruction becomes an anomaly score; used by train, evaluate, score, report and benchmark.</summary>
    internal sealed class ScoreOption
    {
        public readonly Option<string?> Option = new("--score")
        {
            Description = "Anomaly score: " + string.Join("; ", AnomalyScore.All.Select(k => $"{AnomalyScore.Name(k)}: {AnomalyScore.Describe(k)}")) +
                " [default: the score the model was trained with, mse unless train --score said otherwise]",
            HelpName = string.Join("|", AnomalyScore.All.Select(AnomalyScore.Name)),
        };

        /// <summary>The score given, or null when --score was not given; a wrong name is a usage error.</summary>
        public ScoreKind? Read(ParseResult parse)
        {
            string? text = parse.GetValue(Option);
            if (text is null) return null;
            try { return AnomalyScore.Parse(text); }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
        }
    }

    public static Option<bool> Json() => new("--json") { Description = "Print one JSON object on stdout instead of tables" };

    /// <summary>--quiet; <paramref name="hasJson"/> says whether the command has --json (its help mentions it only then).</summary>
    public static Option<bool> Quiet(bool hasJson = false) => new("--quiet", "-q")
    {
        Description = hasJson ? "Print nothing but errors and warnings (and --json output)" : "Print nothing but errors and warnings",
    };

    // ---- Numbers: one parser for every numeric option -------------------------------------------------------------

    /// <summary>An integer option parsed by <see cref="Numbers.ParseInt"/>.</summary>
    public static Option<int> Int(string name, string description, int defaultValue, string helpName = "N") => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        HelpName = helpName,
        CustomParser = r => Parse(r, defaultValue, Numbers.ParseInt),
    };

    /// <summary>An optional integer option (null when not given).</summary>
    public static Option<int?> OptionalInt(string name, string description, string helpName = "N") => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = r => Parse<int?>(r, null, (n, t) => Numbers.ParseInt(n, t)),
    };

    public static Option<ulong> ULong(string name, string description, ulong defaultValue, string helpName = "N") => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        HelpName = helpName,
        CustomParser = r => Parse(r, defaultValue, Numbers.ParseULong),
    };

    public static Option<double> Double(string name, string description, double defaultValue, string helpName) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        HelpName = helpName,
        CustomParser = r => Parse(r, defaultValue, Numbers.ParseDouble),
    };

    public static Option<double?> OptionalDouble(string name, string description, string helpName) => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = r => Parse<double?>(r, null, (n, t) => Numbers.ParseDouble(n, t)),
    };

    private static T Parse<T>(ArgumentResult result, T none, Func<string, string, T> parse)
    {
        if (result.Tokens.Count == 0) return none;
        string name = result.Parent is OptionResult o ? o.Option.Name : "the value";
        try
        {
            return parse(name, result.Tokens[^1].Value);
        }
        catch (FormatException e)
        {
            result.AddError(e.Message);
            return none;
        }
    }

    /// <summary>
    /// The strict number grammar of every numeric option, the same under every locale: digits, an optional sign, a decimal
    /// point, an exponent; NaN and Infinity by name (the options then say why they are impossible). A comma is never a
    /// decimal point and never a group separator ("0,02" is not 2, and "1,000" is not 1000).
    /// </summary>
    internal static partial class Numbers
    {
        public static int ParseInt(string name, string text)
        {
            if (!StrictNumbers.IsInteger(text)) throw Bad(name, text, "a whole number");
            if (!StrictNumbers.TryParseInt(text, out int value))
                throw new FormatException($"{name} {MessageText.Quote(text, 40)} is out of range; it must be a whole number from {int.MinValue} to {int.MaxValue}");
            return value;
        }

        public static ulong ParseULong(string name, string text)
        {
            if (!StrictNumbers.IsInteger(text) || text.StartsWith('-')) throw Bad(name, text, "a whole number 0 or more");
            if (!StrictNumbers.TryParseULong(text, out ulong value))
                throw new FormatException($"{name} {MessageText.Quote(text, 40)} is out of range; it must be a whole number from 0 to {ulong.MaxValue}");
            return value;
        }

        public static double ParseDouble(string name, string text) =>
            StrictNumbers.TryParseDouble(text, out double value) ? value : throw Bad(name, text, "a number");

        private static FormatException Bad(string name, string text, string what)
        {
            string shown = MessageText.Quote(text, 40), t = text;
            if (t.Contains(','))
            {
                if (what == "a number" && DecimalCommaText().IsMatch(t))
                    return new FormatException($"{name} {shown} is not a number: use a point for decimals ({t.Replace(',', '.')}); a comma is not a decimal point or a group separator");
                if (GroupedText().IsMatch(t))
                    return new FormatException($"{name} {shown} is not {what}: write digits only, without group separators ({t.Replace(",", "", StringComparison.Ordinal)})");
                return new FormatException($"{name} {shown} is not {what}: a comma is not a decimal point or a group separator");
            }
            if (t.IndexOfAny(['_', '\'', ' ', '\u00A0', '\u202F']) >= 0)
                return new FormatException($"{name} {shown} is not {what}: write digits only, without group separators");
            return new FormatException($"{name} {shown} is not {what}");
        }

        [GeneratedRegex(@"^[+-]?[0-9]{1,3}(,[0-9]{3})+\z")]
        private static partial Regex GroupedText();



        [GeneratedRegex(@"^[+-]?[0-9]*,[0-9]+\z")]
        private static partial Regex DecimalCommaText();

    }

    // ---- Paths: a token that looks like an option is never a path ----------------------------------------------------

    /// <summary>Adds the rule that a value that looks like an option (--thresold, -x) is a typo, not a path.</summary>
    public static T PathOption<T>(T option) where T : Option
    {
        option.Validators.Add(result =>
        {
            foreach (Token token in result.Tokens)
                if (LooksLikeOption(token.Value))
                {
                    IEnumerable<string> names = result.Parent is CommandResult c ? OptionNames(c.Command) : [];
                    string hint = Suggestions.DidYouMean(token.Value, names) is { } s ? $"; did you mean {s}?" : "";
                    result.AddError($"{MessageText.Quote(token.Value, 40)} looks like an option, not a path for {option.Name}{hint} (a path that starts with '-' can be written ./{token.Value})");
                    return;
                }
        });
        return option;
    }

    /// <summary>"--name" or "-x": what a typed option looks like. "-" alone (stdin or stdout) is not one.</summary>
    internal static bool LooksLikeOption(string token) =>
        token.Length > 1 && token[0] == '-' && (token[1] == '-' ? token.Length > 2 : char.IsAsciiLetter(token[1]));

    /// <summary>Every name and alias of the options <paramref name="command"/> accepts, its recursive parents' included.</summary>
    internal static IEnumerable<string> OptionNames(Command command) =>
        command.Options.SelectMany(o => o.Aliases.Prepend(o.Name)).Concat(["--help", "--verbose"]).Distinct();

    // ---- Options that cannot apply -----------------------------------------------------------------------------------

    /// <summary>The options of <paramref name="options"/> that the user gave explicitly (not their defaults).</summary>
    public static IReadOnlyList<Option> Given(ParseResult parse, IEnumerable<Option> options) =>
        [.. options.Where(o => parse.GetResult(o) is { Implicit: false })];

    /// <summary>An option given where it cannot apply is a usage error, whatever its value: it would otherwise be ignored.</summary>
    public static void RejectGiven(ParseResult parse, IEnumerable<Option> options, string because)
    {
        IReadOnlyList<Option> given = Given(parse, options);
        if (given.Count == 0) return;
        string names = given.Count == 1 ? given[0].Name : string.Join(", ", given.Take(given.Count - 1).Select(o => o.Name)) + " and " + given[^1].Name;
        throw new UsageException($"{names} cannot apply: {because}; drop {(given.Count == 1 ? "it" : "them")}");
    }

    /// <summary>--engine, --device and --threads: which engine computes, where, with how many threads; checked in one place.</summary>
    internal sealed class ComputeSet
    {
        public readonly Option<string> Engine = new("--engine")
        {
            Description = $"Engine that computes the model: {string.Join("; ", App.Engines.Providers.Select(p => $"{p.Name}: {p.Summary}"))}",
            DefaultValueFactory = _ => Engines.Native.NativeEngine.EngineName,
            HelpName = string.Join("|", App.Engines.Providers.Select(p => p.Name)),
        };
        public readonly Option<string> Device = new("--device")
        {
            Description = $"Compute device: {string.Join("; ", App.Engines.Providers.Select(p => $"the {p.Name} engine computes on {string.Join(" or ", p.Devices)}"))}",
            DefaultValueFactory = _ => ComputeOptions.Cpu,
            HelpName = string.Join("|", ComputeOptions.KnownDevices),
        };
        public readonly Option<int> Threads = Int("--threads", $"CPU threads for the engine, 1-{ComputeOptions.MaxThreads} (the native engine's results do not depend on it; the ilgpu engine uses them on --device cpu only)", ComputeOptions.DefaultThreads);

        public Option[] All => [Engine, Device, Threads];

        /// <summary>The options, validated against the program's engines; a problem is a usage error naming the option.</summary>
        public ComputeOptions Read(ParseResult parse)
        {
            try
            {
                return App.Engines.Validate(new ComputeOptions(parse.GetValue(Engine)!, parse.GetValue(Device)!, parse.GetValue(Threads)));
            }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
        }

        /// <summary>True when the user gave --engine or --device (not only their defaults).</summary>
        public bool EngineOrDeviceGiven(ParseResult parse) =>
            parse.GetResult(Engine) is { Implicit: false } || parse.GetResult(Device) is { Implicit: false };
    }

    /// <summary>The options that define a split; used by train, and by evaluate without --run.</summary>
    internal sealed class SplitSet
    {
        public readonly Option<int> Normal = Int("--normal", "The normal digit, 0-9", 5, "DIGIT");
        public readonly Option<string> Protocol = new("--protocol")
        {
            Description = "seed: the tutorial's split of all 70,000 digits; one-class: all training images of the digit, the full test set",
            DefaultValueFactory = _ => "seed",
            HelpName = "seed|one-class",
        };
        public readonly Option<int> TrainNormal = Int("--train-normal", "seed protocol: normal images in the train split", 5000);
        public readonly Option<int> TrainAnomalies = Int("--train-anomalies", "seed protocol: anomalies mixed into the train split", 500);
        public readonly Option<int> TestNormal = Int("--test-normal", "seed protocol: normal images in the test split", 1000);
        public readonly Option<int> TestAnomalies = Int("--test-anomalies", "seed protocol: anomalies in the test split", 1000);
        public readonly Option<double> Validation = Double("--validation",
            "Fraction of the train split held out for early stopping and threshold choice (0: watch the test split, as the tutorial does)", 0.0, "F");
        public readonly Option<ulong> Seed = ULong("--seed", "Seed for the split, initialisation and shuffling", 42UL);

        public Option[] All => [Normal, Protocol, TrainNormal, TrainAnomalies, TestNormal, TestAnomalies, Validation, Seed];

        public SplitOptions Read(ParseResult parse)
        {
            string protocolText = parse.GetValue(Protocol)!;
            if (!SplitOptions.TryParseProtocol(protocolText.Trim().ToLowerInvariant(), out SplitProtocol protocol))
                throw new UsageException($"--protocol {MessageText.Quote(protocolText)} is not a protocol; use seed or one-class");
            if (protocol == SplitProtocol.OneClass)
                RejectGiven(parse, [TrainNormal, TrainAnomalies, TestNormal, TestAnomalies],
                    "the one-class protocol trains on every training image of the normal digit and tests on the whole test file");
            var options = new SplitOptions(protocol, parse.GetValue(Normal), parse.GetValue(TrainNormal), parse.GetValue(TrainAnomalies),
                parse.GetValue(TestNormal), parse.GetValue(TestAnomalies), parse.GetValue(Validation), parse.GetValue(Seed));
            Splitter.Validate(options);
            return options;
        }
    }

    /// <summary>Loads MNIST from --data or the default location, with a clear error when neither exists.</summary>
    public static MnistDataset LoadData(string? dataDirectory)
    {
        string directory = dataDirectory ?? DefaultDataDirectory()
            ?? throw new DataFormatException("MNIST data not found beside the program or under ./data/mnist; pass --data DIR");
        MnistDataset data = MnistDataset.Load(directory);
        // Loading leaves ~110 MB of inflated and compressed file buffers behind; hand that memory back to
        // the OS before training, so peak memory stays low.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return data;
    }

    /// <summary><see cref="LoadData"/>, each directory read once however often it is asked for (report --compare's runs).</summary>
    public static Func<string?, MnistDataset> LoadOnce()
    {
        var loaded = new Dictionary<string, MnistDataset>(StringComparer.Ordinal);
        return directory =>
        {
            string key = directory is null ? "" : Path.GetFullPath(directory);
            if (!loaded.TryGetValue(key, out MnistDataset? data)) loaded[key] = data = LoadData(directory);
            return data;
        };
    }

    private static string? DefaultDataDirectory() => MnistDataset.FindDefaultDirectory(Environment.CurrentDirectory);

    /// <summary>
    /// The data a run was trained on: --data when given, else the directory its run.json records, else (when that is gone)
    /// the shipped data; in every case the files' checksum must be the recorded one. A run that records nothing (one made
    /// before aemnist recorded its data, or a model file) uses --data or the shipped data.
    /// </summary>
    public static MnistDataset LoadDataFor(RunDirectory? run, string? dataOption, Func<string?, MnistDataset>? load = null) =>
        LoadDataFor(run?.Path, run?.ReadInfo() is { } info ? new DataRecord(info.DataDirectory ?? "", info.DataSha256 ?? "") : null, dataOption, load);

    /// <summary>
    /// The same; <paramref name="load"/> (default <see cref="LoadData"/>) reads a directory, so that a command using several
    /// runs can read and hash each directory once (<see cref="LoadOnce"/>).
    /// </summary>
    public static MnistDataset LoadDataFor(string? runPath, DataRecord? recorded, string? dataOption, Func<string?, MnistDataset>? load = null)
    {
        load ??= LoadData;
        if (recorded is not { Sha256.Length: > 0 }) return load(dataOption);
        MnistDataset Checked(MnistDataset data, string how)
        {
            if (data.Sha256 == recorded.Sha256) return data;
            throw new DataFormatException(
                $"{data.Directory}: these MNIST files {how} are not the ones {runPath} was trained on ({recorded.Directory}, sha256 {recorded.Sha256[..12]}...); pass --data with the run's own files");
        }
        if (dataOption is not null) return Checked(load(dataOption), "(--data)");
        if (recorded.Directory.Length > 0 && Directory.Exists(recorded.Directory)) return Checked(load(recorded.Directory), "(recorded in its run.json)");
        string? fallback = DefaultDataDirectory();
        if (fallback is not null && load(fallback) is { } shipped && shipped.Sha256 == recorded.Sha256) return shipped;
        throw new DataFormatException($"{recorded.Directory}: {runPath} was trained on the MNIST files in this directory, which is not there any more; pass --data DIR with the same files");
    }

    public static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}

/// <summary>"Did you mean --normal?": the closest known name to a mistyped one (Damerau-Levenshtein, a few edits at most).</summary>
internal static class Suggestions
{
    public static string? DidYouMean(string typed, IEnumerable<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in known.Distinct())
        {
            int d = Distance(typed.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (candidate, d);
        }
        int allowed = Math.Clamp(typed.TrimStart('-').Length / 3, 1, 3);
        return best is not null && bestDistance <= allowed && bestDistance > 0 ? best : null;
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
