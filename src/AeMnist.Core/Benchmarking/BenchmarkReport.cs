// The benchmark's tables: per model configuration and score, the AUROC of every normal class (mean over seeds), the
// mean over the classes that finished ± its standard deviation over seeds, and the training time per run; for MNIST's
// digits on the one-class protocol beside published rows and our earlier ones (on other data, or another protocol,
// those rows are about something else and are not shown). Every page names its data (path and checksum), engine,
// scores and the protocol that ran; a mean over fewer classes than the data has says so, a configuration that
// watched its test split is marked, and cells that diverged or collapsed are listed, never counted. Written as a
// terminal table, Markdown, CSV (one line per cell and score), JSON and one HTML page with per-class bars (inline SVG,
// no scripts).
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.IO;
using AeMnist.Runs;
using AeMnist.Scoring;

namespace AeMnist.Benchmarking;

/// <summary>
/// One row: per-class AUROC in percent (NaN where no cell finished), the mean over the classes that have one, the
/// standard deviation over seeds of that mean (sample std; NaN with fewer than two complete seeds), the mean of the
/// per-class standard deviations over seeds, seconds per training run, and how many finished cells it holds.
/// </summary>
public sealed record BenchmarkRow(string Name, string Score, double[] Classes, double Mean, double SeedStd, double ClassSeedStd, double SecondsPerRun, int Cells, string Kind)
{
    public bool IsOurs => Kind == "this run";

    /// <summary>How many classes the mean is over.</summary>
    public int ClassesInMean { get; init; }

    /// <summary>Cells of this row whose run diverged or collapsed: not counted.</summary>
    public int Diverged { get; init; }

    public int Collapsed { get; init; }

    /// <summary>The configuration's early stopping watched the test split (validation=0).</summary>
    public bool WatchesTest { get; init; }
}

public static class BenchmarkReport
{
    /// <summary>Rows from the literature on MNIST's one-class protocol, AUROC in percent per digit 0-9.</summary>
    public static IReadOnlyList<BenchmarkRow> Published { get; } =
    [
        Fixed("One-Class Deep SVDD (Ruff et al. 2018)", [98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5], "published"),
    ];

    /// <summary>Our rows measured before this benchmark (issue 14), on MNIST: the tutorial's models and the PyTorch prototype.</summary>
    public static IReadOnlyList<BenchmarkRow> Earlier { get; } =
    [
        Fixed("tutorial dense AutoEncoder(784, 64, 32), aemnist train + evaluate, seeds 1-3", [98.8, 99.8, 89.0, 91.6, 94.3, 93.6, 96.9, 95.8, 84.1, 95.3], "earlier", "mse", seedStd: 0.3),
        Fixed("PyTorch prototype: conv latent 16 + batch norm, 1-SSIM, seed 0 (variant picked on test digits 2, 5, 8)", [99.7, 99.9, 96.9, 96.8, 96.3, 96.5, 98.4, 97.4, 96.3, 97.7], "earlier", "ssim"),
    ];

    private static BenchmarkRow Fixed(string name, double[] digits, string kind, string score = "", double seedStd = double.NaN) =>
        new(name, score, digits, digits.Average(), seedStd, double.NaN, double.NaN, 0, kind) { ClassesInMean = digits.Length };

    /// <summary>
    /// The reference rows that apply to <paramref name="grid"/> (none unless MNIST's one-class protocol), their means over
    /// the grid's digits only, so that they compare with ours; the standard deviation over seeds of a ten-digit mean is
    /// dropped from a mean over fewer.
    /// </summary>
    public static IReadOnlyList<BenchmarkRow> References(BenchmarkGrid grid)
    {
        if (!grid.ReferencesApply) return [];
        if (grid.Classes.Count == 10) return [.. Earlier, .. Published];
        return [.. Earlier.Concat(Published).Select(r => r with
        {
            Mean = grid.Classes.Select(d => r.Classes[d]).Average(),
            SeedStd = double.NaN,
            ClassesInMean = grid.Classes.Count,
        })];
    }

