// One self-contained report.html per run (inline SVG charts drawn by ScottPlot, inline CSS, no scripts, nothing
// fetched from anywhere), with each chart also written as .svg and .png beside it. The markup is well-formed XML
// (void elements self-closed), so tests can parse the whole page.
using System.Globalization;
using System.Net;
using System.Text;
using AeMnist.IO;

namespace AeMnist.Reporting;

public static class HtmlReport
{
    public const string FileName = "report.html";

    /// <summary>The file name <c>report --compare</c> writes by default; never read as a run.</summary>
    public const string ComparisonFileName = "comparison.html";

    /// <summary>
    /// The meta element that says what a page is (a report of the model file named in it, or a comparison), so a later
    /// report replaces only a page aemnist wrote for the same model, never another model's report or a user's file.
    /// </summary>
    public const string MarkerName = "aemnist-report";

    /// <summary>The marker's content on a comparison page.</summary>
    public const string ComparisonMarker = "comparison";

    /// <summary>The marker element of a page for <paramref name="subject"/> (a model file's full path, or <see cref="ComparisonMarker"/>).</summary>
    public static string Marker(string subject) => $"<meta name=\"{MarkerName}\" content=\"{E(subject)}\" />";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private sealed record SampleChart(Chart Chart, string Note);

    private sealed record Built(Dictionary<string, Chart> Charts, List<SampleChart> Samples, double BestF1, double BestF1Threshold);

    /// <summary>
    /// Writes report.html and beside it each chart as NAME.svg and NAME.png (loss when there is a history,
    /// histogram, roc, pr, f1, confusion, digits (MNIST) or classes (other data), latent when there are latent codes,
    /// samples-*), each atomically; returns the paths written.
    /// </summary>
    public static IReadOnlyList<string> Write(string directory, ReportInput input)
    {
        // The directory must exist: a run directory removed meanwhile is never re-created holding only a report.
        if (!Directory.Exists(directory)) throw new IOException($"{directory}: directory does not exist (removed meanwhile?); nothing was written");
        Built built = Build(input);
        var written = new List<string>();
        void Put(string name, byte[] bytes)
        {
            string path = Path.Combine(directory, name);
            AtomicFile.WriteAllBytes(path, bytes);
            written.Add(path);
        }
        foreach (Chart chart in built.Charts.Values.Concat(built.Samples.Select(s => s.Chart)))
        {
            Put(chart.Name + ".svg", Encoding.UTF8.GetBytes(chart.Svg()));
            Put(chart.Name + ".png", chart.Png());
        }
        Put(FileName, Encoding.UTF8.GetBytes(Html(input, built)));
        return written;
    }

    /// <summary>The report's HTML, as <see cref="Write"/> writes it.</summary>
    public static string Render(ReportInput input) => Html(input, Build(input));

    /// <summary>The report's charts by file stem, as <see cref="Write"/> writes them.</summary>
    public static IReadOnlyList<Chart> Charts(ReportInput input)
    {
        Built built = Build(input);
        return [.. built.Charts.Values, .. built.Samples.Select(s => s.Chart)];
    }

    private static void Validate(ReportInput input)
    {
        if (input.TestErrors.Length != input.TestIsAnomaly.Length || input.TestErrors.Length != input.TestLabels.Length)
            throw new ArgumentException(
                $"TestErrors ({input.TestErrors.Length}), TestLabels ({input.TestLabels.Length}) and TestIsAnomaly ({input.TestIsAnomaly.Length}) must have one entry per test image.",
                nameof(input));
    }

    /// <summary>The classes drawn as normal: those with a normal test image (the protocols split by class).</summary>
    private static HashSet<int> NormalClasses(ReportInput input) =>
        [.. input.TestLabels.Where((_, i) => !input.TestIsAnomaly[i]).Select(l => (int)l)];

