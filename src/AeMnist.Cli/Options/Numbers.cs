// Every numeric option goes through one strict parser: digits, an optional sign, a decimal point, an exponent, the
// same under every locale; a comma is never a decimal point or a group separator ("0,02" is not 2, "1,000" is not 1000).
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;
using AeMnist.Engines;
using AeMnist.IO;
using AeMnist.Scoring;

namespace AeMnist.Cli.Commands;

internal static partial class SharedOptions
{
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
}
