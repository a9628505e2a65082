// The benchmark's tables: per model configuration and score, the AUROC of every normal digit (mean over seeds), the
// mean over digits ± its standard deviation over seeds, and the training time per run, beside published rows and our
// earlier ones. Written as a terminal table, Markdown, CSV (one line per cell and score), JSON and one HTML page with
// per-digit bars (inline SVG, no scripts).
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AeMnist.IO;
using AeMnist.Runs;
using AeMnist.Scoring;

namespace AeMnist.Benchmarking;

/// <summary>
/// One row: per-digit AUROC in percent (NaN where no cell finished), the mean over the digits, the standard deviation
/// over seeds of that mean (sample std; NaN with fewer than two complete seeds), the mean of the per-digit standard
/// deviations over seeds, seconds per training run, and how many cells it holds.
/// </summary>
public sealed record BenchmarkRow(string Name, string Score, double[] Digits, double Mean, double SeedStd, double DigitSeedStd, double SecondsPerRun, int Cells, string Kind)
{
    public bool IsOurs => Kind == "this run";
}

public static class BenchmarkReport
{
    /// <summary>Rows from the literature on the same protocol, AUROC in percent per digit 0-9.</summary>
    public static IReadOnlyList<BenchmarkRow> Published { get; } =
    [
        Fixed("One-Class Deep SVDD (Ruff et al. 2018)", [98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5], "published"),
    ];

    /// <summary>Our rows measured before this benchmark (issue 14): the tutorial's models and the PyTorch prototype.</summary>
    public static IReadOnlyList<BenchmarkRow> Earlier { get; } =
    [
        Fixed("tutorial dense AutoEncoder(784, 64, 32), aemnist train + evaluate, seeds 1-3", [98.8, 99.8, 89.0, 91.6, 94.3, 93.6, 96.9, 95.8, 84.1, 95.3], "earlier", "mse", seedStd: 0.3),
        Fixed("PyTorch prototype: conv latent 16 + batch norm, 1-SSIM, seed 0 (variant picked on test digits 2, 5, 8)", [99.7, 99.9, 96.9, 96.8, 96.3, 96.5, 98.4, 97.4, 96.3, 97.7], "earlier", "ssim"),
    ];

    private static BenchmarkRow Fixed(string name, double[] digits, string kind, string score = "", double seedStd = double.NaN) =>
        new(name, score, digits, digits.Average(), seedStd, double.NaN, double.NaN, 0, kind);

    /// <summary>Our rows, one per model configuration and score, in grid order.</summary>
    public static IReadOnlyList<BenchmarkRow> Rows(BenchmarkGrid grid, IReadOnlyList<CellResult> results)
    {
        var rows = new List<BenchmarkRow>();
        foreach (BenchmarkModel model in grid.Models)
            foreach (ScoreKind score in grid.Scores)
            {
                CellResult[] mine = [.. results.Where(r => r.Cell.Model == model)];
                var digits = new double[10];
                var digitStds = new List<double>();
                for (int d = 0; d < 10; d++)
                {
                    double[] values = [.. mine.Where(r => r.Cell.Digit == d).Select(r => 100 * r.Auroc[score])];
                    digits[d] = values.Length > 0 ? values.Average() : double.NaN;
                    if (values.Length > 1) digitStds.Add(SampleStd(values));
                }
                // The mean over the grid's digits for each seed that finished all of them, then their spread.
                double[] seedMeans = [.. grid.Seeds
                    .Select(s => mine.Where(r => r.Cell.Seed == s).ToArray())
                    .Where(c => grid.Digits.All(d => c.Any(r => r.Cell.Digit == d)))
                    .Select(c => c.Average(r => 100 * r.Auroc[score]))];
                double[] present = [.. grid.Digits.Select(d => digits[d]).Where(double.IsFinite)];
                rows.Add(new BenchmarkRow(model.Text, Scores.Name(score), digits, present.Length > 0 ? present.Average() : double.NaN,
                    seedMeans.Length > 1 ? SampleStd(seedMeans) : double.NaN, digitStds.Count > 0 ? digitStds.Average() : double.NaN,
                    mine.Length > 0 ? mine.Select(r => r.TrainSeconds).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average() : double.NaN,
                    mine.Length, "this run"));
            }
        return rows;
    }

    /// <summary>Our row with the highest mean (complete rows first), or null.</summary>
    public static BenchmarkRow? Best(IReadOnlyList<BenchmarkRow> rows) =>
        rows.Where(r => r.IsOurs && double.IsFinite(r.Mean)).OrderByDescending(r => r.Cells).ThenByDescending(r => r.Mean).FirstOrDefault();

    private static double SampleStd(double[] values)
    {
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }

    private static string F(double value, string format = "F1") => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "–";