    private static Built Build(ReportInput input)
    {
        Validate(input);
        var m = input.Metrics;
        var charts = new Dictionary<string, Chart>();
        void Add(Chart chart) => charts[chart.Name] = chart;

        if (input.History.Count > 0)
            Add(Reporting.Charts.Loss([new LossCurves("", input.History, input.MonitorName, input.BestEpoch)], "Training and " + input.MonitorName + " per epoch"));

        var normal = input.TestErrors.Where((_, i) => !input.TestIsAnomaly[i]).Select(e => (double)e).ToList();
        var anomalous = input.TestErrors.Where((_, i) => input.TestIsAnomaly[i]).Select(e => (double)e).ToList();
        Add(Reporting.Charts.ErrorHistogram([new("normal", normal), new("anomalous", anomalous)], input.Threshold, input.ScoreLabel,
            $"{input.ScoreLabel} of test {input.Item}s"));

        long negatives = m.FalsePositives + m.TrueNegatives, positives = m.TruePositives + m.FalseNegatives;
        double fpr = negatives > 0 ? (double)m.FalsePositives / negatives : double.NaN;
        Add(Reporting.Charts.Roc([new AreaCurve(input.TestSetName, m.RocFpr, m.RocTpr, m.Auroc)],
            positives > 0 ? new OperatingPoint(fpr, m.Recall, input.Threshold) : null));
        double? prevalence = input.TestIsAnomaly.Length > 0 ? (double)anomalous.Count / input.TestIsAnomaly.Length : null;
        Add(Reporting.Charts.PrecisionRecall([new AreaCurve(input.TestSetName, m.PrRecall, m.PrPrecision, m.AveragePrecision)], prevalence,
            double.IsFinite(m.Precision) ? new OperatingPoint(m.Recall, m.Precision, input.Threshold) : null));

        var (thresholds, f1) = F1Curve.Compute(input.TestErrors, input.TestIsAnomaly);
        bool logErrors = Reporting.Charts.PrefersLog(input.TestErrors.Select(e => (double)e));
        Add(Reporting.Charts.F1VsThreshold(thresholds, f1, input.Threshold, m.F1, logErrors, input.ScoreLabel));
        int best = f1.Length == 0 ? -1 : Array.IndexOf(f1, f1.Max());

        Add(Reporting.Charts.ConfusionMatrix(m.TruePositives, m.FalsePositives, m.TrueNegatives, m.FalseNegatives,
            $"Confusion matrix at threshold {input.Threshold.ToString("G4", Inv)}"));
        Add(Reporting.Charts.ClassFlagRates(m.ClassFlagRates, NormalClasses(input), input.IsMnist ? null : input.ClassNames));
        if (input.Latent is { } latent) Add(Reporting.Charts.Latent(latent));

        var samples = new List<SampleChart>();
        if (input.Samples is { } s)
        {
            IReadOnlyList<string>? names = input.IsMnist ? null : input.ClassNames;
            void Sample(string name, string title, string note, IReadOnlyList<ImageSample> images)
            {
                if (images.Count > 0) samples.Add(new SampleChart(Reporting.Charts.Samples(images, input.Shape, input.Score, names, title, name), note));
            }
            string items = input.Item + "s", score = ScoreWord(input);
            Sample("samples-best-normal", $"Best reconstructed normal {items}", $"lowest {score} among normal test {items}", s.BestNormals);
            Sample("samples-worst-normal", $"Worst reconstructed normal {items}", $"highest {score} among normal test {items}: the likely false alarms", s.WorstNormals);
            Sample("samples-most-anomalous", "Most anomalous anomalies", $"highest {score} among anomalous test {items}", s.MostAnomalous);
            Sample("samples-least-anomalous", "Least anomalous anomalies", $"lowest {score} among anomalous test {items}: the likely misses", s.LeastAnomalous);
        }
        return new Built(charts, samples, best < 0 ? double.NaN : f1[best], best < 0 ? double.NaN : thresholds[best]);
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    /// <summary>What the numbers are in words: "error" for the mean squared error (the tutorial's reconstruction error), else "score".</summary>
    private static string ScoreWord(ReportInput input) => input.Score == Scoring.ScoreKind.Mse ? "error" : "score";

    /// <summary>The score in a phrase: "reconstruction error (MSE)", "score (1 − SSIM)".</summary>
    private static string ScorePhrase(ReportInput input) => input.Score == Scoring.ScoreKind.Mse ? "reconstruction error (MSE)" : $"score ({input.ScoreLabel})";

    private static string F3(double v) => double.IsFinite(v) ? v.ToString("0.000", Inv) : "n/a";

    private static string Count(long v) => v.ToString("N0", Inv);

    private static string Html(ReportInput input, Built built)
    {
        var m = input.Metrics;
        var charts = built.Charts;
        Reading reading = Readings.Read(input);
        var h = new StringBuilder();
        Head(h, input.Title, input.ModelFile);
        h.Append($"<header>\n<h1>{E(input.Title)}</h1>\n");
        h.Append($"<p class=\"reading\">{E(reading.Headline)}</p>\n");
        if (reading.Warnings.Count > 0)
        {
            h.Append("<div class=\"warnings\" role=\"alert\">\n<ul>\n");
            foreach (string w in reading.Warnings) h.Append($"<li>{E(w)}</li>\n");
            h.Append("</ul>\n</div>\n");
        }
        h.Append($"<p class=\"lede\">{E(Lede(input))}</p>\n");
        if (Facts(input) is { Length: > 0 } facts) h.Append($"<p class=\"facts\">{facts}</p>\n");
        foreach (string note in reading.Notes) h.Append($"<p class=\"note\">{E(note)}</p>\n");
        h.Append("<div class=\"tiles\">\n");
        foreach (var (key, value) in new[]
                 {
                     ("AUROC", F3(m.Auroc)), ("average precision", F3(m.AveragePrecision)), ("F1 (anomaly positive)", F3(m.F1)),
                     ("F1 (normal positive)", F3(m.F1Normal)), ("accuracy", F3(m.Accuracy)), ("threshold", input.Threshold.ToString("G4", Inv)),
                 })
            h.Append($"<div class=\"tile\"><div class=\"v\">{E(value)}</div><div class=\"k\">{E(key)}</div></div>\n");
        h.Append("</div>\n</header>\n");

        if (charts.TryGetValue("loss", out var loss))
        {
            double seconds = input.History.Sum(r => r.Seconds);
            string kept = input.BestEpoch is int b ? $" The black vertical line marks epoch {b}, whose weights were kept (early stopping on the {E(input.MonitorName)})." : "";
            Section(h, "training", "Training",
                Figure(loss, $"Mean loss per epoch over {input.History.Count} epochs ({seconds.ToString("0.#", Inv)} s in all).{kept}"));
        }
        else if (input.TrainedElsewhere)
            Section(h, "training", "Training", "<p class=\"note\">No training history: the model was trained elsewhere.</p>\n");
        string items = input.Item + "s", word = ScoreWord(input);
        Section(h, "errors", input.Score == Scoring.ScoreKind.Mse ? "Reconstruction error (MSE)" : $"Score ({input.ScoreLabel})",
            Figure(charts["histogram"], $"Each group's share of {items} per bin, normal and anomalous test {items} on shared bins; the black vertical line is the threshold."));
        Section(h, "ranking", "Ranking quality",
            $"<div class=\"row\">\n{Figure(charts["roc"], $"ROC curve: how well the {word} ranks anomalies above normal {items}, over all thresholds; the black dot is the chosen threshold.")}"
            + $"{Figure(charts["pr"], "Precision-recall curve; the gray line is the share of anomalies in the test set, the black dot the chosen threshold.")}</div>\n");
        string reference = double.IsFinite(built.BestF1)
            ? $"<p class=\"note\">Reference only: on these test labels the best F1 would be {F3(built.BestF1)}, at threshold {built.BestF1Threshold.ToString("G4", Inv)}. "
              + "It is chosen by looking at the answers, so it is an upper bound, never a threshold to use; aemnist never picks it.</p>\n"
            : "";
        Section(h, "threshold", "Choice of threshold",
            Figure(charts["f1"], $"F1 (anomalies as the positive class) for every threshold between observed {word}s; the black dot is the chosen threshold, the diamond the best F1 on these labels.") + reference);
        Section(h, "classification", "At the chosen threshold",
            $"<div class=\"row\">\n{Figure(charts["confusion"], "Rows: actual class; columns: predicted class; shade: share of the actual class.")}"
            + $"{Figure(charts[input.IsMnist ? "digits" : "classes"], $"Share of each {input.ClassNoun}'s test images flagged as anomalous.")}</div>\n" + MetricsTable(m, input.Threshold));

        if (built.Samples.Count > 0)
        {
            var g = new StringBuilder($"<p class=\"note\">{E(SamplesNote(input))}</p>\n");
            foreach (var sample in built.Samples) g.Append(Figure(sample.Chart, E(sample.Note) + "."));
            Section(h, "samples", input.Score == Scoring.ScoreKind.Mse ? "Originals, reconstructions and per-pixel errors" : "Originals, reconstructions and per-pixel scores", g.ToString());
        }
        if (charts.TryGetValue("latent", out var latentChart) && input.Latent is { } latent)
            Section(h, "latent", "Latent codes",
                Figure(latentChart, $"The encoder's {latent.Dimensions}-dimensional code of each test {input.Item}, projected on the codes' first two principal components "
                    + $"({(100 * (latent.Explained[0] + latent.Explained[1])).ToString("0.#", Inv)}% of their variance); one colour per {input.ClassNoun}."));
        if (input.Settings.Count > 0)
        {
            var t = new StringBuilder("<table class=\"settings\">\n<tbody>\n");
            foreach (var (key, value) in input.Settings) t.Append($"<tr><th scope=\"row\">{E(key)}</th><td>{E(value)}</td></tr>\n");
            t.Append("</tbody>\n</table>\n");
            Section(h, "settings", "Settings", t.ToString());
        }
        Foot(h);
        return h.ToString();
    }

    /// <summary>The line under the reading: what was evaluated, how many of each, and when an item is flagged.</summary>
    private static string Lede(ReportInput input)
    {
        int anomalies = input.TestIsAnomaly.Count(a => a), total = input.TestIsAnomaly.Length;
        string rule = $"is flagged as anomalous when its {ScorePhrase(input)} is at or above the threshold {input.Threshold.ToString("G4", Inv)}.";
        if (input.IsMnist)
            return $"Autoencoder anomaly detection on MNIST: {Count(total)} test digits from {input.TestSetName} ({Count(total - anomalies)} normal, {Count(anomalies)} anomalous); a digit {rule}";
        string Classes(bool anomalous)
        {
            var names = input.TestLabels.Where((_, i) => input.TestIsAnomaly[i] == anomalous).Distinct().Order().Select(l => Reporting.Charts.Shorten(input.ClassName(l))).ToList();
            return names.Count == 0 ? "" : ": " + string.Join(", ", names.Take(8)) + (names.Count > 8 ? $" and {names.Count - 8} more classes" : "");
        }
        bool given = input.Data?.Kind == ReportData.InputKind;
        string data = input.Data is not { } d ? "" : given ? $" on {d.Describe()}" : $" on {d.Path} ({d.Kind})";
        string shape = input.Shape.Channels == 3 ? $"{input.Shape.Height}x{input.Shape.Width} RGB" : input.Shape.Channels == 1 ? $"{input.Shape.Height}x{input.Shape.Width} gray" : input.Shape.ToString();
        string from = given ? "" : $" from {input.TestSetName}";
        return $"Autoencoder anomaly detection{data}: {Count(total)} test images ({shape}){from} ({Count(total - anomalies)} normal{Classes(false)}; "
               + $"{Count(anomalies)} anomalous{Classes(true)}); an image {rule}";
    }

    /// <summary>The page's facts in one line (HTML): the data with its checksum, the score and the engine.</summary>
    private static string Facts(ReportInput input)
    {
        var parts = new List<string>();
        if (input.Data is { } d)
            parts.Add($"data: {E(d.Describe())}" + (d.Sha256 is { } sha ? $" (sha256 <code>{E(sha)}</code>)" : ""));
        parts.Add($"score: {E(input.ScoreLabel)}");
        if (input.Engine is { } engine) parts.Add($"engine: {E(engine)}");
        return string.Join(" · ", parts);
    }

    /// <summary>What the samples' three rows show and what the caption number is, for the input's score and images.</summary>
    private static string SamplesNote(ReportInput input)
    {
        string channels = input.Shape.Channels > 1 ? ", averaged over the channels" : "";
        string colour = input.Shape.Channels == 3 ? " (in colour)" : "";
        string bottom = input.Score switch
        {
            Scoring.ScoreKind.Mse => $"the squared error of each pixel{channels}",
            Scoring.ScoreKind.Ssim => $"1 − SSIM of the 11x11 window centred on each pixel{channels}; the gray border is the {Scoring.Scores.MapBorder(Scoring.ScoreKind.Ssim)} pixels at each edge on which no window inside the image centres",
            Scoring.ScoreKind.Combined => $"the square of the residual x − x̂ blurred by a 5x5 Gaussian at each pixel{channels} (smoothed MSE's map, one of the two parts of the combined score, which is no mean over pixels)",
            _ => $"the square of the residual x − x̂ blurred by the score's 5x5 Gaussian at each pixel{channels}",
        };
        string mean = input.Score switch
        {
            Scoring.ScoreKind.Ssim => "the mean of the bottom image inside the gray border",
            Scoring.ScoreKind.Combined => "not the bottom image's mean but the combined score (see Settings)",
            _ => "the mean of the bottom image",
        };
        int side = Math.Max(input.Shape.Height, input.Shape.Width);
        int block = (side + Reporting.Charts.MaxShownSide - 1) / Reporting.Charts.MaxShownSide;
        string shrunk = block > 1 ? $" Images are shown averaged over blocks of {block}x{block} pixels; the maps were computed at full size." : "";
        return $"Each column shows a test {input.Item}{colour} (top), its reconstruction (middle) and {bottom} (bottom, one colour scale per chart); "
               + $"the caption gives the {(input.IsMnist ? "digit label" : "class")} and the {ScorePhrase(input)}, {mean}.{shrunk}";
    }

    private static string MetricsTable(ReportMetrics m, double threshold)
    {
        var rows = new (string, string)[]
        {
            ("threshold", threshold.ToString("G4", Inv)), ("accuracy", F3(m.Accuracy)), ("precision (anomaly)", F3(m.Precision)),
            ("recall (anomaly)", F3(m.Recall)), ("F1 (anomaly positive)", F3(m.F1)), ("F1 (normal positive)", F3(m.F1Normal)),
            ("AUROC", F3(m.Auroc)), ("average precision", F3(m.AveragePrecision)),
            ("true positives", Count(m.TruePositives)), ("false positives", Count(m.FalsePositives)),
            ("true negatives", Count(m.TrueNegatives)), ("false negatives", Count(m.FalseNegatives)),
        };
        var t = new StringBuilder("<table class=\"metrics\">\n<tbody>\n");
        foreach (var (k, v) in rows) t.Append($"<tr><th scope=\"row\">{E(k)}</th><td class=\"num\">{E(v)}</td></tr>\n");
        return t.Append("</tbody>\n</table>\n").ToString();
    }

    private static string Figure(Chart chart, string caption) =>
        $"<figure class=\"chart\" id=\"chart-{chart.Name}\">\n{chart.Svg()}\n<figcaption>{caption}</figcaption>\n</figure>\n";

    private static void Section(StringBuilder h, string id, string title, string body) =>
        h.Append($"<section id=\"{id}\">\n<h2>{E(title)}</h2>\n{body}</section>\n");

    private const string Css = """
        :root { color-scheme: light; }
        body { margin: 0; background: #ffffff; color: #1a1a1a; font: 15px/1.45 'Liberation Sans', Arial, Helvetica, sans-serif; }
        main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 40px; }
        h1 { font-size: 26px; margin: 0 0 6px; }
        h2 { font-size: 20px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d6d6d6; }
        h3 { font-size: 16px; margin: 18px 0 2px; }
        .reading { font-size: 18px; font-weight: bold; margin: 6px 0 10px; max-width: 900px; }
        .warnings { border-left: 5px solid #D55E00; background: #fff3ea; padding: 6px 14px; margin: 0 0 12px; max-width: 900px; }
        .warnings ul { margin: 4px 0; padding-left: 18px; }
        .warnings li { margin: 3px 0; }
        .lede { color: #444444; margin: 0 0 10px; max-width: 820px; }
        .facts { color: #444444; font-size: 13px; margin: 0 0 10px; max-width: 900px; overflow-wrap: anywhere; }
        code { font: 12px/1.3 'Liberation Mono', 'DejaVu Sans Mono', monospace; }
        .note { color: #555555; font-size: 13px; margin: 2px 0 8px; max-width: 900px; }
        .tiles { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 10px; }
        .tile { border: 1px solid #cfcfcf; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
        .tile .v { font-size: 22px; font-weight: bold; font-variant-numeric: tabular-nums; }
        .tile .k { font-size: 12px; color: #555555; }
        .row { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
        figure { margin: 0 0 12px; max-width: 100%; }
        figure svg { display: block; max-width: 100%; height: auto; }
        figure svg image { image-rendering: pixelated; }
        figcaption { font-size: 13px; color: #444444; max-width: 680px; margin-top: 4px; }
        table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
        th, td { text-align: left; padding: 4px 18px 4px 0; border-bottom: 1px solid #e2e2e2; vertical-align: top; }
        th { font-weight: normal; color: #444444; }
        thead th { font-weight: bold; color: #1a1a1a; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        table.comparison thead th { text-align: right; }
        td.differs, td.best { font-weight: bold; }
        table.data td { overflow-wrap: anywhere; }
        footer { margin-top: 36px; color: #777777; font-size: 12px; }
        @media print {
          body { font-size: 12px; }
          main { max-width: none; padding: 0; }
          h2 { break-after: avoid; }
          figure, table, .tiles { break-inside: avoid; }
        }
        """;

    private static void Head(StringBuilder h, string title, string subject)
    {
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n")
         .Append(Marker(subject)).Append('\n')
         .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n")
         .Append($"<title>{E(title)}</title>\n<style>\n{Css}\n</style>\n</head>\n<body>\n<main>\n");
    }

    private static void Foot(StringBuilder h) =>
        h.Append("<footer>Written by aemnist; charts drawn with ScottPlot; this page is self-contained and needs no network access.</footer>\n</main>\n</body>\n</html>\n");

    /// <summary>
    /// A warning when the runs were not all evaluated on the same data (by checksum, else by kind and path), or their
    /// data is unknown for some: their figures are then not measured on the same images.
    /// </summary>
    private static string? DataDiffers(IReadOnlyList<(string RunName, ReportInput Input)> runs)
    {
        var known = runs.Where(r => r.Input.Data is not null).ToList();
        if (known.Count < runs.Count && known.Count > 0)
            return $"The data of {string.Join(", ", runs.Where(r => r.Input.Data is null).Select(r => r.RunName))} is not known: the runs may not have been evaluated on the same images.";
        if (known.Count == 0) return null;
        var groups = new List<List<string>>();
        var firsts = new List<ReportData>();
        foreach (var (name, input) in known)
        {
            int at = firsts.FindIndex(d => d.SameAs(input.Data!));
            if (at < 0) { firsts.Add(input.Data!); groups.Add([name]); }
            else groups[at].Add(name);
        }
        if (groups.Count == 1)
        {
            // The same data, but other images of it (another protocol or seed of the split): as different for the figures.
            if (runs.Any(r => r.Input.TestImages is null) || runs.Select(r => r.Input.TestImages).Distinct().Count() == 1) return null;
            return "These runs were evaluated on different test images of the same data, so their figures are not measured on the same images: "
                   + string.Join("; ", runs.Select(r => $"{r.RunName} on {Evaluated(r.Input)}")) + ".";
        }
        return "These runs were evaluated on different data, so their figures are not measured on the same images: "
               + string.Join("; ", groups.Select((g, i) => $"{string.Join(", ", g)} on {firsts[i].Describe()}" + (firsts[i].Sha256 is { } sha ? $" (sha256 {sha[..Math.Min(12, sha.Length)]}…)" : ""))) + ".";
    }

    // "the test split (10,000 images)".
    private static string Evaluated(ReportInput r) => $"{r.TestSetName} ({r.TestErrors.Length.ToString("N0", Inv)} images)";

    /// <summary>The comparison's data rows: what each run was evaluated on, its checksum, its classes and its score; rows that differ in bold.</summary>
    private static string DataTable(IReadOnlyList<(string RunName, ReportInput Input)> runs)
    {
        string Classes(ReportInput r)
        {
            var normal = r.TestLabels.Where((_, i) => !r.TestIsAnomaly[i]).Distinct().Order().Select(l => r.ClassName(l)).ToList();
            return $"{r.ClassNames.Count} ({(normal.Count == 0 ? "no normal class in the test set" : "normal: " + string.Join(", ", normal.Select(n => Reporting.Charts.Shorten(n))))})";
        }
        var rows = new (string Name, Func<ReportInput, string> Value)[]
        {
            ("data", r => r.Data?.Describe() ?? "unknown"),
            ("sha256", r => r.Data?.Sha256 ?? "unknown"),
            ("evaluated on", Evaluated),
            ("images", r => r.Shape.Channels == 3 ? $"{r.Shape.Height}x{r.Shape.Width} RGB" : r.Shape.ToString()),
            ("classes", Classes),
            ("score", r => r.ScoreLabel),
            ("engine", r => r.Engine ?? "unknown"),
        };
        var t = new StringBuilder("<p class=\"note\">Bold in a data row: the runs differ in it.</p>\n<table class=\"settings data\">\n<thead>\n<tr><th></th>");
        foreach (var (name, _) in runs) t.Append($"<th scope=\"col\">{E(name)}</th>");
        t.Append("</tr>\n</thead>\n<tbody>\n");
        foreach (var (name, value) in rows)
        {
            var values = runs.Select(r => value(r.Input)).ToList();
            string cls = values.Distinct().Count() > 1 ? " class=\"differs\"" : "";
            t.Append($"<tr><th scope=\"row\">{E(name)}</th>{string.Concat(values.Select(v => $"<td{cls}>{E(v)}</td>"))}</tr>\n");
        }
        return t.Append("</tbody>\n</table>\n").ToString();
    }

    /// <summary>
    /// Writes one HTML page comparing runs: the data each was evaluated on (kind, path, checksum, classes, score, engine;
    /// a warning at the top when the data differ), their metrics and settings side by side (the best value of each metric
    /// and the settings that differ in bold, as the page says), ROC and precision-recall curves of all runs on
    /// shared axes, and their loss curves.
    /// </summary>
    public static void WriteComparison(string path, IReadOnlyList<(string RunName, ReportInput Input)> runs)
    {
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(RenderComparison(runs)));
    }

    /// <summary>The comparison page's HTML, as <see cref="WriteComparison"/> writes it.</summary>
    public static string RenderComparison(IReadOnlyList<(string RunName, ReportInput Input)> runs)
    {
        if (runs.Count == 0) throw new ArgumentException("Nothing to compare.", nameof(runs));
        foreach (var (_, input) in runs) Validate(input);
        var h = new StringBuilder();
        string title = $"Comparison of {runs.Count} runs";
        Head(h, title, ComparisonMarker);
        h.Append($"<header>\n<h1>{E(title)}</h1>\n<p class=\"lede\">{E(string.Join(", ", runs.Select(r => r.RunName)))}</p>\n");
        string items = runs.All(r => r.Input.IsMnist) ? "digits" : "images";
        var best = runs.Select((r, i) => (r, i)).Where(x => double.IsFinite(x.r.Input.Metrics.Auroc)).OrderByDescending(x => x.r.Input.Metrics.Auroc).FirstOrDefault();
        if (best.r.Input is not null)
            h.Append($"<p class=\"reading\">{E($"Best AUROC: {best.r.RunName}, {best.r.Input.Metrics.Auroc.ToString("0.000", Inv)} ({Readings.Describe(best.r.Input.Metrics.Auroc, items)}).")}</p>\n");
        var alerts = new List<string>();
        if (DataDiffers(runs) is { } differs) alerts.Add(differs);
        var warned = runs.Where(r => Readings.Read(r.Input).Warnings.Count > 0).Select(r => r.RunName).ToList();
        if (warned.Count > 0) alerts.Add($"Runs with warnings (see each run's report.html): {string.Join(", ", warned)}.");
        if (alerts.Count > 0)
            h.Append($"<div class=\"warnings\" role=\"alert\"><ul>{string.Concat(alerts.Select(a => $"<li>{E(a)}</li>"))}</ul></div>\n");
        h.Append("</header>\n");
        Section(h, "data", "Data", DataTable(runs));

        var table = new StringBuilder("<p class=\"note\">Bold in a metric row: the best value among the runs (highest; for the counts of false positives and false negatives, lowest). "
            + "The threshold, epochs and training time rows have no best and are never bold.</p>\n<table class=\"comparison\">\n<thead>\n<tr><th></th>");
        foreach (var (name, _) in runs) table.Append($"<th scope=\"col\">{E(name)}</th>");
        table.Append("</tr>\n</thead>\n<tbody>\n");
        // Each row: its text, and the number that ranks it (null: no best), higher better unless Lower.
        var metricRows = new (string Name, Func<ReportInput, string> Value, Func<ReportInput, double>? Rank, bool Lower)[]
        {
            ("AUROC", r => F3(r.Metrics.Auroc), r => r.Metrics.Auroc, false),
            ("average precision", r => F3(r.Metrics.AveragePrecision), r => r.Metrics.AveragePrecision, false),
            ("F1 (anomaly positive)", r => F3(r.Metrics.F1), r => r.Metrics.F1, false),
            ("F1 (normal positive)", r => F3(r.Metrics.F1Normal), r => r.Metrics.F1Normal, false),
            ("precision", r => F3(r.Metrics.Precision), r => r.Metrics.Precision, false),
            ("recall", r => F3(r.Metrics.Recall), r => r.Metrics.Recall, false),
            ("accuracy", r => F3(r.Metrics.Accuracy), r => r.Metrics.Accuracy, false),
            ("false positives", r => Count(r.Metrics.FalsePositives), r => r.Metrics.FalsePositives, true),
            ("false negatives", r => Count(r.Metrics.FalseNegatives), r => r.Metrics.FalseNegatives, true),
            ("threshold", r => r.Threshold.ToString("G4", Inv), null, false),
            ("epochs (kept)", r => r.History.Count == 0 ? "n/a" : $"{r.History.Count} ({(r.BestEpoch is int b ? b.ToString(Inv) : "last")})", null, false),
            ("training time", r => r.History.Count == 0 ? "n/a" : r.History.Sum(x => x.Seconds).ToString("0.#", Inv) + " s", null, false),
        };
        foreach (var (name, value, rank, lower) in metricRows)
        {
            table.Append($"<tr><th scope=\"row\">{E(name)}</th>");
            double? top = null;
            if (rank is not null)
            {
                var ranks = runs.Select(r => rank(r.Input)).Where(double.IsFinite).ToList();
                if (ranks.Count > 1 && ranks.Distinct().Count() > 1) top = lower ? ranks.Min() : ranks.Max();
            }
            foreach (var (_, input) in runs)
            {
                bool isBest = top is double t && rank!(input) == t;
                table.Append($"<td class=\"num{(isBest ? " best" : "")}\">{E(value(input))}</td>");
            }
            table.Append("</tr>\n");
        }
        table.Append("</tbody>\n</table>\n");
        Section(h, "metrics", "Metrics", table.ToString());

        var roc = Reporting.Charts.Roc([.. runs.Select(r => new AreaCurve(r.RunName, r.Input.Metrics.RocFpr, r.Input.Metrics.RocTpr, r.Input.Metrics.Auroc))], null, "ROC curves");
        var pr = Reporting.Charts.PrecisionRecall(
            [.. runs.Select(r => new AreaCurve(r.RunName, r.Input.Metrics.PrRecall, r.Input.Metrics.PrPrecision, r.Input.Metrics.AveragePrecision))], null, null,
            "Precision-recall curves");
        Section(h, "ranking", "Ranking quality",
            $"<div class=\"row\">\n{Figure(roc, "ROC curves of all runs; areas in the legend.")}{Figure(pr, "Precision-recall curves; average precision in the legend.")}</div>\n");

        var withHistory = runs.Where(r => r.Input.History.Count > 0).ToList();
        if (withHistory.Count > 0)
        {
            var loss = Reporting.Charts.Loss([.. withHistory.Select(r => new LossCurves(r.RunName, r.Input.History, r.Input.MonitorName, r.Input.BestEpoch))], "Loss per epoch");
            Section(h, "training", "Training", Figure(loss, "Round markers: training loss; square markers: the monitored loss; one colour per run."));
        }

        var keys = runs.SelectMany(r => r.Input.Settings.Select(s => s.Key)).Distinct().ToList();
        if (keys.Count > 0)
        {
            var t = new StringBuilder("<p class=\"note\">Bold in a settings row: the runs differ in it (usually what the comparison is about).</p>\n<table class=\"settings\">\n<thead>\n<tr><th></th>");
            foreach (var (name, _) in runs) t.Append($"<th scope=\"col\">{E(name)}</th>");
            t.Append("</tr>\n</thead>\n<tbody>\n");
            foreach (string key in keys)
            {
                t.Append($"<tr><th scope=\"row\">{E(key)}</th>");
                var values = runs.Select(r => r.Input.Settings.Where(s => s.Key == key).Select(s => s.Value).FirstOrDefault() ?? "").ToList();
                string cls = values.Distinct().Count() > 1 ? " class=\"differs\"" : "";
                foreach (string value in values) t.Append($"<td{cls}>{E(value)}</td>");
                t.Append("</tr>\n");
            }
            t.Append("</tbody>\n</table>\n");
            Section(h, "settings", "Settings", t.ToString());
        }
        Foot(h);
        return h.ToString();
    }
}