    /// <summary>Our rows, one per model configuration and score, in grid order; only finished cells count.</summary>
    public static IReadOnlyList<BenchmarkRow> Rows(BenchmarkGrid grid, IReadOnlyList<CellResult> results)
    {
        int classes = grid.Data.ClassNames.Count;
        var rows = new List<BenchmarkRow>();
        foreach (BenchmarkModel model in grid.Models)
            foreach (ScoreKind score in grid.Scores)
            {
                CellResult[] all = [.. results.Where(r => r.Cell.Model == model)];
                CellResult[] mine = [.. all.Where(r => r.IsFinished)];
                var perClass = new double[classes];
                var classStds = new List<double>();
                for (int d = 0; d < classes; d++)
                {
                    double[] values = [.. mine.Where(r => r.Cell.Class == d).Select(r => 100 * r.Auroc[score])];
                    perClass[d] = values.Length > 0 ? values.Average() : double.NaN;
                    if (values.Length > 1) classStds.Add(SampleStd(values));
                }
                // The mean over the grid's classes for each seed that finished all of them, then their spread.
                double[] seedMeans = [.. grid.Seeds
                    .Select(s => mine.Where(r => r.Cell.Seed == s).ToArray())
                    .Where(c => grid.Classes.All(d => c.Any(r => r.Cell.Class == d)))
                    .Select(c => c.Average(r => 100 * r.Auroc[score]))];
                double[] present = [.. grid.Classes.Select(d => perClass[d]).Where(double.IsFinite)];
                rows.Add(new BenchmarkRow(model.Text, Scores.Name(score), perClass, present.Length > 0 ? present.Average() : double.NaN,
                    seedMeans.Length > 1 ? SampleStd(seedMeans) : double.NaN, classStds.Count > 0 ? classStds.Average() : double.NaN,
                    mine.Length > 0 ? mine.Select(r => r.TrainSeconds).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average() : double.NaN,
                    mine.Length, "this run")
                {
                    ClassesInMean = present.Length,
                    Diverged = all.Count(r => r.Status == CellStatus.Diverged),
                    Collapsed = all.Count(r => r.Status == CellStatus.Collapsed),
                    WatchesTest = model.WatchesTest,
                });
            }
        return rows;
    }

    /// <summary>Our row with the highest mean (rows over more classes and cells first), or null.</summary>
    public static BenchmarkRow? Best(IReadOnlyList<BenchmarkRow> rows) =>
        rows.Where(r => r.IsOurs && double.IsFinite(r.Mean)).OrderByDescending(r => r.ClassesInMean).ThenByDescending(r => r.Cells).ThenByDescending(r => r.Mean).FirstOrDefault();

    private static double SampleStd(double[] values)
    {
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }

    private static string F(double value, string format = "F1") => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "–";

    /// <summary>
    /// "mean ± std", and, when the mean is over fewer classes than the data has, how many ("(2 of 10 digits)"); a
    /// configuration that watched its test split is marked "[watched test]".
    /// </summary>
    public static string MeanText(BenchmarkGrid grid, BenchmarkRow r)
    {
        string text = double.IsFinite(r.SeedStd) ? $"{F(r.Mean, "F2")} ± {F(r.SeedStd, "F2")}" : F(r.Mean, "F2");
        int classes = grid.Data.ClassNames.Count;
        if (double.IsFinite(r.Mean) && r.ClassesInMean < classes)
            text += string.Create(CultureInfo.InvariantCulture, $" ({r.ClassesInMean} of {classes} {Plural(grid)})");
        if (r.WatchesTest) text += " [watched test]";
        return text;
    }

    private static string Plural(BenchmarkGrid grid) => grid.Data.IsMnist ? "digits" : "classes";

    private static IEnumerable<BenchmarkRow> All(BenchmarkGrid grid, IReadOnlyList<BenchmarkRow> rows) => rows.Concat(References(grid));

    // The column heads: the digits for MNIST, else the classes' names.
    private static string[] Heads(BenchmarkGrid grid) => [.. Enumerable.Range(0, grid.Data.ClassNames.Count).Select(grid.Data.ClassLabel)];

