// The threshold rule by conformal p-value (--alpha A): flag an image when its p-value against the normal images the
// model may be tuned on (the validation split's, else the train split's) is at most A. On a validation split it keeps
// Conformal's promise: at most a share A of new normal images exchangeable with it are flagged, on average. On the
// train split (a run without a validation split) the model has seen those images, and the rule text says the promise
// does not hold.
using System.Globalization;
using AeMnist.Evaluation;

namespace AeMnist.Detection;

/// <summary>Flags images whose conformal p-value against the tuning normals is at most <paramref name="Alpha"/>.</summary>
public sealed record PValueRule(double Alpha) : ThresholdRule
{
    public override ThresholdChoice Apply(ThresholdReferences references)
    {
        float[] normals = references.TuningNormal();
        string split = references.HasValidation ? "validation" : "train";
        double threshold = Conformal.Threshold(normals, Alpha)
            ?? throw new ArgumentException($"--alpha {Text(Alpha)} is below 1/(n + 1) = {Text(1.0 / (normals.Length + 1))}: against the {normals.Length} normal {references.Noun}s of the {split} split no p-value is that small; give a larger --alpha");
        string promise = references.HasValidation
            ? $"at most {Text(100 * Alpha)}% of new normal {references.Noun}s flagged, on average"
            : "no false-alarm promise: the model was trained on these images, so new normals get smaller p-values";
        return new ThresholdChoice(threshold,
            $"--alpha {Text(Alpha)}: conformal p-value <= {Text(Alpha)} against the {normals.Length} normal {references.Noun}s of the {split} split ({promise})");
    }

    /// <summary>The text of a calibration set: "the 540 normal digits of the validation split".</summary>
    public static string Calibration(int count, string noun, bool validation) =>
        $"the {count} normal {noun}s of the {(validation ? "validation" : "train")} split" + (validation ? "" : " (seen in training, so p-values of new normal images come out too small)");

    private static string Text(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
