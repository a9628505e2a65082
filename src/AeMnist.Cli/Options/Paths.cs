// Path options refuse option-looking tokens ("--thresold" is a typo, not a file), and an option given where it cannot
// apply is an error, whatever its value: it would otherwise be ignored.
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.IO;
using AeMnist.Scoring;

namespace AeMnist.Cli.Commands;

internal static partial class SharedOptions
{
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
}