    /// <summary>A fixed-width table for the terminal.</summary>
    public static string TerminalTable(BenchmarkGrid grid, IReadOnlyList<BenchmarkRow> rows)
    {
        var text = new StringBuilder();
        string[] heads = Heads(grid);
        int width = grid.Data.IsMnist ? 6 : Math.Clamp(heads.Max(h => h.Length) + 1, 6, 14);
        int nameWidth = Math.Min(48, All(grid, rows).Max(r => Label(r).Length));
        text.Append("model".PadRight(nameWidth)).Append("  score   ");
        foreach (string head in heads) text.Append((head.Length >= width ? head[..(width - 2)] + "…" : head).PadLeft(width));
        text.Append("   mean ± std(seeds)   s/run\n");
        foreach (BenchmarkRow r in All(grid, rows))
        {
            string label = Label(r);
            if (label.Length > nameWidth) label = label[..(nameWidth - 1)] + "…";
            text.Append(label.PadRight(nameWidth)).Append("  ").Append(r.Score.PadRight(8));
            foreach (double v in r.Classes) text.Append(F(v).PadLeft(width));
            text.Append("   ").Append(MeanText(grid, r).PadRight(18)).Append(F(r.SecondsPerRun).PadLeft(6)).Append('\n');
        }
        return text.ToString();
    }

    private static string Label(BenchmarkRow r) => r.IsOurs ? r.Name : $"[{r.Kind}] {r.Name}";

    // Text inside a Markdown table cell: the characters Markdown or HTML would read escaped.
    private static string Md(string text)
    {
        var sb = new StringBuilder();
        foreach (char c in text) sb.Append(c is '|' or '\\' or '*' or '_' or '`' or '[' or ']' or '<' or '>' or '#' ? "\\" + c : c.ToString());
        return sb.ToString();
    }

    /// <summary>The Markdown table (docs/results.md embeds it).</summary>
    public static string Markdown(BenchmarkGrid grid, IReadOnlyList<BenchmarkRow> rows)
    {
        var md = new StringBuilder();
        string[] heads = Heads(grid);
        md.Append("| model | score |");
        foreach (string head in heads) md.Append(' ').Append(grid.Data.IsMnist ? head : Md(head)).Append(" |");
        md.Append(" mean ± std over seeds | s per run | runs |\n|---|---|");
        foreach (string _ in heads) md.Append("---:|");
        md.Append("---:|---:|---:|\n");
        BenchmarkRow? best = Best(rows);
        foreach (BenchmarkRow r in All(grid, rows))
        {
            string name = r.IsOurs ? $"`{r.Name.Replace("`", "'", StringComparison.Ordinal)}`" : $"{r.Name} ({r.Kind})";
            bool bold = ReferenceEquals(r, best);
            md.Append("| ").Append(name).Append(" | ").Append(r.Score).Append(" |");
            foreach (double v in r.Classes) md.Append(' ').Append(F(v)).Append(" |");
            md.Append(' ').Append(bold ? $"**{MeanText(grid, r)}**" : MeanText(grid, r)).Append(" | ").Append(F(r.SecondsPerRun)).Append(" | ")
                .Append(r.IsOurs ? r.Cells.ToString(CultureInfo.InvariantCulture) : "").Append(" |\n");
        }
        return md.ToString();
    }