    private static string MeanText(BenchmarkRow r) => double.IsFinite(r.SeedStd) ? $"{F(r.Mean, "F2")} ± {F(r.SeedStd, "F2")}" : F(r.Mean, "F2");

    private static IEnumerable<BenchmarkRow> All(IReadOnlyList<BenchmarkRow> rows) => rows.Concat(Earlier).Concat(Published);

    /// <summary>A fixed-width table for the terminal.</summary>
    public static string TerminalTable(BenchmarkGrid grid, IReadOnlyList<BenchmarkRow> rows)
    {
        var text = new StringBuilder();
        int nameWidth = Math.Min(48, All(rows).Max(r => Label(r).Length));
        text.Append("model".PadRight(nameWidth)).Append("  score   ");
        for (int d = 0; d < 10; d++) text.Append(CultureInfo.InvariantCulture, $"{d,6}");
        text.Append("   mean ± std(seeds)   s/run\n");
        foreach (BenchmarkRow r in All(rows))
        {
            string label = Label(r);
            if (label.Length > nameWidth) label = label[..(nameWidth - 1)] + "…";
            text.Append(label.PadRight(nameWidth)).Append("  ").Append(r.Score.PadRight(8));
            foreach (double v in r.Digits) text.Append(F(v).PadLeft(6));
            text.Append("   ").Append(MeanText(r).PadRight(18)).Append(F(r.SecondsPerRun).PadLeft(6)).Append('\n');
        }
        return text.ToString();
    }

    private static string Label(BenchmarkRow r) => r.IsOurs ? r.Name : $"[{r.Kind}] {r.Name}";

    /// <summary>The Markdown table (docs/results.md embeds it).</summary>
    public static string Markdown(BenchmarkGrid grid, IReadOnlyList<BenchmarkRow> rows)
    {
        var md = new StringBuilder();
        md.Append("| model | score |");
        for (int d = 0; d < 10; d++) md.Append(CultureInfo.InvariantCulture, $" {d} |");
        md.Append(" mean ± std over seeds | s per run | runs |\n|---|---|");
        for (int d = 0; d < 10; d++) md.Append("---:|");
        md.Append("---:|---:|---:|\n");
        BenchmarkRow? best = Best(rows);
        foreach (BenchmarkRow r in All(rows))
        {
            string name = r.IsOurs ? $"`{r.Name}`" : $"{r.Name} ({r.Kind})";
            bool bold = ReferenceEquals(r, best);
            md.Append("| ").Append(name).Append(" | ").Append(r.Score).Append(" |");
            foreach (double v in r.Digits) md.Append(' ').Append(F(v)).Append(" |");
            md.Append(' ').Append(bold ? $"**{MeanText(r)}**" : MeanText(r)).Append(" | ").Append(F(r.SecondsPerRun)).Append(" | ")
                .Append(r.IsOurs ? r.Cells.ToString(CultureInfo.InvariantCulture) : "").Append(" |\n");
        }
        return md.ToString();
    }

