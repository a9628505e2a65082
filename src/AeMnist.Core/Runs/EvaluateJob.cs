// `aemnist evaluate` as a library call: a detector, a split of its data (or labelled --input images), a threshold
// rule; the test images are scored once, the threshold is the detector's (learnt only from the split's train or
// validation images, never the evaluated ones), and every metric comes from one sort (Evaluation/Evaluator).
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Evaluation;
using AeMnist.Scoring;

namespace AeMnist.Runs;

/// <summary>Labelled images to evaluate on instead of the split's test images (evaluate --input).</summary>
public sealed record LabelledImages(string Name, float[] Pixels, byte[] Labels)
{
    /// <summary>The classes the labels number: MNIST's digits unless the images came with their own.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = MnistFiles.ClassNames;

    /// <summary>The normal class among them; null: the split's (the images are labelled as the model's data is).</summary>
    public int? Normal { get; init; }

    /// <summary>Each image's name (its file), where it has one.</summary>
    public IReadOnlyList<string>? Names { get; init; }
}

/// <summary>Scores of one split's images, with their classes and truth.</summary>
public sealed record ScoredImages(int[] Indices, float[] Errors, byte[] Labels, bool[] IsAnomaly);

public sealed record EvaluationOutcome(
    DataSplit Split,
    ScoredImages Test,
    double Threshold,
    string ThresholdRuleText,
    EvaluationResult Result,
    bool ConstantOutput,
    ScoreKind Score = ScoreKind.Mse)
{
    /// <summary>The evaluated images themselves (row-major), for reconstructions and latent codes.</summary>
    public float[] TestPixels { get; init; } = [];

    /// <summary>What the evaluated images are: "the test split", or the --input file's name.</summary>
    public string TestName { get; init; } = "the test split";

    /// <summary>The evaluated images came from --input rather than the split.</summary>
    public bool FromInput { get; init; }

    /// <summary>The model file records how it was trained (an aemnist run); false for a model trained elsewhere.</summary>
    public bool TrainedHere { get; init; } = true;

    /// <summary>True when early stopping watched these images; null when unknown (a model from elsewhere, or --input data).</summary>
    public bool? TestUsedForEarlyStopping => FromInput || !TrainedHere ? null : Split.MonitorsTest;

    /// <summary>The best F1 over all thresholds on these labels and its threshold: a reference figure, never the chosen threshold.</summary>
    public (double Threshold, double F1) BestF1 { get; init; } = (double.NaN, double.NaN);

    /// <summary>The classes the evaluated images' labels number (MNIST's digits "0"-"9" for MNIST).</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = MnistFiles.ClassNames;

    /// <summary>The normal class among <see cref="ClassNames"/>.</summary>
    public int Normal { get; init; }

    /// <summary>The evaluated images are MNIST's (its classes are digits).</summary>
    public bool IsMnist { get; init; } = true;

    /// <summary>What the evaluated data is, where it lies and its checksum (null for --input images).</summary>
    public DataSource? Data { get; init; }

    public string? DataSha256 { get; init; }

    /// <summary>The combined score's calibration the scores were computed with (null for the other scores).</summary>
    public ScoreCalibration? Calibration { get; init; }

    /// <summary>The normal class's name in messages: "digit 5", "class 'good'".</summary>
    public string NormalName => IsMnist ? $"digit {Normal}" : $"class '{ClassNames[Normal]}'";
}

public static class EvaluateJob
{
    /// <summary>
    /// Evaluates the detector on the split's test images, or on <paramref name="input"/> when given (its labels against
    /// the split's normal class), with the score <paramref name="score"/> (default: the score the stored threshold is for).
    /// The rule's threshold is <see cref="Detector.Threshold"/>'s, with the split's train (or validation) images as its references.
    /// </summary>
    public static EvaluationOutcome Execute(Detector detector, SplitOptions splitOptions, Dataset data, ThresholdRule rule,
        LabelledImages? input = null, ScoreKind? score = null)
    {
        ScoreKind kind = score ?? detector.Score;
        DataSplit split = Splitter.Split(data, splitOptions);
        if (input is null && split.Test.Length == 0)
            throw new ArgumentException($"there is no test split to evaluate on: the model was trained on normal images without a test part ({data.Directory}); evaluate it on labelled images with --input (a folder of class folders such as good/ and scratch/, or MVTec AD's)");
        float[] pixels = input?.Pixels ?? data.Gather(split.Test);
        byte[] labels = input?.Labels ?? data.GatherLabels(split.Test);
        int[] indices = input is null ? split.Test : [.. Enumerable.Range(0, labels.Length)];
        int normal = input?.Normal ?? splitOptions.Normal;
        IReadOnlyList<string> classes = input is { Normal: not null } ? input.ClassNames : data.ClassNames;
        Func<int, string> describe = input is not null
            ? i => input.Names is { } names ? names[i] : $"{input.Name} image {i}"
            : i => data.Describe(indices[i]);
        if (Scores.NeedsCalibration(kind) && detector.Calibration is null)
        {
            // A model trained with another score: the combined score's scale is learnt now, as train would have, from the
            // split's normal validation (else train) images, never from the images being evaluated.
            (int[] normals, string source) = CalibrationImages(data, split);
            detector.Calibrate(data.Gather(normals), normals.Length, source, i => data.Describe(normals[i]));
        }
        (float[] errors, bool constant) = ScoreAndProbe(detector, pixels, labels.Length, kind, describe);
        var test = new ScoredImages(indices, errors, labels, Evaluator.IsAnomaly(labels, normal));
        ThresholdChoice threshold = detector.Threshold(rule, kind, score is not null, () => References(detector, data, split, kind));
        EvaluationResult result = Evaluator.Evaluate(test.Errors, test.IsAnomaly, threshold.Value, test.Labels, classes.Count);
        return new EvaluationOutcome(split, test, threshold.Value, threshold.Rule, result, detector.Metadata.Collapsed || constant, kind)
        {
            Calibration = Scores.NeedsCalibration(kind) ? detector.Calibration : null,
            TestPixels = pixels,
            TestName = input?.Name ?? "the test split",
            FromInput = input is not null,
            TrainedHere = detector.Metadata.Split is not null,
            BestF1 = BestF1(result.F1ByThreshold),
            ClassNames = classes,
            Normal = normal,
            IsMnist = input is { Normal: not null } ? false : data.Source.IsMnist,
            Data = input is null ? data.Source : null,
            DataSha256 = input is null ? data.Sha256 : null,
        };
    }