    /// <summary>
    /// What ran, in sentences: the data (kind, path, checksum, classes, image shape), the engine, the scores, the
    /// protocol as it ran on this data, and per configuration which split its early stopping watched.
    /// </summary>
    public static IReadOnlyList<string> Description(BenchmarkGrid grid)
    {
        BenchmarkData data = grid.Data;
        string noun = data.ClassNoun, plural = Plural(grid);
        int count = data.ClassNames.Count;
        string classList = string.Join(", ", Enumerable.Range(0, Math.Min(count, 20)).Select(data.ClassLabel)) + (count > 20 ? ", ..." : "");
        var lines = new List<string>
        {
            $"Data: {data.Kind} {data.Path}, sha256 {data.Sha256}; {count} {(count == 1 ? noun : plural)} ({classList}); images {data.Shape}" +
                (data.Rules.IsDefault ? "" : $" (read with{(data.Rules.Size is { } s ? $" --size {s.Height}x{s.Width}" : "")}{(data.Rules.Channels is { } c ? $" --color {(c == 1 ? "gray" : "rgb")}" : "")}{(data.Rules.Invert ? " --invert" : "")})") + ".",
            $"Engine: {grid.Compute.Engine} on {grid.Compute.Device}. Scores: {string.Join("; ", grid.Scores.Select(k => $"{Scores.Name(k)} = {Scores.Describe(k)}"))}.",
            $"{Plural(grid)[..1].ToUpperInvariant()}{Plural(grid)[1..]} that ran: {string.Join(", ", grid.Classes.Select(data.ClassLabel))} ({grid.Classes.Count} of {count}); seeds {string.Join(", ", grid.Seeds)}.",
        };
        var defaults = new SplitOptions();
        lines.Add(grid.Protocol == SplitProtocol.Development
            ? $"Protocol development (the one-class protocol inside the training part, for choosing a recipe without the test part): each {noun}'s training images are cut in file order at five sixths; the model trains on the normal {noun}'s first five sixths (minus a validation split where the configuration has one) and is tested on the last sixth of every {noun}'s (the test file unused)."
            : grid.Protocol == SplitProtocol.Seed
            ? string.Create(CultureInfo.InvariantCulture, $"Protocol seed (the tutorial's): from all the data's images, {defaults.TrainNormal} of the normal {noun} and {defaults.TrainAnomalies} of the others to train, {defaults.TestNormal} and {defaults.TestAnomalies} to test, drawn with the cell's seed.")
            : data.HasTestPart
                ? $"Protocol one-class{(grid.ReferencesApply ? " (Ruff et al. 2018)" : "")}: each {noun} in turn is normal; the model trains on that {noun}'s images in the data's training part (minus a validation split where the configuration has one) and is tested on the data's whole test part, every other {noun} an anomaly."
                : string.Create(CultureInfo.InvariantCulture, $"Protocol one-class on data without a test part: each {noun} in turn is normal; {Splitter.HeldOutNormal:P0} of its images, drawn with the cell's seed, are held out and tested together with every image of the other {plural}, and the model trains on the rest (minus a validation split where the configuration has one)."));
        foreach (BenchmarkModel model in grid.Models)
            lines.Add(model.Train.Architecture.FitsExactly
                ? $"`{model.Text}`: fitted in closed form; it watches no split."
                : model.WatchesTest
                    ? $"`{model.Text}`: validation=0, so its early stopping watched the TEST split: its AUROCs are not clean test results (marked [watched test])."
                    : string.Create(CultureInfo.InvariantCulture, $"`{model.Text}`: early stopping watches a validation split of {model.Validation:P0} of the normal training images; the test split only reports."));
        lines.Add($"AUROC in percent, mean over the seeds per {noun}; the mean is over the {plural} with a finished cell ± the sample standard deviation over seeds of that mean. Cells that diverged or collapsed are listed and not counted.");
        if (!grid.ReferencesApply)
            lines.Add(!data.IsMnist ? "No published rows: none are known for this data."
                : data.Sha256 != BenchmarkGrid.MnistSha256 ? $"The published rows are for MNIST itself (sha256 {BenchmarkGrid.MnistSha256[..12]}...); these are other images in its format, so they are not shown."
                : "The published rows are for MNIST's one-class protocol, so they are not shown.");
        return lines;
    }

    /// <summary>The cells that ran to their end but do not count (diverged, collapsed), one line each.</summary>
    public static IReadOnlyList<string> NotCounted(IReadOnlyList<CellResult> results) =>
        [.. results.Where(r => !r.IsFinished).Select(r => $"{r.Cell}: {CellResult.StatusName(r.Status)}{(r.Message is { } m ? $" ({m})" : "")}")];

