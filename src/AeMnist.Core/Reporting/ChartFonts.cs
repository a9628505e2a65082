// The one font every chart uses: Liberation Sans (SIL OFL 1.1, metric-compatible with Arial), shipped inside this
// assembly. ScottPlot otherwise asks the machine's fonts, and a machine without any draws every label as nothing,
// silently; here a font that cannot be loaded is an error, and no chart is drawn without text.
using ScottPlot;
using SkiaSharp;

namespace AeMnist.Reporting;

public static class ChartFonts
{
    /// <summary>The family name charts ask for; SVG files name it with fallbacks of the same metrics.</summary>
    public const string Family = "Liberation Sans";

    /// <summary>The font-family SVG files get: the shipped font, then Arial (same metrics), then any sans-serif.</summary>
    public const string SvgFamily = "'Liberation Sans', Arial, Helvetica, sans-serif";

    private static readonly Lazy<(SKTypeface Regular, SKTypeface Bold)> Typefaces = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The shipped regular and bold typefaces, installed as ScottPlot's default font on first use.</summary>
    public static (SKTypeface Regular, SKTypeface Bold) Installed => Typefaces.Value;

    /// <summary>Makes the shipped font ScottPlot's default (idempotent); throws when it cannot be loaded.</summary>
    public static void EnsureInstalled() => _ = Typefaces.Value;

    private static (SKTypeface, SKTypeface) Install()
    {
        SKTypeface regular = Load("LiberationSans-Regular.ttf"), bold = Load("LiberationSans-Bold.ttf");
        Fonts.FontResolvers.Insert(0, new ShippedFontResolver(regular, bold));
        Fonts.Default = Family;
        Fonts.Sans = Family;
        return (regular, bold);
    }

    private static SKTypeface Load(string file)
    {
        string resource = "AeMnist.Fonts." + file;
        using Stream stream = typeof(ChartFonts).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the chart font {resource} is missing from {typeof(ChartFonts).Assembly.GetName().Name}.dll; the build is broken");
        using var data = SKData.Create(stream);
        SKTypeface? typeface = data is null ? null : SKTypeface.FromData(data);
        if (typeface is null || typeface.GlyphCount < 100 || !typeface.ContainsGlyph('0'))
            throw new InvalidOperationException($"the chart font {resource} cannot be loaded by SkiaSharp; charts would have no text");
        return typeface;
    }

    /// <summary>Answers for <see cref="Family"/> only (other names fall through to ScottPlot's system resolver).</summary>
    private sealed class ShippedFontResolver(SKTypeface regular, SKTypeface bold) : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, bool isBold, bool isItalic) => Pick(fontName, isBold);

        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing width) =>
            Pick(fontName, (int)weight >= (int)FontWeight.SemiBold);

        private SKTypeface? Pick(string fontName, bool isBold) =>
            string.Equals(fontName, Family, StringComparison.OrdinalIgnoreCase) ? (isBold ? bold : regular) : null;
    }
}
