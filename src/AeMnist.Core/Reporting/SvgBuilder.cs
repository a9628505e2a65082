// Writes SVG markup: invariant-culture numbers, escaped text, presentation attributes only (no <style>
// and no ids, so many charts can be inlined into one HTML page without affecting each other).
using System.Globalization;
using System.Text;

namespace AeMnist.Reporting;

internal sealed class SvgBuilder
{
    public const string Namespace = "http://www.w3.org/2000/svg";
    public const string FontFamily = "Helvetica, Arial, 'Liberation Sans', sans-serif";

    private readonly StringBuilder _sb = new();

    public SvgBuilder(double width, double height, string title)
    {
        _sb.Append($"<svg xmlns=\"{Namespace}\" viewBox=\"0 0 {Num(width)} {Num(height)}\" width=\"{Num(width)}\" height=\"{Num(height)}\"")
           .Append($" font-family=\"{FontFamily}\" font-size=\"12\" role=\"img\">\n");
        _sb.Append("<title>").Append(Escape(title)).Append("</title>\n");
        Element("rect", ("class", "background"), ("x", "0"), ("y", "0"), ("width", Num(width)), ("height", Num(height)), ("fill", "#ffffff"));
    }

    /// <summary>Coordinates and sizes: two decimals at most, invariant culture, no "-0".</summary>
    public static string Num(double v)
    {
        string s = v.ToString("0.##", CultureInfo.InvariantCulture);
        return s == "-0" ? "0" : s;
    }

    /// <summary>A data value kept exactly ("R" round-trips) for data-* attributes.</summary>
    public static string Data(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Escapes text for XML content and attribute values.</summary>
    public static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                default:
                    // Control characters are not allowed in XML 1.0; drop them rather than write an unreadable file.
                    if (c >= ' ' || c == '\n' || c == '\t') sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>An empty element; attributes whose value is null are left out.</summary>
    public void Element(string name, params (string Name, string? Value)[] attributes)
    {
        Open(name, attributes);
        _sb.Append("/>\n");
    }

    /// <summary>An element holding escaped text.</summary>
    public void TextElement(string name, string text, params (string Name, string? Value)[] attributes)
    {
        Open(name, attributes);
        _sb.Append('>').Append(Escape(text)).Append("</").Append(name).Append(">\n");
    }

    public void Begin(string name, params (string Name, string? Value)[] attributes)
    {
        Open(name, attributes);
        _sb.Append(">\n");
    }

    public void End(string name) => _sb.Append("</").Append(name).Append(">\n");

    private void Open(string name, (string Name, string? Value)[] attributes)
    {
        _sb.Append('<').Append(name);
        foreach (var (n, v) in attributes)
            if (v is not null) _sb.Append(' ').Append(n).Append("=\"").Append(Escape(v)).Append('"');
    }

    public void Line(double x1, double y1, double x2, double y2, string stroke, double width = 1, string? dash = null, string? cls = null) =>
        Element("line", ("class", cls), ("x1", Num(x1)), ("y1", Num(y1)), ("x2", Num(x2)), ("y2", Num(y2)),
            ("stroke", stroke), ("stroke-width", Num(width)), ("stroke-dasharray", string.IsNullOrEmpty(dash) ? null : dash));

    /// <summary>Text; <paramref name="anchor"/> is start, middle or end; <paramref name="rotate"/> turns it about its anchor.</summary>
    public void Text(double x, double y, string text, double size = 12, string anchor = "start", string? cls = null,
        string fill = "#222222", string? weight = null, double rotate = 0, params (string Name, string? Value)[] extra)
    {
        (string, string?)[] attributes =
        [
            ("class", cls), ("x", Num(x)), ("y", Num(y)), ("font-size", Num(size)), ("text-anchor", anchor == "start" ? null : anchor),
            ("fill", fill), ("font-weight", weight), ("transform", rotate == 0 ? null : $"rotate({Num(rotate)} {Num(x)} {Num(y)})"),
            .. extra,
        ];
        TextElement("text", text, attributes);
    }

    public string Finish()
    {
        _sb.Append("</svg>\n");
        return _sb.ToString();
    }

    /// <summary>Rough width of a text in pixels (no font metrics here): generous, so layouts do not overlap.</summary>
    public static double TextWidth(string text, double size) => text.Length * size * 0.6;

    /// <summary>The same SVG without its namespace declaration, for inlining into HTML (the HTML parser supplies it).</summary>
    public static string ForInline(string svg) => svg.Replace($" xmlns=\"{Namespace}\"", "");
}
