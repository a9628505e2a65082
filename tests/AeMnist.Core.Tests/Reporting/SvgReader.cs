// Reads charts back: parses the SVG as XML and maps data values to pixels through the plot area's attributes.
using System.Globalization;
using System.Xml.Linq;

namespace AeMnist.Core.Tests.Reporting;

internal sealed class SvgReader
{
    public static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    public XDocument Document { get; }

    public SvgReader(string svg)
    {
        Document = XDocument.Parse(svg);
        Assert.Equal(Svg + "svg", Document.Root!.Name);
        Assert.NotNull(Document.Root.Attribute("viewBox"));
    }

    public IEnumerable<XElement> WithClass(string cls) =>
        Document.Descendants().Where(e => ((string?)e.Attribute("class"))?.Split(' ').Contains(cls) == true);

    public XElement Single(string cls) => Assert.Single(WithClass(cls));

    public static double D(XElement e, string attribute) =>
        double.Parse((string?)e.Attribute(attribute) ?? throw new Xunit.Sdk.XunitException($"<{e.Name.LocalName}> has no {attribute}"), CultureInfo.InvariantCulture);

    private XElement Plot => Single("plot-area");

    public double PixelX(double value) => Map(value, "x", D(Plot, "x"), D(Plot, "x") + D(Plot, "width"));

    public double PixelY(double value) => Map(value, "y", D(Plot, "y") + D(Plot, "height"), D(Plot, "y"));

    private double Map(double value, string axis, double p0, double p1)
    {
        double min = D(Plot, $"data-{axis}-min"), max = D(Plot, $"data-{axis}-max");
        bool log = (string?)Plot.Attribute($"data-{axis}-scale") == "log";
        double t = log ? (Math.Log10(value) - Math.Log10(min)) / (Math.Log10(max) - Math.Log10(min)) : (value - min) / (max - min);
        return p0 + t * (p1 - p0);
    }

    public List<(double X, double Y)> Points(string seriesName) =>
        ParsePoints((string)WithClass("series").Single(e => (string?)e.Attribute("data-name") == seriesName).Attribute("points")!);

    public static List<(double X, double Y)> ParsePoints(string points) =>
        points.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p =>
        {
            var xy = p.Split(',');
            return (double.Parse(xy[0], CultureInfo.InvariantCulture), double.Parse(xy[1], CultureInfo.InvariantCulture));
        }).ToList();

    public List<string> TickLabels(string axis) =>
        WithClass(axis + "-ticks").Single().Elements(Svg + "text").Select(t => t.Value).ToList();
}
