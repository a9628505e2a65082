// Helpers for the one-line error messages: text taken from a file is quoted so it cannot break the line.
using System.Text;

namespace AeMnist.IO;

public static class MessageText
{
    /// <summary>
    /// Text from a file, single-quoted for a one-line message: control characters escaped as \uXXXX and long
    /// text cut to <paramref name="maxShown"/> characters with "...", so no input can split the message or
    /// flood the terminal.
    /// </summary>
    public static string Quote(ReadOnlySpan<char> text, int maxShown = 80)
    {
        var sb = new StringBuilder("'");
        foreach (char c in text.Length > maxShown ? text[..maxShown] : text)
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029') sb.Append($"\\u{(int)c:x4}");
            else sb.Append(c);
        }
        if (text.Length > maxShown) sb.Append("...");
        return sb.Append('\'').ToString();
    }
}
