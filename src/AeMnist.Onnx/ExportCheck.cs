// Checking an export against the native engine: the outputs an ONNX runtime gives (through IOnnxRunner, implemented by
// AeMnist.Onnx.Runtime with ONNX Runtime, so that this project needs none), and their comparison with aemnist's own
// scores, flags and p-values on the same images.
using AeMnist.Tensors;

namespace AeMnist.Onnx;

/// <summary>What an exported detector gave for n images (p-values null when it has no p_value output).</summary>
public sealed record OnnxOutputs(float[] Scores, bool[] Flags, double[]? PValues, float[] Reconstructions, float[] Maps)
{
    /// <summary>The model's metadata properties, as the runtime read them.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

/// <summary>Runs an ONNX model on image bytes (N, C, H, W).</summary>
public interface IOnnxRunner
{
    /// <summary>What the runtime is, for messages: "ONNX Runtime 1.32.0 (CPU)".</summary>
    string Name { get; }

    OnnxOutputs Run(byte[] model, byte[] pixels, int n, ImageShape shape);
}

/// <summary>How an export's outputs compare with the native engine's: the worst relative score difference and any flag that differs.</summary>
public sealed record ExportComparison(int Images, double WorstRelative, int WorstIndex, int FlagsDiffering, int FirstFlagDiffering, double WorstPValue)
{
    /// <summary>Flags that differ for scores within <see cref="Tolerance"/> of the threshold (allowed).</summary>
    public int FlagsNearThreshold { get; init; }

    /// <summary>The largest relative difference a check accepts between a score and aemnist's.</summary>
    public const double Tolerance = 1e-5;

    public bool Passed => WorstRelative <= Tolerance && FlagsDiffering == 0 && WorstPValue == 0;

    /// <summary>
    /// The outputs of an export against aemnist's <paramref name="scores"/> and flags (score &gt;= threshold); a flag may differ
    /// only for a score within <see cref="Tolerance"/> of the threshold. Its p-values must be exactly the conformal
    /// p-values of its own scores against <paramref name="calibration"/> (a score a hair from a calibration score may
    /// count it on one side and not the other, so they are not compared with aemnist's).
    /// </summary>
    public static ExportComparison Of(OnnxOutputs onnx, ReadOnlySpan<float> scores, double threshold, float[]? calibration)
    {
        int n = scores.Length;
        if (onnx.Scores.Length != n || onnx.Flags.Length != n)
            throw new ArgumentException($"the export gave {onnx.Scores.Length} scores and {onnx.Flags.Length} flags for {n} images");
        double worst = 0;
        int worstIndex = -1, differing = 0, first = -1, near = 0;
        for (int i = 0; i < n; i++)
        {
            double relative = Relative(onnx.Scores[i], scores[i]);
            if (!double.IsNaN(worst) && (double.IsNaN(relative) || relative > worst)) (worst, worstIndex) = (relative, i);  // a NaN is the worst of all
            if (onnx.Flags[i] != scores[i] >= threshold && Relative(scores[i], threshold) <= Tolerance) near++;
            else if (onnx.Flags[i] != scores[i] >= threshold)
            {
                differing++;
                if (first < 0) first = i;
            }
        }
        double worstP = 0;
        if (calibration is not null)
        {
            double[] expected = Evaluation.Conformal.PValues(calibration, onnx.Scores);
            if (onnx.PValues is null || onnx.PValues.Length != n) worstP = double.PositiveInfinity;
            else
                for (int i = 0; i < n; i++) worstP = Math.Max(worstP, Math.Abs(onnx.PValues[i] - expected[i]));
        }
        return new ExportComparison(n, worst, worstIndex, differing, first, worstP) { FlagsNearThreshold = near };
    }

    /// <summary>|a - b| / max(|a|, |b|); 0 when both are 0; NaN when either is.</summary>
    public static double Relative(double a, double b)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return double.NaN;
        double scale = Math.Max(Math.Abs(a), Math.Abs(b));
        return scale == 0 ? 0 : Math.Abs(a - b) / scale;
    }
}