    // A CSV cell: quoted, and text a spreadsheet would run as a formula made inert (OWASP: a leading ').
    private static string CsvText(string text) =>
        "\"" + (text.Length > 0 && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + text : text).Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>One line per cell and score (a cell that diverged or collapsed: one line without an AUROC).</summary>
    public static string Csv(BenchmarkGrid grid, IReadOnlyList<CellResult> results)
    {
        var csv = new StringBuilder(grid.Data.IsMnist
            ? "model,score,digit,seed,auroc,train_seconds,epochs_run,best_epoch,constant_output,status\n"
            : "model,score,class,class_name,seed,auroc,train_seconds,epochs_run,best_epoch,constant_output,status\n");
        foreach (CellResult r in results)
        {
            string cls = grid.Data.IsMnist ? r.Cell.Class.ToString(CultureInfo.InvariantCulture) : $"{r.Cell.Class.ToString(CultureInfo.InvariantCulture)},{CsvText(r.Cell.ClassName)}";
            IEnumerable<(string Score, string Auroc)> lines = r.IsFinished
                ? r.Auroc.Select(p => (Scores.Name(p.Key), p.Value.ToString("R", CultureInfo.InvariantCulture)))
                : [("", "")];
            foreach ((string score, string auroc) in lines)
                csv.Append(CultureInfo.InvariantCulture,
                    $"{CsvText(r.Cell.Model.Text)},{score},{cls},{r.Cell.Seed},{auroc},{r.TrainSeconds:R},{r.Epochs},{r.BestEpoch},{(r.ConstantOutput ? 1 : 0)},{CellResult.StatusName(r.Status)}\n");
        }
        return csv.ToString();
    }

    public static JsonObject Json(BenchmarkGrid grid, IReadOnlyList<BenchmarkRow> rows, IReadOnlyList<CellResult> results, double? wallSeconds)
    {
        static JsonNode? N(double v) => double.IsFinite(v) ? v : null;
        string by = grid.Data.IsMnist ? "auroc_percent_by_digit" : "auroc_percent_by_class";
        JsonObject Row(BenchmarkRow r) => new()
        {
            ["model"] = r.Name,
            ["kind"] = r.Kind,
            ["score"] = r.Score,
            [by] = new JsonArray([.. r.Classes.Select(N)]),
            ["mean"] = N(r.Mean),
            ["classes_in_mean"] = r.ClassesInMean,
            ["std_over_seeds"] = N(r.SeedStd),
            [grid.Data.IsMnist ? "mean_per_digit_std_over_seeds" : "mean_per_class_std_over_seeds"] = N(r.ClassSeedStd),
            ["seconds_per_run"] = N(r.SecondsPerRun),
            ["cells"] = r.Cells,
            ["cells_diverged"] = r.Diverged,
            ["cells_collapsed"] = r.Collapsed,
            ["watched_test_split"] = r.WatchesTest,
        };
        BenchmarkRow? best = Best(rows);
        var json = new JsonObject
        {
            ["protocol"] = SplitOptions.ProtocolName(grid.Protocol),
            ["description"] = new JsonArray([.. Description(grid).Select(l => (JsonNode)l)]),
            ["data"] = new JsonObject
            {
                ["kind"] = grid.Data.Kind,
                ["path"] = grid.Data.Path,
                ["sha256"] = grid.Data.Sha256,
                ["image"] = grid.Data.Shape.Text,
                ["has_test_part"] = grid.Data.HasTestPart,
                ["class_names"] = new JsonArray([.. grid.Data.ClassNames.Select(c => (JsonNode)c)]),
            },
            ["engine"] = grid.Compute.Engine,
            ["device"] = grid.Compute.Device,
        };
        json[grid.Data.IsMnist ? "digits" : "classes"] = new JsonArray([.. grid.Classes.Select(d => (JsonNode)d)]);
        json["seeds"] = new JsonArray([.. grid.Seeds.Select(s => (JsonNode)s)]);
        json["models"] = new JsonArray([.. grid.Models.Select(m => (JsonNode)new JsonObject { ["model"] = m.Text, ["configuration"] = m.ToJson(), ["directory"] = grid.ModelDirectoryName(m) })]);
        json["scores"] = new JsonArray([.. grid.Scores.Select(s => (JsonNode)Scores.Name(s))]);
        json["rows"] = new JsonArray([.. rows.Select(r => (JsonNode)Row(r))]);
        json["best"] = best is null ? null : Row(best);
        json["reference_rows"] = new JsonArray([.. References(grid).Select(r => (JsonNode)Row(r))]);
        json["cells_finished"] = results.Count(r => r.IsFinished);
        json["cells_diverged"] = results.Count(r => r.Status == CellStatus.Diverged);
        json["cells_collapsed"] = results.Count(r => r.Status == CellStatus.Collapsed);
        json["cells_total"] = grid.Cells.Count();
        json["not_counted"] = new JsonArray([.. NotCounted(results).Select(l => (JsonNode)l)]);
        json["wall_seconds"] = wallSeconds;  // null for --no-train, which ran no cell: not a time of the grid
        json["aemnist_version"] = Models.ModelFile.ToolVersion;
        json["machine"] = RunRecord.MachineJson();
        return json;
    }

