// One chart of the report: a ScottPlot plot with its file name, title and size, rendered to PNG and to an SVG that
// can stand alone (its own file) or inline in report.html (ids made unique, font with same-metric fallbacks).
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ScottPlot;

namespace AeMnist.Reporting;

public sealed partial class Chart
{
    private string? _svg;

    /// <param name="name">File stem (loss, roc, ...): the chart is written as NAME.svg and NAME.png.</param>
    /// <param name="title">What the chart shows; also the SVG's &lt;title&gt;.</param>
    /// <param name="plot">The ScottPlot plot, fully set up.</param>
    /// <param name="width">Width in pixels (PNG) and user units (SVG).</param>
    /// <param name="height">Height in pixels and user units.</param>
    public Chart(string name, string title, Plot plot, int width, int height)
    {
        if (!ValidName().IsMatch(name)) throw new ArgumentException($"Chart name '{name}' must be lowercase letters, digits and dashes.", nameof(name));
        if (width < 50 || height < 50) throw new ArgumentException($"Chart size {width}x{height} is too small.");
        Name = name;
        Title = title;
        Plot = plot;
        Width = width;
        Height = height;
    }

    public string Name { get; }

    public string Title { get; }

    /// <summary>The ScottPlot plot; tests read its plottables to check the plotted numbers.</summary>
    public Plot Plot { get; }

    public int Width { get; }

    public int Height { get; }

    /// <summary>
    /// The chart as a standalone SVG document (no XML declaration, so it also inlines in HTML): a viewBox, a
    /// &lt;title&gt;, ids numbered per chart and prefixed with its name so several charts share a page, and the shipped font named
    /// with fallbacks of the same metrics (glyph positions are fixed in the file, so text lands where it was laid out).
    /// </summary>
    public string Svg() => _svg ??= Tidy(Plot.GetSvgXml(Width, Height));

    /// <summary>The chart as PNG bytes (drawn with the shipped font).</summary>
    public byte[] Png() => Plot.GetImageBytes(Width, Height, ImageFormat.Png);

    /// <summary>Every piece of text in the SVG, in document order (tick labels, titles, legend entries, annotations).</summary>
    public IReadOnlyList<string> Texts() => SvgTexts(Svg());

    /// <summary>The text content of every &lt;text&gt; element of an SVG document, trimmed.</summary>
    public static IReadOnlyList<string> SvgTexts(string svg)
    {
        XDocument doc = XDocument.Parse(svg);
        return [.. doc.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value.Trim()).Where(t => t.Length > 0)];
    }

    private string Tidy(string svg)
    {
        svg = XmlDeclaration().Replace(svg, "");
        // ScottPlot numbers clip paths from a process-wide counter; renumber them per chart, in order, so the same
        // chart gives the same bytes and ids stay unique on a page of several charts.
        var ids = new Dictionary<string, string>();
        foreach (Match m in IdAttribute().Matches(svg)) ids.TryAdd(m.Groups[1].Value, $"{Name}-{ids.Count + 1}");
        string Id(string id) => ids.TryGetValue(id, out string? renamed) ? renamed : id;
        svg = IdAttribute().Replace(svg, m => $"id=\"{Id(m.Groups[1].Value)}\"");
        svg = UrlReference().Replace(svg, m => $"url(#{Id(m.Groups[1].Value)})");
        svg = HrefReference().Replace(svg, m => $"{m.Groups[1].Value}=\"#{Id(m.Groups[2].Value)}\"");
        svg = svg.Replace($"font-family=\"{ChartFonts.Family}\"", $"font-family=\"{ChartFonts.SvgFamily}\"", StringComparison.Ordinal);
        string size = string.Create(CultureInfo.InvariantCulture, $"width=\"{Width}\" height=\"{Height}\"");
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        int end = svg.IndexOf('>', start);
        string head = svg[start..end];
        if (!head.Contains("viewBox", StringComparison.Ordinal))
            head = head.Replace(size, size + string.Create(CultureInfo.InvariantCulture, $" viewBox=\"0 0 {Width} {Height}\""), StringComparison.Ordinal);
        head += $" class=\"chart\" data-chart=\"{Name}\" role=\"img\"";
        return svg[..start] + head + $"><title>{WebUtility.HtmlEncode(Title)}</title>" + svg[(end + 1)..].TrimStart('\r', '\n');
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]*$")]
    private static partial Regex ValidName();

    [GeneratedRegex(@"<\?xml[^>]*\?>\s*")]
    private static partial Regex XmlDeclaration();

    [GeneratedRegex("id=\"([^\"]+)\"")]
    private static partial Regex IdAttribute();

    [GeneratedRegex(@"url\(#([^)]+)\)")]
    private static partial Regex UrlReference();

    [GeneratedRegex("((?:xlink:)?href)=\"#([^\"]+)\"")]
    private static partial Regex HrefReference();
}
