// `aemnist score`: reconstruction error and anomaly flag of each input image, as CSV.
using System.CommandLine;
using System.Globalization;
using System.Text;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.IO;
using AeMnist.Training;

namespace AeMnist.Cli.Commands;

internal static class ScoreCommand
{
    public static Command Build()
    {
        var model = new ModelOptions();
        var input = SharedOptions.PathOption(new Option<string[]>("--input", "-i")
        {
            Description = "Images to score: IDX image files (raw or .gz), CSV files of 784 pixel values 0-255 per row, 28x28 PNG files, or directories of PNGs",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            HelpName = "PATH",
        });
        var outputPath = SharedOptions.PathOption(new Option<string?>("--output", "-o") { Description = "CSV file to write ('-' for stdout) [default: stdout]", HelpName = "FILE" });
        var threshold = SharedOptions.OptionalDouble("--threshold", "Anomaly threshold on the error [default: the model's stored threshold]", "X");
        var quiet = SharedOptions.Quiet();
        var command = new Command("score", "Score images by reconstruction error and flag anomalies (CSV: index,source,error,anomaly)") { input, outputPath, threshold, quiet };
        foreach (Option o in model.All) command.Add(o);

        command.SetAction(parse =>
        {
            double? given = parse.GetValue(threshold);
            if (given is { } t && !(double.IsFinite(t) && t >= 0))
                throw new UsageException($"--threshold must be a number 0 or more, got {t}");
            string[] inputs = parse.GetValue(input)!;
            string? path = parse.GetValue(outputPath);
            if (path is not null) OutputFiles.Check("--output", path, inputs);
            RunDirectory? run = model.FindRun(parse);
            using LoadedModel loaded = model.Load(parse, run);
            IEngineModel autoEncoder = loaded.Model;
            double limit = given ?? loaded.Metadata.Threshold
                ?? throw new UsageException($"{Path.GetFileName(loaded.ModelPath)} stores no threshold; pass --threshold X");
            ImageBatch batch = ImageInputs.Read(inputs);
            var errors = new float[batch.Count];
            // A warm-up pass over a few images compiles the engine's code first, so the rate printed below is the
            // steady-state throughput (the figure docs/benchmarks.md reports), not the JIT's start-up.
            int warm = Math.Min(batch.Count, 256);
            autoEncoder.ReconstructionErrors(batch.Pixels.AsSpan(0, warm * autoEncoder.Spec.Input.Length), warm, errors.AsSpan(0, warm));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            autoEncoder.ReconstructionErrors(batch.Pixels, batch.Count, errors);
            double seconds = clock.Elapsed.TotalSeconds;
            ModelHealth.CheckFinite(errors, loaded.ModelPath, i => batch.Sources[i]);

            var warnings = new Warnings(parse.InvocationConfiguration.Error);
            if (loaded.RecordedCollapsed || ModelHealth.IsConstant(autoEncoder, batch.Pixels, batch.Count))
                warnings.Add(ModelHealth.CollapseWarning(loaded.ModelPath));
            int flagged = errors.Count(e => e >= limit);
            if (batch.Count > 1 && Warnings.Threshold(flagged, batch.Count, limit, errors.Min(), errors.Max(), "images",
                    "if that is not what you expect, choose a threshold inside that range with --threshold X") is { } useless)
                warnings.Add(useless);

            var csv = new StringBuilder("index,source,error,anomaly\n");
            for (int i = 0; i < batch.Count; i++)
                csv.Append(CultureInfo.InvariantCulture, $"{i},{Csv(batch.Sources[i])},{errors[i]:R},{(errors[i] >= limit ? 1 : 0)}\n");
            if (path is null) parse.InvocationConfiguration.Output.Write(csv.ToString());
            else OutputFiles.WriteText(parse, path, csv.ToString());
            if (!parse.GetValue(quiet))
            {
                bool toFile = path is not null && !OutputFiles.IsStdout(path);
                // On stderr, so that stdout stays pure CSV when no --output is given.
                parse.InvocationConfiguration.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Scored {batch.Count} images in {seconds:F3}s ({batch.Count / Math.Max(seconds, 1e-9):F0} images/s); {flagged} flagged as anomalies at threshold {limit:G6}{(toFile ? "; wrote " + path : "")}"));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
}
