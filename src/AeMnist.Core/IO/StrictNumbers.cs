// The one number grammar of aemnist, for options and for files alike: ASCII digits, an optional sign, a decimal point
// and an exponent, or NaN and Infinity by name; the same under every culture. No comma (never a decimal point, never a
// group separator), no spaces, no trailing NUL characters (which .NET's own parsers quietly accept).
using System.Globalization;
using System.Text.RegularExpressions;

namespace AeMnist.IO;

public static partial class StrictNumbers
{
    public static bool IsInteger(string text) => IntegerText().IsMatch(text);

    public static bool TryParseInt(string text, out int value)
    {
        value = 0;
        return IsInteger(text) && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    public static bool TryParseLong(string text, out long value)
    {
        value = 0;
        return IsInteger(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    public static bool TryParseULong(string text, out ulong value)
    {
        value = 0;
        return IsInteger(text) && !text.StartsWith('-') && ulong.TryParse(text.TrimStart('+'), NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>A decimal number (NaN and [+-]Infinity by name, any case); false for anything else.</summary>
    public static bool TryParseDouble(string text, out double value)
    {
        if (SpecialText().Match(text) is { Success: true } special)
        {
            value = special.Groups[1].Value.Length > 0 ? double.NaN : text.StartsWith('-') ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }
        value = 0;
        return DecimalText().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    [GeneratedRegex(@"^[+-]?[0-9]+\z")]
    private static partial Regex IntegerText();

    [GeneratedRegex(@"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\z")]
    private static partial Regex DecimalText();

    [GeneratedRegex(@"^(?:(nan)|[+-]?(?:infinity|inf))\z", RegexOptions.IgnoreCase)]
    private static partial Regex SpecialText();
}
