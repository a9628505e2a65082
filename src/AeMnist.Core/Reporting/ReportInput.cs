// What a report is made from: plain numbers and arrays, so the CLI can fill it from a run directory and the
// metrics engine's output without the report depending on either. It names its data, classes, image shape and score,
// so the page says "digit" and "MNIST" only where the data is MNIST's digits, and calls each score what it is.
using System.Globalization;
using AeMnist.Data;
using AeMnist.Scoring;
using AeMnist.Tensors;

namespace AeMnist.Reporting;

/// <summary>One epoch of training; <see cref="MonitorLoss"/> is the loss early stopping watches (null when none).</summary>
public sealed record HistoryRow(int Epoch, double TrainLoss, double? MonitorLoss, double Seconds);

/// <summary>
/// A test image with its reconstruction (each <see cref="ReportInput.Shape"/>'s C x H x W values, nominally in [0, 1]),
/// its score and its class (an index into <see cref="ReportInput.ClassNames"/>).
/// </summary>
public sealed record ImageSample(float[] Original, float[] Reconstruction, float Error, int Label);

/// <summary>What the evaluated data is ("MNIST", "MVTec AD", "--input images"), where it lies, and its checksum when known.</summary>
public sealed record ReportData(string Kind, string Path, string? Sha256 = null)
{
    /// <summary>The kind of images given to evaluate --input (their <see cref="Path"/> is the name they were given by).</summary>
    public const string InputKind = "--input";

    /// <summary>Images given to evaluate --input, by the name they were given.</summary>
    public static ReportData Input(string name) => new(InputKind, name);

    /// <summary>"MNIST at /data/mnist" ("--input NAME" for input images), the way the page names the data in a line.</summary>
    public string Describe() => Kind == InputKind ? $"{InputKind} {Path}" : $"{Kind} at {Path}";

    /// <summary>Whether two runs' figures come from the same data: the same checksum when both have one, else the same kind and path.</summary>
    public bool SameAs(ReportData other) => Sha256 is not null && other.Sha256 is not null
        ? Sha256 == other.Sha256
        : Kind == other.Kind && Path == other.Path;
}

/// <summary>
/// The evaluation at the chosen threshold, with anomalies as the positive class. Rates are fractions in [0, 1].
/// Curves are given as parallel arrays: ROC (false positive rate, true positive rate) from (0, 0) to (1, 1),
/// precision-recall (recall, precision).
/// </summary>
public sealed record ReportMetrics
{
    public required double Accuracy { get; init; }
    public required double Precision { get; init; }
    public required double Recall { get; init; }
    public required double F1 { get; init; }

    /// <summary>F1 with normal images as the positive class (the tutorial's convention).</summary>
    public required double F1Normal { get; init; }

    public required double Auroc { get; init; }
    public required double AveragePrecision { get; init; }
    public required long TruePositives { get; init; }
    public required long FalsePositives { get; init; }
    public required long TrueNegatives { get; init; }
    public required long FalseNegatives { get; init; }

    /// <summary>Per class (digits 0-9 for MNIST), the share of its test images flagged as anomalous (NaN where the class is absent).</summary>
    public required IReadOnlyList<double> ClassFlagRates { get; init; }

    public required IReadOnlyList<double> RocFpr { get; init; }
    public required IReadOnlyList<double> RocTpr { get; init; }
    public required IReadOnlyList<double> PrRecall { get; init; }
    public required IReadOnlyList<double> PrPrecision { get; init; }
}

/// <summary>Example images for the image grids; any list may be empty.</summary>
public sealed record ReportSamples(
    IReadOnlyList<ImageSample> BestNormals,
    IReadOnlyList<ImageSample> WorstNormals,
    IReadOnlyList<ImageSample> MostAnomalous,
    IReadOnlyList<ImageSample> LeastAnomalous);

/// <summary>
/// Everything <see cref="HtmlReport"/> shows. <see cref="TestErrors"/>, <see cref="TestLabels"/> and
/// <see cref="TestIsAnomaly"/> are parallel, one entry per test image; an image is flagged when its error
/// is at or above <see cref="Threshold"/>.
/// </summary>
public sealed record ReportInput
{
    public required string Title { get; init; }

