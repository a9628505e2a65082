// A terminal-sized histogram (binned as the report's chart bins, by ScottPlot's histogram) of normal and anomalous scores: one line per bin, two bars side by side,
// the threshold's bin marked. Plain ASCII on request, for logs and terminals without block characters.
using System.Globalization;
using System.Text;

namespace AeMnist.Reporting;

/// <summary>Options of <see cref="TextHistogram.Render"/>.</summary>
public sealed record TextHistogramOptions
{
    public int Bins { get; init; } = 20;

    /// <summary>Characters for the longest bar; each group's bars are its share of its own count, on one scale.</summary>
    public int BarWidth { get; init; } = 24;

    /// <summary>Only ASCII: '#' and '+' bars, '|' rules, '&gt;' marks.</summary>
    public bool Ascii { get; init; }

    /// <summary>Bins equal in log10(score); null chooses as the HTML report does.</summary>
    public bool? LogX { get; init; }

    /// <summary>What the binned values are, for the heading of the ranges' column: "error" (the default), or the score's label ("1 − SSIM").</summary>
    public string ValueName { get; init; } = "error";
}

public static class TextHistogram
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// The histogram as text lines ending in '\n': a header, then per bin its range, the normal bar, the
    /// anomalous bar and both counts; the bin holding <paramref name="threshold"/> is marked.
    /// </summary>
    public static string Render(IReadOnlyList<double> normal, IReadOnlyList<double> anomalous, double threshold, TextHistogramOptions? options = null)
    {
        var o = options ?? new TextHistogramOptions();
        if (o.Bins < 1 || o.BarWidth < 1) throw new ArgumentException("Bins and BarWidth must be positive.", nameof(options));
        if (!normal.Concat(anomalous).Any(double.IsFinite)) return "(no errors to show)\n";

        bool log = o.LogX ?? Charts.PrefersLog(normal.Concat(anomalous));
        Charts.Binned bins = Charts.Bin([normal, anomalous], o.Bins, log, threshold);
        long[] n = bins.Counts[0], a = bins.Counts[1];
        long nTotal = n.Sum(), aTotal = a.Sum();
        double Share(long count, long total) => total == 0 ? 0 : (double)count / total;
        double maxShare = Enumerable.Range(0, bins.Edges.Length - 1).Max(i => Math.Max(Share(n[i], nTotal), Share(a[i], aTotal)));
        int thresholdBin = double.IsFinite(threshold) ? BinOf(bins.Edges, threshold) : -1;

        char full = o.Ascii ? '#' : '█', light = o.Ascii ? '+' : '░';
        string rule = o.Ascii ? "|" : "│", mark = o.Ascii ? ">" : "▶", back = o.Ascii ? "<" : "◀";

        int binCount = bins.Edges.Length - 1;
        var ranges = Enumerable.Range(0, binCount).Select(i => (Lo: Edge(bins.Edges[i]), Hi: Edge(bins.Edges[i + 1]))).ToList();
        int loWidth = ranges.Max(r => r.Lo.Length), hiWidth = ranges.Max(r => r.Hi.Length);
        int rangeWidth = loWidth + 3 + hiWidth;
        int countWidth = Math.Max(6, Math.Max(n.Max(), a.Max()).ToString("N0", Inv).Length);

        var sb = new StringBuilder();
        string nTitle = $"normal (n={nTotal.ToString("N0", Inv)})", aTitle = $"anomalous (n={aTotal.ToString("N0", Inv)})";
        // Columns line up with the rows: "m " range " |" bar "|" bar "| " count " " count.
        string heading = o.Ascii ? o.ValueName.Replace('−', '-') : o.ValueName;
        sb.Append("  ").Append(heading.PadRight(rangeWidth)).Append("  ").Append(Fit(nTitle, o.BarWidth)).Append(' ').Append(Fit(aTitle, o.BarWidth))
          .Append("  ").Append("normal".PadLeft(countWidth)).Append(' ').Append("anom.".PadLeft(countWidth)).Append('\n');
        for (int i = 0; i < binCount; i++)
        {
            sb.Append(i == thresholdBin ? mark : " ").Append(' ')
              .Append(ranges[i].Lo.PadLeft(loWidth)).Append(" - ").Append(ranges[i].Hi.PadRight(hiWidth)).Append(' ')
              .Append(rule).Append(Bar(Share(n[i], nTotal), maxShare, o.BarWidth, full)).Append(rule)
              .Append(Bar(Share(a[i], aTotal), maxShare, o.BarWidth, light)).Append(rule)
              .Append(' ').Append(n[i].ToString("N0", Inv).PadLeft(countWidth)).Append(' ').Append(a[i].ToString("N0", Inv).PadLeft(countWidth));
            if (i == thresholdBin) sb.Append("  ").Append(back).Append(" threshold ").Append(threshold.ToString("G4", Inv));
            sb.Append('\n');
        }
        sb.Append("  ").Append(full).Append(" normal  ").Append(light).Append(" anomalous  (bar: share of its group")
          .Append(log ? "; log-spaced bins)" : ")").Append('\n');
        return sb.ToString();
    }

    // The bin holding a value: bins are closed on the left, the last one on both sides.
    private static int BinOf(double[] edges, double value)
    {
        for (int i = 1; i < edges.Length - 1; i++)
            if (value < edges[i]) return i - 1;
        return edges.Length - 2;
    }

    private static string Edge(double v) => v.ToString("G3", Inv);

    private static string Fit(string text, int width) => text.Length > width ? text[..width] : text.PadRight(width);

    // Whole characters, rounded, but never invisible for a non-empty bin.
    private static string Bar(double share, double maxShare, int width, char c)
    {
        int length = maxShare <= 0 ? 0 : (int)Math.Round(share / maxShare * width);
        if (share > 0 && length == 0) length = 1;
        return new string(c, length).PadRight(width);
    }
}
