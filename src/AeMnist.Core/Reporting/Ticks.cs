// Axis ticks people can read: 1-2-5 steps on linear axes, decades (or 1-2-5 within a few decades) on log axes.
using System.Globalization;

namespace AeMnist.Reporting;

/// <summary>An axis domain and the tick values inside it.</summary>
public sealed record AxisTicks(double Min, double Max, IReadOnlyList<double> Values, bool Log)
{
    /// <summary>The label of one tick of this axis.</summary>
    public string Label(double value) => Log ? Ticks.FormatLog(value) : Ticks.Format(value, Step);

    /// <summary>The distance between linear ticks (NaN for log axes).</summary>
    public double Step { get; init; } = double.NaN;
}

/// <summary>Nice tick values and their labels.</summary>
public static class Ticks
{
    /// <summary>The smallest step of the form {1, 2, 5} × 10^k that divides <paramref name="range"/> into at most <paramref name="maxIntervals"/> parts.</summary>
    public static double NiceStep(double range, int maxIntervals)
    {
        if (!(range > 0) || double.IsInfinity(range)) throw new ArgumentOutOfRangeException(nameof(range), range, "Range must be positive and finite.");
        if (maxIntervals < 1) throw new ArgumentOutOfRangeException(nameof(maxIntervals), maxIntervals, "Need at least one interval.");
        double rough = range / maxIntervals;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        foreach (double m in (ReadOnlySpan<double>)[1, 2, 5, 10])
            if (m * magnitude >= rough * (1 - 1e-9)) return m * magnitude;
        return 10 * magnitude;
    }

    /// <summary>
    /// Linear ticks covering [<paramref name="min"/>, <paramref name="max"/>] with at most
    /// <paramref name="maxTicks"/> ticks; with <paramref name="expand"/> the domain grows to whole steps.
    /// </summary>
    public static AxisTicks Linear(double min, double max, int maxTicks = 7, bool expand = true)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max)) throw new ArgumentException($"Axis range [{min}, {max}] is not finite.");
        if (min > max) (min, max) = (max, min);
        if (max - min < 1e-12 * Math.Max(1, Math.Abs(max)))
        {
            // A flat series still gets an axis around its value.
            double pad = min == 0 ? 1 : Math.Abs(min) * 0.1;
            (min, max) = (min - pad, max + pad);
        }
        double step = NiceStep(max - min, Math.Max(1, maxTicks - 1));
        if (expand)
        {
            min = Math.Floor(min / step + 1e-9) * step;
            max = Math.Ceiling(max / step - 1e-9) * step;
        }
        var values = new List<double>();
        for (long k = (long)Math.Ceiling(min / step - 1e-9); k * step <= max + step * 1e-9; k++)
            values.Add(Clean(k * step, step));
        return new AxisTicks(min, max, values, Log: false) { Step = step };
    }

    /// <summary>
    /// Log ticks for positive [<paramref name="min"/>, <paramref name="max"/>]: the domain grows to the
    /// nearest 1, 2 or 5 × 10^k; ticks at 1-2-5 values when it spans up to about 2.5 decades, else at decades.
    /// </summary>
    public static AxisTicks Log(double min, double max)
    {
        if (!(min > 0) || !double.IsFinite(max)) throw new ArgumentException($"Log axis range [{min}, {max}] must be positive and finite.");
        if (min > max) (min, max) = (max, min);
        double lo = NiceBelow(min), hi = NiceAbove(max);
        if (hi <= lo) hi = NiceAbove(lo * 1.01);
        double decades = Math.Log10(hi / lo);
        var values = new List<double>();
        int kLo = (int)Math.Floor(Math.Log10(lo) + 1e-9), kHi = (int)Math.Ceiling(Math.Log10(hi) - 1e-9);
        int every = Math.Max(1, (int)Math.Ceiling(decades / 8));
        for (int k = kLo; k <= kHi; k++)
        {
            ReadOnlySpan<double> mantissas = decades <= 2.5 ? [1, 2, 5] : [1];
            foreach (double m in mantissas)
            {
                double v = m * Math.Pow(10, k);
                if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) continue;
                if (m == 1 && k % every != 0) continue;
                values.Add(v);
            }
        }
        return new AxisTicks(lo, hi, values, Log: true);
    }

    private static double NiceBelow(double v)
    {
        double p = Math.Pow(10, Math.Floor(Math.Log10(v) + 1e-12));
        foreach (double m in (ReadOnlySpan<double>)[5, 2, 1])
            if (m * p <= v * (1 + 1e-9)) return m * p;
        return p;
    }

    private static double NiceAbove(double v)
    {
        double p = Math.Pow(10, Math.Floor(Math.Log10(v) - 1e-12));
        foreach (double m in (ReadOnlySpan<double>)[1, 2, 5, 10])
            if (m * p >= v * (1 - 1e-9)) return m * p;
        return 10 * p;
    }

    // k * step carries floating-point noise (0.30000000000000004); round it to the step's precision.
    private static double Clean(double value, double step)
    {
        int decimals = Math.Clamp(-(int)Math.Floor(Math.Log10(step)) + 1, 0, 15);
        double v = Math.Round(value, decimals);
        return Math.Abs(v) < step * 1e-9 ? 0 : v;
    }

    /// <summary>A linear tick label with as many decimals as the step needs ("0.25" is never a tick of step 0.2).</summary>
    public static string Format(double value, double step)
    {
        if (Math.Abs(value) < step * 1e-9) value = 0;
        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));
        if (decimals > 5 || Math.Abs(value) >= 1e7) return Scientific(value);
        return value.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }

    /// <summary>A log tick label: "0.001", "20", or "1e-6" outside 1e-4 .. 1e6.</summary>
    public static string FormatLog(double value)
    {
        int k = (int)Math.Floor(Math.Log10(value) + 1e-9);
        if (k < -4 || k > 6) return Scientific(value);
        return value.ToString("0.####", CultureInfo.InvariantCulture);
    }

    private static string Scientific(double value) => value.ToString("0.##e+0", CultureInfo.InvariantCulture).Replace("e+", "e");
}
