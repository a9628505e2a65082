// How a detector's threshold is chosen: each rule is a value with one Apply, which learns only from the normal data it
// is given (the train or validation split, scored on demand) and never from the images being evaluated. The rule text
// says in words which rule applied, for metrics.json, the report and stderr.
using System.Globalization;
using AeMnist.Evaluation;
using AeMnist.Scoring;

namespace AeMnist.Detection;

/// <summary>A threshold and how it was chosen, in words.</summary>
public sealed record ThresholdChoice(double Value, string Rule);

/// <summary>
/// The reference scores a rule may learn from, computed only when a rule asks for them: all train-split scores, those of
/// the train split's normal images, and those of the normal images the model may be tuned on (the validation split when
/// there is one, else the train split's).
/// </summary>
public sealed class ThresholdReferences
{
    /// <summary>The score the references are computed with.</summary>
    public required ScoreKind Score { get; init; }

    /// <summary>What a normal image is called in rule texts: "digit" for MNIST, else "image".</summary>
    public string Noun { get; init; } = "digit";

    /// <summary>Every train-split image's score (contamination).</summary>
    public Func<float[]> Train { get; init; } = () => throw new ArgumentException("this threshold rule needs the train split, and there is none");

    /// <summary>The train split's normal images' scores (percentile).</summary>
    public Func<float[]> TrainNormal { get; init; } = () => throw new ArgumentException("this threshold rule needs the train split, and there is none");

    /// <summary>Whether the normal images to tune on are a validation split (else the train split's normals).</summary>
    public bool HasValidation { get; init; }

    /// <summary>The scores of the normal images to tune on (--fpr).</summary>
    public Func<float[]> TuningNormal { get; init; } = () => throw new ArgumentException("--fpr needs normal images to tune on, and there are none");

    /// <summary>"errors" for mse, "ssim scores" otherwise.</summary>
    internal string ScoresNoun => Scores.ScoresNoun(Score);
}

/// <summary>How the threshold is chosen; exactly one rule applies.</summary>
public abstract record ThresholdRule
{
    /// <summary>The threshold the rule gives on <paramref name="references"/>, with its text.</summary>
    public abstract ThresholdChoice Apply(ThresholdReferences references);

    /// <summary>The threshold stored in the model file (train's default: contamination 0.1); resolved by <see cref="Detector.ResolveRule"/>.</summary>
    public sealed record Stored : ThresholdRule
    {
        public override ThresholdChoice Apply(ThresholdReferences references) =>
            throw new InvalidOperationException("the stored threshold is the detector's; resolve the rule first");
    }

    public sealed record Fixed(double Value) : ThresholdRule
    {
        public override ThresholdChoice Apply(ThresholdReferences references) => new(Value, "given with --threshold");
    }

    /// <summary>The (1 - F) quantile of all train-split scores (PyOD's contamination rule).</summary>
    public sealed record Contamination(double Fraction) : ThresholdRule
    {
        public override ThresholdChoice Apply(ThresholdReferences references) => new(Thresholds.FromContamination(references.Train(), Fraction),
            $"contamination {Text(Fraction)}: percentile {Text(100 * (1 - Fraction))} of the train split's {references.ScoresNoun}");
    }

    /// <summary>The P-th percentile of the train split's normal images' scores.</summary>
    public sealed record Percentile(double P) : ThresholdRule
    {
        public override ThresholdChoice Apply(ThresholdReferences references) => new(Thresholds.FromPercentile(references.TrainNormal(), P),
            $"percentile {Text(P)} of the train split's normal-{references.Noun} {references.ScoresNoun}");
    }

    /// <summary>
    /// The threshold that flags a share F of the normal images the model may be tuned on: those of the validation split
    /// when there is one, else of the train split (percentile 100·(1 − F) of their scores). Needs no anomalies.
    /// </summary>
    public sealed record FalsePositiveRate(double Fraction) : ThresholdRule
    {
        public override ThresholdChoice Apply(ThresholdReferences references) => new(
            Thresholds.FromPercentile(references.TuningNormal(), 100 * (1 - Fraction)),
            $"--fpr {Text(Fraction)}: flags {Text(100 * Fraction)}% of the normal {references.Noun}s of the {(references.HasValidation ? "validation" : "train")} split (percentile {Text(100 * (1 - Fraction))} of their {references.ScoresNoun})");
    }

    /// <summary>The rule for a model that stores no threshold (e.g. trained elsewhere): flag 5% of the normal train images.</summary>
    public static ThresholdRule DefaultForForeignModel { get; } = new FalsePositiveRate(0.05);

    private static string Text(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
