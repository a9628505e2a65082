// What a report is made from: plain numbers and arrays, so the CLI can fill it from a run directory and the
// metrics engine's output without the report depending on either.
namespace AeMnist.Reporting;

/// <summary>One epoch of training; <see cref="MonitorLoss"/> is the loss early stopping watches (null when none).</summary>
public sealed record HistoryRow(int Epoch, double TrainLoss, double? MonitorLoss, double Seconds);

/// <summary>A test digit with its reconstruction (784 values in [0, 1] each), its error and its digit label.</summary>
public sealed record ImageSample(float[] Original, float[] Reconstruction, float Error, int Label);

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

    /// <summary>F1 with normal digits as the positive class (the tutorial's convention).</summary>
    public required double F1Normal { get; init; }

    public required double Auroc { get; init; }
    public required double AveragePrecision { get; init; }
    public required long TruePositives { get; init; }
    public required long FalsePositives { get; init; }
    public required long TrueNegatives { get; init; }
    public required long FalseNegatives { get; init; }

    /// <summary>Per digit 0-9, the share of its test images flagged as anomalous (NaN where the digit is absent).</summary>
    public required IReadOnlyList<double> ClassFlagRates { get; init; }

    public required IReadOnlyList<double> RocFpr { get; init; }
    public required IReadOnlyList<double> RocTpr { get; init; }
    public required IReadOnlyList<double> PrRecall { get; init; }
    public required IReadOnlyList<double> PrPrecision { get; init; }
}

/// <summary>Example digits for the image grids; any list may be empty.</summary>
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

    /// <summary>True when early stopping watched these test images; null when unknown (a model trained elsewhere).</summary>
    public bool? TestUsedForEarlyStopping { get; init; }

    /// <summary>The model reconstructs every image as the same image (a collapsed model).</summary>
    public bool ConstantOutput { get; init; }

    /// <summary>The model came from a file without a run directory (e.g. trained in PyTorch): no history, no known training data.</summary>
    public bool TrainedElsewhere { get; init; }

    /// <summary>Further warnings to show as they are (from the run or the inputs).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Latent codes of test digits on their first two principal components, when the model has an encoder.</summary>
    public LatentProjection? Latent { get; init; }
}
