// Options that several commands share (data location, split definition, output mode), declared once so
// their names, defaults and descriptions cannot drift apart between commands.
using System.CommandLine;
using System.Globalization;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Evaluation;

namespace AeMnist.Cli.Commands;

internal static class SharedOptions
{
    public static Option<string?> Data() => new("--data")
    {
        Description = "Directory with the four MNIST IDX files, raw or .gz [default: the shipped data/mnist]",
        HelpName = "DIR",
    };

    public static Option<string> RunsDir() => new("--runs-dir")
    {
        Description = "Directory that holds run directories",
        DefaultValueFactory = _ => "runs",
        HelpName = "DIR",
    };

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

    public static Option<bool> Quiet() => new("--quiet", "-q") { Description = "Print nothing but errors (and --json output)" };

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
        public readonly Option<int> Threads = new("--threads")
        {
            Description = "CPU threads for the engine (the native engine's results do not depend on it)",
            DefaultValueFactory = _ => ComputeOptions.DefaultThreads,
            HelpName = "N",
        };

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
        public readonly Option<int> Normal = new("--normal") { Description = "The normal digit, 0-9", DefaultValueFactory = _ => 5, HelpName = "DIGIT" };
        public readonly Option<string> Protocol = new("--protocol")
        {
            Description = "seed: the tutorial's split of all 70,000 digits; one-class: all training images of the digit, the full test set",
            DefaultValueFactory = _ => "seed",
            HelpName = "seed|one-class",
        };
        public readonly Option<int> TrainNormal = new("--train-normal") { Description = "seed protocol: normal images in the train split", DefaultValueFactory = _ => 5000, HelpName = "N" };
        public readonly Option<int> TrainAnomalies = new("--train-anomalies") { Description = "seed protocol: anomalies mixed into the train split", DefaultValueFactory = _ => 500, HelpName = "N" };
        public readonly Option<int> TestNormal = new("--test-normal") { Description = "seed protocol: normal images in the test split", DefaultValueFactory = _ => 1000, HelpName = "N" };
        public readonly Option<int> TestAnomalies = new("--test-anomalies") { Description = "seed protocol: anomalies in the test split", DefaultValueFactory = _ => 1000, HelpName = "N" };
        public readonly Option<double> Validation = new("--validation")
        {
            Description = "Fraction of the train split held out for early stopping and threshold choice (0: watch the test split, as the tutorial does)",
            DefaultValueFactory = _ => 0.0,
            HelpName = "F",
        };
        public readonly Option<ulong> Seed = new("--seed") { Description = "Seed for the split, initialisation and shuffling", DefaultValueFactory = _ => 42UL, HelpName = "N" };

        public Option[] All => [Normal, Protocol, TrainNormal, TrainAnomalies, TestNormal, TestAnomalies, Validation, Seed];

        public SplitOptions Read(ParseResult parse)
        {
            string protocolText = parse.GetValue(Protocol)!;
            if (!SplitOptions.TryParseProtocol(protocolText, out SplitProtocol protocol))
                throw new UsageException($"--protocol '{protocolText}' is not a protocol; use seed or one-class");
            var options = new SplitOptions(protocol, parse.GetValue(Normal), parse.GetValue(TrainNormal), parse.GetValue(TrainAnomalies),
                parse.GetValue(TestNormal), parse.GetValue(TestAnomalies), parse.GetValue(Validation), parse.GetValue(Seed));
            Splitter.Validate(options);
            return options;
        }
    }

    /// <summary>Loads MNIST from --data or the default location, with a clear error when neither exists.</summary>
    public static MnistDataset LoadData(string? dataDirectory)
    {
        string directory = dataDirectory ?? MnistDataset.FindDefaultDirectory(Environment.CurrentDirectory)
            ?? throw new DataFormatException("MNIST data not found beside the program or under ./data/mnist; pass --data DIR");
        MnistDataset data = MnistDataset.Load(directory);
        // Loading leaves ~110 MB of inflated and compressed file buffers behind; hand that memory back to
        // the OS before training, so peak memory stays low.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return data;
    }

    public static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
