// --score: how a reconstruction becomes an anomaly score; used by train, evaluate, score, report and benchmark.
using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.IO;
using AeMnist.Runs;
using AeMnist.Scoring;

namespace AeMnist.Cli.Commands;

internal static partial class SharedOptions
{
    /// <summary>--score: how a reconstruction becomes an anomaly score; used by train, evaluate, score, report and benchmark.</summary>
    internal sealed class ScoreOption
    {
        public readonly Option<string?> Option = new("--score")
        {
            Description = "Anomaly score: " + string.Join("; ", Scores.All.Select(k => $"{Scores.Name(k)}: {Scores.Describe(k)}")) +
                " [default: the score the model was trained with, mse unless train --score said otherwise]",
            HelpName = string.Join("|", Scores.All.Select(Scores.Name)),
        };

        /// <summary>The score given, or null when --score was not given; a wrong name is a usage error.</summary>
        public ScoreKind? Read(ParseResult parse)
        {
            string? text = parse.GetValue(Option);
            if (text is null) return null;
            try { return Scores.Parse(text); }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
        }
    }
}