    /// <summary>One line per cell and score.</summary>
    public static string Csv(IReadOnlyList<CellResult> results)
    {
        var csv = new StringBuilder("model,score,digit,seed,auroc,train_seconds,epochs_run,best_epoch,constant_output\n");
        foreach (CellResult r in results)
            foreach ((ScoreKind score, double auroc) in r.Auroc)
                csv.Append(CultureInfo.InvariantCulture,
                    $"\"{r.Cell.Model.Text.Replace("\"", "\"\"")}\",{Scores.Name(score)},{r.Cell.Digit},{r.Cell.Seed},{auroc:R},{r.TrainSeconds:R},{r.Epochs},{r.BestEpoch},{(r.ConstantOutput ? 1 : 0)}\n");
        return csv.ToString();
    }

    public static JsonObject Json(BenchmarkGrid grid, IReadOnlyList<BenchmarkRow> rows, IReadOnlyList<CellResult> results, double wallSeconds)
    {
        static JsonNode? N(double v) => double.IsFinite(v) ? v : null;
        JsonObject Row(BenchmarkRow r) => new()
        {
            ["model"] = r.Name,
            ["kind"] = r.Kind,
            ["score"] = r.Score,
            ["auroc_percent_by_digit"] = new JsonArray([.. r.Digits.Select(N)]),
            ["mean"] = N(r.Mean),
            ["std_over_seeds"] = N(r.SeedStd),
            ["mean_per_digit_std_over_seeds"] = N(r.DigitSeedStd),
            ["seconds_per_run"] = N(r.SecondsPerRun),
            ["cells"] = r.Cells,
        };
        BenchmarkRow? best = Best(rows);
        return new JsonObject
        {
            ["protocol"] = Data.SplitOptions.ProtocolName(grid.Protocol),
            ["digits"] = new JsonArray([.. grid.Digits.Select(d => (JsonNode)d)]),
            ["seeds"] = new JsonArray([.. grid.Seeds.Select(s => (JsonNode)s)]),
            ["models"] = new JsonArray([.. grid.Models.Select(m => (JsonNode)new JsonObject { ["model"] = m.Text, ["configuration"] = m.ToJson() })]),
            ["scores"] = new JsonArray([.. grid.Scores.Select(s => (JsonNode)Scores.Name(s))]),
            ["rows"] = new JsonArray([.. rows.Select(r => (JsonNode)Row(r))]),
            ["best"] = best is null ? null : Row(best),
            ["reference_rows"] = new JsonArray([.. Earlier.Concat(Published).Select(r => (JsonNode)Row(r))]),
            ["cells_finished"] = results.Count,
            ["cells_total"] = grid.Cells.Count(),
            ["wall_seconds"] = wallSeconds,
            ["aemnist_version"] = Models.ModelFile.ToolVersion,
            ["machine"] = RunRecord.MachineJson(),
        };
    }

    /// <summary>
    /// The AUROC of the normal digit against each other digit alone, for one row (mean over seeds): where the row's
    /// remaining error is. Rows: normal digit; columns: the other digit.
    /// </summary>
    public static double[,] Confusions(IReadOnlyList<CellResult> results, BenchmarkModel model, ScoreKind score)
    {
        var table = new double[10, 10];
        for (int d = 0; d < 10; d++)
            for (int e = 0; e < 10; e++)
            {
                double[] values = [.. results.Where(r => r.Cell.Model == model && r.Cell.Digit == d).Select(r => 100 * r.PairAuroc[score][e]).Where(double.IsFinite)];
                table[d, e] = values.Length > 0 ? values.Average() : double.NaN;
            }
        return table;
    }

    public static string ConfusionMarkdown(double[,] table, string title)
    {
        var md = new StringBuilder($"{title}\n\n| normal \\ other |");
        for (int e = 0; e < 10; e++) md.Append(CultureInfo.InvariantCulture, $" {e} |");
        md.Append("\n|---|");
        for (int e = 0; e < 10; e++) md.Append("---:|");
        md.Append('\n');
        for (int d = 0; d < 10; d++)
        {
            if (Enumerable.Range(0, 10).All(e => !double.IsFinite(table[d, e]))) continue;
            md.Append(CultureInfo.InvariantCulture, $"| {d} |");
            for (int e = 0; e < 10; e++) md.Append(' ').Append(d == e ? "" : F(table[d, e])).Append(" |");
            md.Append('\n');
        }
        return md.ToString();
    }

    /// <summary>One self-contained page: the table and, per digit, a bar per row (ours, earlier, published).</summary>
    public static string Html(BenchmarkGrid grid, IReadOnlyList<BenchmarkRow> rows, string markdownNote)
    {
        BenchmarkRow[] shown = [.. All(rows).Where(r => r.Digits.Any(double.IsFinite))];
        string[] colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
        double lo = Math.Floor(Math.Min(85, shown.SelectMany(r => r.Digits).Where(double.IsFinite).DefaultIfEmpty(85).Min()));
        const double width = 1100, height = 360, left = 50, bottom = 40, top = 20;
        double groupWidth = (width - left - 10) / 10, barWidth = Math.Max(2, (groupWidth - 8) / Math.Max(1, shown.Length));
        double Y(double v) => top + (height - top - bottom) * (100 - v) / (100 - lo);
        var svg = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        for (double t = Math.Ceiling(lo); t <= 100; t += (100 - lo) > 8 ? 2 : 1)
            svg.Append(string.Create(CultureInfo.InvariantCulture,
                $"<line x1=\"{left}\" x2=\"{width - 10}\" y1=\"{Y(t):F1}\" y2=\"{Y(t):F1}\" stroke=\"#ddd\"/><text x=\"{left - 6}\" y=\"{Y(t) + 4:F1}\" text-anchor=\"end\">{t:F0}</text>"));
        for (int d = 0; d < 10; d++)
        {
            double x0 = left + d * groupWidth + 4;
            for (int i = 0; i < shown.Length; i++)
            {
                double v = shown[i].Digits[d];
                if (!double.IsFinite(v)) continue;
                double y = Y(Math.Max(v, lo));
                svg.Append(string.Create(CultureInfo.InvariantCulture,
                    $"<rect x=\"{x0 + i * barWidth:F1}\" y=\"{y:F1}\" width=\"{barWidth - 1:F1}\" height=\"{height - bottom - y:F1}\" fill=\"{colours[i % colours.Length]}\"><title>{WebUtility.HtmlEncode(Label(shown[i]))} ({shown[i].Score}), digit {d}: {v:F2}</title></rect>"));
            }
            svg.Append(string.Create(CultureInfo.InvariantCulture, $"<text x=\"{x0 + groupWidth / 2 - 4:F1}\" y=\"{height - bottom + 16}\" text-anchor=\"middle\">digit {d}</text>"));
        }
        svg.Append("</svg>");
        var legend = new StringBuilder("<ul class=\"legend\">");
        for (int i = 0; i < shown.Length; i++)
            legend.Append(CultureInfo.InvariantCulture,
                $"<li><span style=\"background:{colours[i % colours.Length]}\"></span>{WebUtility.HtmlEncode(Label(shown[i]))}{(shown[i].Score.Length > 0 ? " — " + WebUtility.HtmlEncode(shown[i].Score) : "")}: mean {WebUtility.HtmlEncode(MeanText(shown[i]))}</li>");
        legend.Append("</ul>");
        var table = new StringBuilder("<table><tr><th>model</th><th>score</th>");
        for (int d = 0; d < 10; d++) table.Append(CultureInfo.InvariantCulture, $"<th>{d}</th>");
        table.Append("<th>mean ± std over seeds</th><th>s per run</th></tr>");
        foreach (BenchmarkRow r in All(rows))
        {
            table.Append("<tr><td>").Append(WebUtility.HtmlEncode(Label(r))).Append("</td><td>").Append(WebUtility.HtmlEncode(r.Score)).Append("</td>");
            foreach (double v in r.Digits) table.Append("<td>").Append(F(v)).Append("</td>");
            table.Append("<td>").Append(WebUtility.HtmlEncode(MeanText(r))).Append("</td><td>").Append(F(r.SecondsPerRun)).Append("</td></tr>");
        }
        table.Append("</table>");
        string seeds = string.Join(", ", grid.Seeds), digits = string.Join(", ", grid.Digits);
        return $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>AeMnist benchmark: one-class MNIST AUROC</title>
            <style>body{"{"}font-family:sans-serif;margin:24px;max-width:1200px{"}"} table{"{"}border-collapse:collapse;font-size:13px{"}"}
            td,th{"{"}border:1px solid #ccc;padding:3px 6px;text-align:right{"}"} td:first-child,th:first-child{"{"}text-align:left{"}"}
            .legend{"{"}list-style:none;padding:0;font-size:13px{"}"} .legend span{"{"}display:inline-block;width:12px;height:12px;margin-right:6px{"}"}</style></head>
            <body><h1>One-class MNIST: AUROC per normal digit (%)</h1>
            <p>Protocol {WebUtility.HtmlEncode(Data.SplitOptions.ProtocolName(grid.Protocol))}: {(grid.Protocol == Data.SplitProtocol.Development ? "train on the first five sixths of one digit's training images, test on the last sixth of every digit's (the test file unused)" : "train on the training images of one digit, test on the whole test set")}; digits {digits}; seeds {seeds}. Mean over digits ± the standard deviation over seeds of that mean.</p>
            {svg}
            {legend}
            {table}
            <p>{WebUtility.HtmlEncode(markdownNote)}</p>
            </body></html>
            """;
    }

    /// <summary>Writes benchmark.md, .csv, .json and .html into the grid's directory; returns their paths.</summary>
    public static IReadOnlyList<string> WriteAll(BenchmarkGrid grid, IReadOnlyList<CellResult> results, double wallSeconds, string command)
    {
        IReadOnlyList<BenchmarkRow> rows = Rows(grid, results);
        Directory.CreateDirectory(grid.OutputDirectory);
        string note = $"Regenerate with: {command}";
        var md = new StringBuilder("# AeMnist benchmark\n\n").Append(Markdown(grid, rows)).Append('\n').Append(note).Append("\n\n");
        foreach (BenchmarkModel model in grid.Models)
            foreach (ScoreKind score in grid.Scores)
                if (results.Any(r => r.Cell.Model == model))
                    md.Append(ConfusionMarkdown(Confusions(results, model, score), $"AUROC of the normal digit against each other digit alone: `{model.Text}`, {Scores.Name(score)}")).Append('\n');
        string[] paths = [.. new[] { "benchmark.md", "benchmark.csv", "benchmark.json", "benchmark.html" }.Select(n => Path.Combine(grid.OutputDirectory, n))];
        AtomicFile.WriteAllText(paths[0], md.ToString());
        AtomicFile.WriteAllText(paths[1], Csv(results));
        JsonObject json = Json(grid, rows, results, wallSeconds);
        json["command"] = command;
        AtomicFile.WriteAllText(paths[2], json.ToJsonString(RunRecord.JsonOptions));
        AtomicFile.WriteAllText(paths[3], Html(grid, rows, note));
        return paths;
    }
}