    /// <summary>
    /// The AUROC of the normal class against each other class alone, for one row (mean over seeds, finished cells): where
    /// the row's remaining error is. Rows: normal class; columns: the other class.
    /// </summary>
    public static double[,] Confusions(IReadOnlyList<CellResult> results, BenchmarkModel model, ScoreKind score, int classes = 10)
    {
        var table = new double[classes, classes];
        for (int d = 0; d < classes; d++)
            for (int e = 0; e < classes; e++)
            {
                double[] values = [.. results.Where(r => r.IsFinished && r.Cell.Model == model && r.Cell.Class == d).Select(r => 100 * r.PairAuroc[score][e]).Where(double.IsFinite)];
                table[d, e] = values.Length > 0 ? values.Average() : double.NaN;
            }
        return table;
    }

    public static string ConfusionMarkdown(double[,] table, string title, IReadOnlyList<string>? heads = null)
    {
        int classes = table.GetLength(0);
        heads ??= [.. Enumerable.Range(0, classes).Select(e => e.ToString(CultureInfo.InvariantCulture))];
        var md = new StringBuilder($"{title}\n\n| normal \\ other |");
        for (int e = 0; e < classes; e++) md.Append(' ').Append(heads[e]).Append(" |");
        md.Append("\n|---|");
        for (int e = 0; e < classes; e++) md.Append("---:|");
        md.Append('\n');
        for (int d = 0; d < classes; d++)
        {
            if (Enumerable.Range(0, classes).All(e => !double.IsFinite(table[d, e]))) continue;
            md.Append("| ").Append(heads[d]).Append(" |");
            for (int e = 0; e < classes; e++) md.Append(' ').Append(d == e ? "" : F(table[d, e])).Append(" |");
            md.Append('\n');
        }
        return md.ToString();
    }

    /// <summary>
    /// A class's label under its group of bars: "digit 3", "class scratch"; in a group too narrow for that (about 7 px a
    /// character at 12 px; 26 classes leave 40 px each) the class alone, cut to fit, so that labels never run into each
    /// other. The table below the chart has the full names.
    /// </summary>
    public static string GroupLabel(string noun, string head, double groupWidth)
    {
        int fits = Math.Max(1, (int)((groupWidth - 4) / 7));
        string full = $"{noun} {head}";
        if (full.Length <= fits) return full;
        int keep = Math.Max(2, fits);
        return head.Length <= keep ? head : head[..(keep - 1)] + "…";
    }

    /// <summary>
    /// The AUROC axis' step from <paramref name="lo"/> to 100: 1, 2, 5, 10 or 20, the smallest that draws at most ten
    /// lines (MNIST's 85-100: every 2; a run on the user's data with an AUROC near 0: every 10, where a step of 2 drew
    /// fifty labels on top of each other).
    /// </summary>
    public static double AxisStep(double lo) => new[] { 1.0, 2, 5, 10 }.FirstOrDefault(s => (100 - lo) / s <= 10, 20);

