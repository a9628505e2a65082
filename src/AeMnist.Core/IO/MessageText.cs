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
    public static string Quote(ReadOnlySpan<char> text, int maxShown = 80) => "'" + Escape(text, maxShown) + "'";

    /// <summary>
    /// A path or name for a one-line message, unquoted: control characters escaped as in <see cref="Quote"/>, and a long
    /// one cut to about <paramref name="maxShown"/> characters with "...".
    /// </summary>
    public static string Escape(ReadOnlySpan<char> text, int maxShown = 160)
    {
        var sb = new StringBuilder();
        int shown = 0;
        bool cut = false;
        foreach (char c in text)
        {
            // Escapes count at their printed length, so no input can make the quote longer than about maxShown.
            string piece = char.IsControl(c) || c is '\u2028' or '\u2029' ? $"\\u{(int)c:x4}" : c.ToString();
            if (shown + piece.Length > maxShown)
            {
                cut = true;
                break;
            }
            sb.Append(piece);
            shown += piece.Length;
        }
        if (cut) sb.Append("...");
        return sb.ToString();
    }
}