    /// <summary>The full path of the model file the report is of ("" when unknown), written into the page's marker.</summary>
    public string ModelFile { get; init; } = "";

    /// <summary>The run's settings in display order (model, protocol, seed, threshold, timings, ...).</summary>
    public IReadOnlyList<(string Key, string Value)> Settings { get; init; } = [];

    public IReadOnlyList<HistoryRow> History { get; init; } = [];

    /// <summary>The epoch whose weights were kept (the early-stopping point), if known.</summary>
    public int? BestEpoch { get; init; }

    /// <summary>What <see cref="HistoryRow.MonitorLoss"/> is, for the legend.</summary>
    public string MonitorName { get; init; } = "validation loss";

    public required float[] TestErrors { get; init; }
    public required byte[] TestLabels { get; init; }
    public required bool[] TestIsAnomaly { get; init; }
    public required double Threshold { get; init; }
    public required ReportMetrics Metrics { get; init; }
    public ReportSamples? Samples { get; init; }

    /// <summary>How the threshold was chosen, in words ("the model's stored threshold, ...").</summary>
    public string ThresholdRule { get; init; } = "";

    /// <summary>What the test images are: "the test split", "mnist_test.csv".</summary>
    public string TestSetName { get; init; } = "the test split";

    /// <summary>
    /// Which images of the evaluated data were tested, as a fingerprint (SHA-256 of the split's test indices; "all" for
    /// --input images); null when unknown. Two runs on the same data are measured on the same images only if it agrees:
    /// the seed protocol tests 2,000 images of MNIST's test part, one-class all 10,000.
    /// </summary>
    public string? TestImages { get; init; }

    /// <summary>True when early stopping watched these test images; null when unknown (a model trained elsewhere).</summary>
    public bool? TestUsedForEarlyStopping { get; init; }

    /// <summary>The model reconstructs every image as the same image (a collapsed model).</summary>
    public bool ConstantOutput { get; init; }

    /// <summary>The model came from a file without a run directory (e.g. trained in PyTorch): no history, no known training data.</summary>
    public bool TrainedElsewhere { get; init; }

    /// <summary>Further warnings to show as they are (from the run or the inputs).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Latent codes of test images on their first two principal components, when the model has an encoder.</summary>
    public LatentProjection? Latent { get; init; }

    /// <summary>The classes <see cref="TestLabels"/> number: MNIST's digits "0"-"9" unless the data has its own.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = MnistFiles.ClassNames;

    /// <summary>The data is MNIST's digits: the page says "digit" and "MNIST"; otherwise "image" and "class".</summary>
    public bool IsMnist { get; init; } = true;

    /// <summary>The shape of one image (the samples are drawn at it; RGB in colour).</summary>
    public ImageShape Shape { get; init; } = ImageShape.Mnist;

    /// <summary>The score the errors, the threshold and the samples' maps are (named by <see cref="Scores.Label"/> on every axis).</summary>
    public ScoreKind Score { get; init; } = ScoreKind.Mse;

    /// <summary>The data the figures are on (null: not known, as for a report made by hand).</summary>
    public ReportData? Data { get; init; }

    /// <summary>The engine that computed the figures ("native (cpu, 2 threads)"), where known.</summary>
    public string? Engine { get; init; }

    /// <summary>What one test item is called: "digit" for MNIST, else "image".</summary>
    public string Item => IsMnist ? "digit" : "image";

    /// <summary>What a class is called: "digit" for MNIST, else "class".</summary>
    public string ClassNoun => IsMnist ? "digit" : "class";

    /// <summary>The name of class <paramref name="label"/> ("7", "scratch"); the number itself where the data names no such class.</summary>
    public string ClassName(int label) => label >= 0 && label < ClassNames.Count ? ClassNames[label] : label.ToString(CultureInfo.InvariantCulture);

    /// <summary>What the score is, for axes and captions: "MSE", "1 − SSIM", "smoothed MSE".</summary>
    public string ScoreLabel => Scores.Label(Score);
}
