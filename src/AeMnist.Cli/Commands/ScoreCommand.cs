// `aemnist score`: reconstruction error and anomaly flag of each input image, as CSV.
using System.CommandLine;
using System.Globalization;
using System.Text;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Evaluation;
using AeMnist.IO;

namespace AeMnist.Cli.Commands;

internal static class ScoreCommand
{
    public static Command Build()
    {
        var model = new ModelOptions();
        var input = new Option<string[]>("--input", "-i")
        {
            Description = "Images to score: IDX image files (raw or .gz), CSV files of 784 pixel values 0-255 per row, 28x28 PNG files, or directories of PNGs",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            HelpName = "PATH",
        };
        var outputPath = new Option<string?>("--output", "-o") { Description = "CSV file to write [default: stdout]", HelpName = "FILE" };
        var threshold = new Option<double?>("--threshold") { Description = "Anomaly threshold on the error [default: the model's stored threshold]", HelpName = "X" };
        var score = new SharedOptions.ScoreOption();
        var quiet = SharedOptions.Quiet();
        var command = new Command("score", "Score images by reconstruction error and flag anomalies (CSV: index,source,error,anomaly)") { input, outputPath, threshold, score.Option, quiet };
        foreach (Option o in model.All) command.Add(o);

        command.SetAction(parse =>
        {
            double? given = parse.GetValue(threshold);
            if (given is { } t && !(double.IsFinite(t) && t >= 0))
                throw new UsageException($"--threshold must be a number 0 or more, got {t}");
            ScoreKind? asked = score.Read(parse);
            using LoadedModel loaded = model.Load(parse);
            IEngineModel autoEncoder = loaded.Model;
            ScoreKind stored = loaded.Metadata.Score ?? ScoreKind.Mse, kind = asked ?? stored;
            if (given is null && kind != stored && loaded.Metadata.Threshold is not null)
                throw new UsageException($"{Path.GetFileName(loaded.ModelPath)} stores a threshold for the {AnomalyScore.Name(stored)} score, not {AnomalyScore.Name(kind)}; pass --threshold X");
            double limit = given ?? loaded.Metadata.Threshold
                ?? throw new UsageException($"{Path.GetFileName(loaded.ModelPath)} stores no threshold; pass --threshold X");
            ImageBatch batch = ImageInputs.Read(parse.GetValue(input)!);
            var errors = new float[batch.Count];
            // A warm-up pass over a few images compiles the engine's code first, so the rate printed below is the
            // steady-state throughput (the figure docs/benchmarks.md reports), not the JIT's start-up.
            int warm = Math.Min(batch.Count, 256);
            AnomalyScore.Compute(autoEncoder, kind, batch.Pixels.AsSpan(0, warm * autoEncoder.Spec.Input.Length), warm, errors.AsSpan(0, warm));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            AnomalyScore.Compute(autoEncoder, kind, batch.Pixels, batch.Count, errors);
            double seconds = clock.Elapsed.TotalSeconds;

            var csv = new StringBuilder("index,source,error,anomaly\n");
            for (int i = 0; i < batch.Count; i++)
                csv.Append(CultureInfo.InvariantCulture, $"{i},{Csv(batch.Sources[i])},{errors[i]:R},{(errors[i] >= limit ? 1 : 0)}\n");
            string? path = parse.GetValue(outputPath);
            if (path is null) parse.InvocationConfiguration.Output.Write(csv.ToString());
            else AtomicFile.WriteAllText(path, csv.ToString());
            if (!parse.GetValue(quiet))
            {
                int flagged = errors.Count(e => e >= limit);
                // On stderr, so that stdout stays pure CSV when no --output is given.
                parse.InvocationConfiguration.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Scored {batch.Count} images in {seconds:F3}s ({batch.Count / Math.Max(seconds, 1e-9):F0} images/s); {flagged} flagged as anomalies at threshold {limit:G6}{(path is null ? "" : "; wrote " + path)}"));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
}
