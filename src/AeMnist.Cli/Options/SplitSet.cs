// The options that define a split (--normal, --protocol, the counts, --validation, --seed); used by train, and by
// evaluate and report for a model that records no split.
using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using AeMnist.Data;
using AeMnist.IO;
using AeMnist.Scoring;

namespace AeMnist.Cli.Commands;

internal static partial class SharedOptions
{
    /// <summary>The options that define a split; used by train, and by evaluate and report for a model that records none.</summary>
    internal sealed class SplitSet
    {
        public readonly Option<string?> Normal = new("--normal")
        {
            Description = "The normal class: a digit 0-9 for MNIST, else a class's name (its folder's name) or number [default: 5 for MNIST; the class called good or normal where the data has one]",
            HelpName = "CLASS",
        };
        public readonly Option<string?> Protocol = new("--protocol")
        {
            Description = "seed: the tutorial's split, sampled from all the data's images (for MNIST: all 70,000 digits); one-class: every training image of the normal class, " +
                "tested on the data's test part (MNIST's test file; a folder without one holds 20% of the normal images out, with every image of the other classes); development: one-class inside the training part alone, for choosing a recipe without the test part " +
                "(each class's training images cut in file order at five sixths: the normal class's first five sixths train, the last sixth of every class tests) [default: seed for MNIST, one-class otherwise]",
            HelpName = "seed|one-class|development",
        };
        public readonly Option<int> TrainNormal = Int("--train-normal", "seed protocol: normal images in the train split", 5000);
        public readonly Option<int> TrainAnomalies = Int("--train-anomalies", "seed protocol: anomalies mixed into the train split", 500);
        public readonly Option<int> TestNormal = Int("--test-normal", "seed protocol: normal images in the test split", 1000);
        public readonly Option<int> TestAnomalies = Int("--test-anomalies", "seed protocol: anomalies in the test split", 1000);
        public readonly Option<double> Validation = Double("--validation",
            "Fraction of the train split held out for early stopping and threshold choice (0: watch the test split, as the tutorial does)", 0.0, "F");
        public readonly Option<ulong> Seed = ULong("--seed", "Seed for the split, initialisation and shuffling", 42UL);

        public Option[] All => [Normal, Protocol, TrainNormal, TrainAnomalies, TestNormal, TestAnomalies, Validation, Seed];

        /// <summary>The options that only a labelled dataset's split can use (not --input's normal images).</summary>
        public Option[] Labelled => [Normal, Protocol, TrainNormal, TrainAnomalies, TestNormal, TestAnomalies];

        // The model's normal class among the data's classes: its digit for MNIST, its class name elsewhere; null when it records none (or the data has no such class).
        private static int? RecordedNormal(Detection.ModelMetadata model, Dataset data)
        {
            if (data.Source.IsMnist) return model.NormalClass is null && model.Normal is { } digit && digit >= 0 && digit < data.ClassNames.Count ? digit : null;
            int index = model.NormalClass is { } name ? data.ClassNames.ToList().IndexOf(name) : -1;
            return index >= 0 ? index : null;
        }

        /// <summary>The protocol given (null: the data's default), checked before any data is read.</summary>
        public SplitProtocol? ReadProtocol(ParseResult parse)
        {
            string? text = parse.GetValue(Protocol);
            if (text is null) return null;
            if (!SplitOptions.TryParseProtocol(text.Trim().ToLowerInvariant(), out SplitProtocol protocol))
                throw new UsageException($"--protocol {MessageText.Quote(text)} is not a protocol; use {SplitOptions.ProtocolNames}");
            return protocol;
        }

        /// <summary>
        /// The split of <paramref name="data"/> the options define, validated: the normal class resolved against the data's
        /// classes, the protocol the data's default when not given, the validation fraction <paramref name="validation"/>
        /// unless given.
        /// </summary>
        public SplitOptions Read(ParseResult parse, Dataset data, double? validation = null, Detection.ModelMetadata? model = null)
        {
            SplitProtocol protocol = ReadProtocol(parse) ?? (data.Source.IsMnist ? SplitProtocol.Seed : SplitProtocol.OneClass);
            if (protocol != SplitProtocol.Seed)
                RejectGiven(parse, [TrainNormal, TrainAnomalies, TestNormal, TestAnomalies],
                    protocol == SplitProtocol.OneClass
                        ? $"the one-class protocol trains on every training image of the normal {data.ClassNoun} and tests on the data's test part"
                        : $"the development protocol trains on five sixths of the normal {data.ClassNoun}'s training images and tests on the last sixth of every {data.ClassNoun}'s");
            string? normalText = parse.GetValue(Normal);
            int normal;
            try
            {
                normal = normalText is not null ? data.ResolveClass(normalText)
                    : data.Source.IsMnist ? 5
                    : data.ConventionalNormal() ?? throw new ArgumentException($"--normal is needed: {data.Source.Path} has no class called good or normal; name the normal one of its classes ({string.Join(", ", data.ClassNames.Take(8))})");
            }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            // A model that records its normal class is evaluated with that class as normal: by default, and a --normal
            // that names another is a contradiction, not a choice.
            if (model is not null && RecordedNormal(model, data) is { } own)
            {
                if (normalText is not null && normal != own)
                    throw new UsageException($"--normal {MessageText.Quote(normalText, 40)} contradicts the model, which records {model.DescribeNormal()} as normal; drop --normal (or use a model trained on that class)");
                normal = own;
            }
            bool validationGiven = parse.GetResult(Validation) is { Implicit: false };
            var options = new SplitOptions(protocol, normal, parse.GetValue(TrainNormal), parse.GetValue(TrainAnomalies),
                parse.GetValue(TestNormal), parse.GetValue(TestAnomalies), validationGiven ? parse.GetValue(Validation) : validation ?? parse.GetValue(Validation), parse.GetValue(Seed));
            Splitter.Validate(options);
            return options;
        }
    }
}