    /// <summary>
    /// The normal data a threshold rule may learn from, for the <paramref name="kind"/> score: the split's train images (all,
    /// and its normal ones) and the normal images to tune on (validation, else train), each scored only when a rule asks.
    /// </summary>
    public static ThresholdReferences References(Detector detector, Dataset data, DataSplit split, ScoreKind kind)
    {
        int normal = split.Options.Normal;
        bool validation = split.Validation.Length > 0;
        return new ThresholdReferences
        {
            Score = kind,
            Noun = data.ItemNoun,
            Train = () => Score(detector, data, split.Train, normal, kind).Errors,
            TrainNormal = () => Score(detector, data, [.. split.Train.Where(i => data.Labels[i] == normal)], normal, kind).Errors,
            HasValidation = validation,
            TuningNormal = () =>
            {
                int[] normals = [.. (validation ? split.Validation : split.Train).Where(i => data.Labels[i] == normal)];
                if (normals.Length == 0)
                    throw new ArgumentException($"--fpr needs normal {data.ItemNoun}s ({data.ClassNoun} {data.ClassNames[normal]}) in the {(validation ? "validation" : "train")} split, and it has none");
                return Score(detector, data, normals, normal, kind).Errors;
            },
        };
    }

    /// <summary>
    /// The normal images the combined score learns its scale from, and their name: the split's validation images of the
    /// normal class when it has a validation split, else its train images of the normal class. Never a test image.
    /// </summary>
    public static (int[] Indices, string Source) CalibrationImages(Dataset data, DataSplit split)
    {
        int normal = split.Options.Normal;
        bool validation = split.Validation.Length > 0;
        int[] normals = [.. (validation ? split.Validation : split.Train).Where(i => data.Labels[i] == normal)];
        string source = validation ? "validation split" : "train split";
        if (normals.Length < 2)
            throw new ArgumentException($"the combined score learns its scale from the normal {data.ItemNoun}s of the {source}, and it has {normals.Length}; give a larger --validation");
        return (normals, source);
    }

    /// <summary>The scores of the images at <paramref name="indices"/> of <paramref name="data"/>.</summary>
    public static ScoredImages Score(Detector detector, Dataset data, int[] indices, int normal, ScoreKind kind) =>
        Score(detector, data.Gather(indices), data, indices, normal, kind);

    // images: the data's images at indices, already gathered.
    private static ScoredImages Score(Detector detector, float[] images, Dataset data, int[] indices, int normal, ScoreKind kind)
    {
        float[] errors = detector.Scores(images, indices.Length, kind, i => data.Describe(indices[i]));
        byte[] labels = data.GatherLabels(indices);
        return new ScoredImages(indices, errors, labels, Evaluator.IsAnomaly(labels, normal));
    }

    /// <summary>
    /// The scores of <paramref name="n"/> images and whether the model's output is constant over them: the first images
    /// through <see cref="Detector.Probe"/>, the rest through <see cref="Detector.Scores(ReadOnlySpan{float}, int, ScoreKind, Func{int, string})"/>,
    /// so that each image is inferred once.
    /// </summary>
    public static (float[] Scores, bool Constant) ScoreAndProbe(Detector detector, ReadOnlySpan<float> images, int n, ScoreKind kind, Func<int, string> describe)
    {
        (float[] head, bool constant) = detector.Probe(images, n, kind, describe);
        if (head.Length == n) return (head, constant);
        int length = detector.Model.Spec.Input.Length;
        float[] rest = detector.Scores(images[(head.Length * length)..(n * length)], n - head.Length, kind, i => describe(head.Length + i));
        return ([.. head, .. rest], constant);
    }

    /// <summary>The threshold with the highest F1 on a curve, and that F1 (NaN for an empty curve).</summary>
    public static (double Threshold, double F1) BestF1(ThresholdCurve curve)
    {
        int best = -1;
        for (int i = 0; i < curve.F1.Count; i++)
            if (double.IsFinite(curve.F1[i]) && (best < 0 || curve.F1[i] > curve.F1[best])) best = i;
        return best < 0 ? (double.NaN, double.NaN) : (curve.Thresholds[best], curve.F1[best]);
    }
}
