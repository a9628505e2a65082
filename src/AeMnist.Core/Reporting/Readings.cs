// What a reader of the report needs to be told in words: a one-line reading of the result ("AUROC 0.59: close to
// chance"), the warnings that change what the figures mean, and notes on where the model came from.
using System.Globalization;

namespace AeMnist.Reporting;

/// <summary>The report's reading: one headline sentence, warnings (shown prominently) and notes.</summary>
public sealed record Reading(string Headline, IReadOnlyList<string> Warnings, IReadOnlyList<string> Notes);

public static class Readings
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>How well an AUROC separates the classes, in a few words; <paramref name="items"/> names what was tested ("digits", "images").</summary>
    public static string Describe(double auroc, string items = "digits") => auroc switch
    {
        double.NaN => $"not measurable (the test set lacks normal or anomalous {items})",
        < 0.5 => $"worse than chance: anomalies reconstruct better than normal {items}",
        < 0.6 => "close to chance",
        < 0.7 => $"poor separation of anomalies from normal {items}",
        < 0.8 => $"fair separation of anomalies from normal {items}",
        < 0.9 => $"good separation of anomalies from normal {items}",
        _ => $"strong separation of anomalies from normal {items}",
    };

    private static string Pct(double share) => (100 * share).ToString(share is > 0 and < 0.1 ? "0.#" : "0", Inv) + "%";

    public static Reading Read(ReportInput input)
    {
        ReportMetrics m = input.Metrics;
        string threshold = input.Threshold.ToString("G4", Inv);
        long anomalies = m.TruePositives + m.FalseNegatives, normals = m.TrueNegatives + m.FalsePositives;
        string auroc = double.IsFinite(m.Auroc) ? m.Auroc.ToString("0.00", Inv) : "n/a";
        string items = input.Item + "s", score = input.Score == Scoring.ScoreKind.Mse ? "error" : "score";
        string headline = $"AUROC {auroc}: {Describe(m.Auroc, items)}.";
        if (anomalies > 0 && normals > 0)
            headline += $" At threshold {threshold} it flags {Pct((double)m.TruePositives / anomalies)} of the anomalies and {Pct((double)m.FalsePositives / normals)} of the normal {items}"
                        + (double.IsFinite(m.F1) ? $" (F1 {m.F1.ToString("0.00", Inv)})." : ".");

        var warnings = new List<string>();
        if (input.ConstantOutput)
            warnings.Add(input.IsMnist
                ? "Collapsed model: it reconstructs every image as the same image, so its errors only measure how much ink a digit has. Retrain with another --seed."
                : $"Collapsed model: it reconstructs every image as the same image, so its {score}s only measure how far each image is from that one. Retrain with another --seed.");
        if ((anomalies == 0) != (normals == 0))
            warnings.Add($"The test {items} are all {(normals == 0 ? "anomalies" : "normal")}: AUROC cannot be measured and average precision says nothing. Evaluate on {items} of both kinds.");
        if (input.TestUsedForEarlyStopping == true)
            warnings.Add($"Early stopping watched {input.TestSetName} (the run had no --validation split): the kept weights were chosen on these very {items}, so the figures are optimistic. Train with --validation 0.1 for honest ones.");
        long total = m.TruePositives + m.FalsePositives + m.TrueNegatives + m.FalseNegatives;
        long flagged = m.TruePositives + m.FalsePositives;
        if (total > 0 && flagged == 0)
            warnings.Add($"The threshold {threshold} flags none of the {total.ToString("N0", Inv)} test {items} (every {score} is below it): precision, recall and F1 say nothing. Choose a threshold from the data: --contamination, --percentile or --fpr.");
        else if (total > 0 && flagged == total)
            warnings.Add($"The threshold {threshold} flags every one of the {total.ToString("N0", Inv)} test {items}: precision, recall and F1 say nothing. Choose a threshold from the data: --contamination, --percentile or --fpr.");
        if (double.IsFinite(m.Auroc) && m.Auroc < 0.5)
            warnings.Add($"AUROC below 0.5: the model reconstructs anomalies better than normal {items}; check that --normal names the {input.ClassNoun} it was trained on.");
        warnings.AddRange(input.Warnings);

        var notes = new List<string>();
        if (input.TrainedElsewhere)
            notes.Add($"This model was loaded from a file without a run directory (for example trained in PyTorch): its training history, early stopping and training data are unknown here. If it saw these test {items} in training, the figures are optimistic.");
        if (input.ThresholdRule.Length > 0)
            notes.Add($"Threshold {threshold}: {input.ThresholdRule}.");
        return new Reading(headline, warnings, notes);
    }
}
