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
}