    /// <summary>One self-contained page: what ran, the table and, per class, a bar per row (ours, and where they apply earlier and published).</summary>
    public static string Html(BenchmarkGrid grid, IReadOnlyList<BenchmarkRow> rows, string markdownNote, IReadOnlyList<CellResult>? results = null)
    {
        int classes = grid.Data.ClassNames.Count;
        string[] heads = Heads(grid);
        BenchmarkRow[] shown = [.. All(grid, rows).Where(r => r.Classes.Any(double.IsFinite))];
        // Tableau's 20 categorical colours, the ten strong ones first: four scores of three models and the reference rows
        // (15 bars a group) each get their own colour.
        string[] colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
            "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"];
        double lo = Math.Floor(Math.Min(85, shown.SelectMany(r => r.Classes).Where(double.IsFinite).DefaultIfEmpty(85).Min()));
        const double width = 1100, height = 360, left = 50, bottom = 40, top = 20;
        double groupWidth = (width - left - 10) / classes, barWidth = Math.Max(2, (groupWidth - 8) / Math.Max(1, shown.Length));
        double Y(double v) => top + (height - top - bottom) * (100 - v) / (100 - lo);
        string noun = grid.Data.ClassNoun;
        var svg = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        double step = AxisStep(lo);
        for (double t = Math.Ceiling(lo / step) * step; t <= 100; t += step)
            svg.Append(string.Create(CultureInfo.InvariantCulture,
                $"<line x1=\"{left}\" x2=\"{width - 10}\" y1=\"{Y(t):F1}\" y2=\"{Y(t):F1}\" stroke=\"#ddd\"/><text x=\"{left - 6}\" y=\"{Y(t) + 4:F1}\" text-anchor=\"end\">{t:F0}</text>"));
        for (int d = 0; d < classes; d++)
        {
            double x0 = left + d * groupWidth + 4;
            for (int i = 0; i < shown.Length; i++)
            {
                double v = shown[i].Classes[d];
                if (!double.IsFinite(v)) continue;
                double y = Y(Math.Max(v, lo));
                svg.Append(string.Create(CultureInfo.InvariantCulture,
                    $"<rect x=\"{x0 + i * barWidth:F1}\" y=\"{y:F1}\" width=\"{barWidth - 1:F1}\" height=\"{height - bottom - y:F1}\" fill=\"{colours[i % colours.Length]}\"><title>{WebUtility.HtmlEncode(Label(shown[i]))} ({shown[i].Score}), {noun} {WebUtility.HtmlEncode(heads[d])}: {v:F2}</title></rect>"));
            }
            svg.Append(string.Create(CultureInfo.InvariantCulture, $"<text x=\"{x0 + groupWidth / 2 - 4:F1}\" y=\"{height - bottom + 16}\" text-anchor=\"middle\">{WebUtility.HtmlEncode(GroupLabel(noun, heads[d], groupWidth))}</text>"));
        }
        svg.Append("</svg>");
        var legend = new StringBuilder("<ul class=\"legend\">");
        for (int i = 0; i < shown.Length; i++)
            legend.Append(CultureInfo.InvariantCulture,
                $"<li><span style=\"background:{colours[i % colours.Length]}\"></span>{WebUtility.HtmlEncode(Label(shown[i]))}{(shown[i].Score.Length > 0 ? " — " + WebUtility.HtmlEncode(shown[i].Score) : "")}: mean {WebUtility.HtmlEncode(MeanText(grid, shown[i]))}</li>");
        legend.Append("</ul>");
        var table = new StringBuilder("<table><tr><th>model</th><th>score</th>");
        foreach (string head in heads) table.Append("<th>").Append(WebUtility.HtmlEncode(head)).Append("</th>");
        table.Append("<th>mean ± std over seeds</th><th>s per run</th></tr>");
        foreach (BenchmarkRow r in All(grid, rows))
        {
            table.Append("<tr><td>").Append(WebUtility.HtmlEncode(Label(r))).Append("</td><td>").Append(WebUtility.HtmlEncode(r.Score)).Append("</td>");
            foreach (double v in r.Classes) table.Append("<td>").Append(F(v)).Append("</td>");
            table.Append("<td>").Append(WebUtility.HtmlEncode(MeanText(grid, r))).Append("</td><td>").Append(F(r.SecondsPerRun)).Append("</td></tr>");
        }
        table.Append("</table>");
        string description = string.Concat(Description(grid).Select(l => $"<p>{WebUtility.HtmlEncode(l)}</p>"));
        IReadOnlyList<string> notCounted = results is null ? [] : NotCounted(results);
        string notCountedHtml = notCounted.Count == 0 ? "" : "<p>Not counted:</p><ul>" + string.Concat(notCounted.Select(l => $"<li>{WebUtility.HtmlEncode(l)}</li>")) + "</ul>";
        string title = grid.ReferencesApply ? "AeMnist benchmark: one-class MNIST AUROC" : $"AeMnist benchmark: one-class AUROC on {Path.GetFileName(grid.Data.Path.TrimEnd('/'))}";
        string heading = grid.ReferencesApply ? "One-class MNIST: AUROC per normal digit (%)"
            : $"{(grid.Protocol == SplitProtocol.OneClass ? "One-class" : "Seed protocol")} benchmark on {Path.GetFileName(grid.Data.Path.TrimEnd('/'))}: AUROC per normal {noun} (%)";
        return $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{WebUtility.HtmlEncode(title)}</title>
            <style>body{"{"}font-family:sans-serif;margin:24px;max-width:1200px{"}"} table{"{"}border-collapse:collapse;font-size:13px{"}"}
            td,th{"{"}border:1px solid #ccc;padding:3px 6px;text-align:right{"}"} td:first-child,th:first-child{"{"}text-align:left{"}"}
            .legend{"{"}list-style:none;padding:0;font-size:13px{"}"} .legend span{"{"}display:inline-block;width:12px;height:12px;margin-right:6px{"}"}</style></head>
            <body><h1>{WebUtility.HtmlEncode(heading)}</h1>
            {description}
            {svg}
            {legend}
            {table}
            {notCountedHtml}
            <p>{WebUtility.HtmlEncode(markdownNote)}</p>
            </body></html>
            """;
    }

    /// <summary>Writes benchmark.md, .csv, .json and .html into the grid's directory; returns their paths.</summary>
    public static IReadOnlyList<string> WriteAll(BenchmarkGrid grid, IReadOnlyList<CellResult> results, double? wallSeconds, string command)
    {
        IReadOnlyList<BenchmarkRow> rows = Rows(grid, results);
        Directory.CreateDirectory(grid.OutputDirectory);
        string note = $"Regenerate with: {command}";
        var md = new StringBuilder("# AeMnist benchmark\n\n").Append(Markdown(grid, rows)).Append('\n');
        foreach (string line in Description(grid)) md.Append(line).Append("\n\n");
        IReadOnlyList<string> notCounted = NotCounted(results);
        if (notCounted.Count > 0) md.Append("Not counted:\n\n").Append(string.Concat(notCounted.Select(l => $"- {Md(l)}\n"))).Append('\n');
        md.Append(note).Append("\n\n");
        string[] heads = grid.Data.IsMnist ? [.. Heads(grid)] : [.. Heads(grid).Select(Md)];
        string noun = grid.Data.ClassNoun;
        foreach (BenchmarkModel model in grid.Models)
            foreach (ScoreKind score in grid.Scores)
                if (results.Any(r => r.Cell.Model == model && r.IsFinished))
                    md.Append(ConfusionMarkdown(Confusions(results, model, score, grid.Data.ClassNames.Count),
                        $"AUROC of the normal {noun} against each other {noun} alone: `{model.Text}`, {Scores.Name(score)}", heads)).Append('\n');
        string[] paths = [.. new[] { "benchmark.md", "benchmark.csv", "benchmark.json", "benchmark.html" }.Select(n => Path.Combine(grid.OutputDirectory, n))];
        AtomicFile.WriteAllText(paths[0], md.ToString());
        AtomicFile.WriteAllText(paths[1], Csv(grid, results));
        JsonObject json = Json(grid, rows, results, wallSeconds);
        json["command"] = command;
        AtomicFile.WriteAllText(paths[2], json.ToJsonString(RunRecord.JsonOptions));
        AtomicFile.WriteAllText(paths[3], Html(grid, rows, note, results));
        return paths;
    }
}
