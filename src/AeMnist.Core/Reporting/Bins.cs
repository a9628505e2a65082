// Shared bins for histograms of several distributions (the SVG chart and the terminal histogram use the same).
namespace AeMnist.Reporting;

/// <summary>Bin edges over a domain, equal in x or in log10(x), and the counts of values per bin.</summary>
public sealed record Bins(IReadOnlyList<double> Edges, bool Log)
{
    public int Count => Edges.Count - 1;

    /// <summary><paramref name="count"/> bins over [min, max], equal in log10(x) when <paramref name="log"/> (then min must be positive).</summary>
    public static Bins Create(double min, double max, int count, bool log)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "Need at least one bin.");
        if (!(max > min)) throw new ArgumentException($"Bin range [{min}, {max}] is empty.");
        if (log && !(min > 0)) throw new ArgumentException($"Log bins need a positive minimum, got {min}.");
        var edges = new double[count + 1];
        for (int i = 0; i <= count; i++)
        {
            double t = (double)i / count;
            edges[i] = log ? Math.Pow(10, Math.Log10(min) + t * (Math.Log10(max) - Math.Log10(min))) : min + t * (max - min);
        }
        edges[0] = min;
        edges[count] = max;
        return new Bins(edges, log);
    }

    /// <summary>
    /// The bin of a value: bins are closed on the left, the last one on both sides; values outside the
    /// domain (and, on a log scale, values at or below zero) go to the nearest end bin. NaN gives -1.
    /// </summary>
    public int IndexOf(double value)
    {
        if (double.IsNaN(value)) return -1;
        double lo = Edges[0], hi = Edges[^1];
        double t = Log
            ? (value <= 0 ? double.NegativeInfinity : (Math.Log10(value) - Math.Log10(lo)) / (Math.Log10(hi) - Math.Log10(lo)))
            : (value - lo) / (hi - lo);
        if (!(t > 0)) return 0;
        int i = (int)Math.Min(Math.Floor(t * Count), Count - 1);
        // Floating-point can put a value that equals an edge one bin off; the edges decide.
        if (i > 0 && value < Edges[i]) i--;
        else if (i < Count - 1 && value >= Edges[i + 1]) i++;
        return i;
    }

    /// <summary>How many of <paramref name="values"/> fall into each bin (NaN values are not counted).</summary>
    public long[] CountValues(IEnumerable<double> values)
    {
        var counts = new long[Count];
        foreach (double v in values)
        {
            int i = IndexOf(v);
            if (i >= 0) counts[i]++;
        }
        return counts;
    }

    /// <summary>
    /// Bins covering every finite value of all <paramref name="samples"/> (and <paramref name="include"/>,
    /// such as a threshold), with ends on nice tick values; log bins start at the smallest positive value.
    /// </summary>
    public static (Bins Bins, AxisTicks Axis) Shared(IEnumerable<IEnumerable<double>> samples, int count, bool log, double? include = null)
    {
        var all = samples.SelectMany(s => s).Where(double.IsFinite).ToList();
        if (include is double extra && double.IsFinite(extra)) all.Add(extra);
        if (log)
        {
            var positive = all.Where(v => v > 0).ToList();
            AxisTicks axis = positive.Count == 0 ? Ticks.Log(0.1, 1) : Ticks.Log(positive.Min(), positive.Max());
            return (Create(axis.Min, axis.Max, count, log: true), axis);
        }
        AxisTicks linear = all.Count == 0 ? Ticks.Linear(0, 1) : Ticks.Linear(all.Min(), all.Max(), 8);
        return (Create(linear.Min, linear.Max, count, log: false), linear);
    }

    /// <summary>
    /// Whether values are better shown on a log axis: all positive and the middle 98% spans more than a factor of 10.
    /// </summary>
    public static bool PrefersLog(IEnumerable<double> values)
    {
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length < 2 || sorted[0] <= 0) return false;
        double lo = sorted[(int)(0.01 * (sorted.Length - 1))], hi = sorted[(int)Math.Ceiling(0.99 * (sorted.Length - 1))];
        return hi / lo > 10;
    }
}
