// `aemnist encode`: the latent codes (the encoder's output, the tutorial's get_codes) of any images, as CSV or .npy.
using System.CommandLine;
using System.Globalization;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Runs;

namespace AeMnist.Cli.Commands;

internal static class EncodeCommand
{
    public static Command Build()
    {
        var model = new ModelOptions();
        var inputs = new InputOptions(labelled: false);
        var outputPath = SharedOptions.PathOption(new Option<string?>("--output", "-o") { Description = "File to write ('-' for stdout) [default: CSV on stdout]; a name ending in .npy selects --format npy", HelpName = "FILE" });
        var format = new Option<string?>("--format") { Description = "csv (index,source,z0,z1,...) or npy (NumPy .npy, float32, shape (N, latent...)) [default: from the --output name, else csv]", HelpName = "csv|npy" };
        var quiet = SharedOptions.Quiet();
        var command = new Command("encode", "Write the latent codes (encoder outputs) of images as CSV or NumPy .npy") { outputPath, format, quiet };
        foreach (Option o in inputs.All) command.Add(o);
        foreach (Option o in model.All) command.Add(o);

        command.SetAction(parse =>
        {
            string? path = parse.GetValue(outputPath);
            string kind = parse.GetValue(format)?.Trim().ToLowerInvariant()
                ?? (path is not null && path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) ? "npy" : "csv");
            if (kind is not ("csv" or "npy")) throw new UsageException($"--format {MessageText.Quote(parse.GetValue(format)!, 40)} is not a format; use csv or npy");
            if (kind == "npy" && (path is null || OutputFiles.IsStdout(path))) throw new UsageException("--format npy writes binary; give --output FILE.npy");
            if (path is not null) OutputFiles.Check("--output", path, parse.GetValue(inputs.Input)!);
            RunDirectory? run = model.FindRun(parse);
            using LoadedModel loaded = model.Load(parse, run);
            ImageBatch batch = inputs.Read(parse, loaded.Metadata);
            SampleShape latent = loaded.Model.Spec.Latent;
            var codes = new float[batch.Count * latent.Length];
            loaded.Model.Encode(batch.Pixels, batch.Count, codes);
            if (ModelHealth.FirstNonFinite(codes) is var bad and >= 0)
                throw new DataFormatException($"{loaded.ModelPath}: the model gives a latent value of {codes[bad]} for {batch.Sources[bad / latent.Length]}; its weights overflow (retrain it)");
            if (kind == "npy")
                AtomicFile.Write(path!, stream => stream.Write(LatentCodes.Npy(codes,
                    latent.IsVector ? [batch.Count, latent.C] : [batch.Count, latent.C, latent.H, latent.W])));
            else if (path is null)
                parse.InvocationConfiguration.Output.Write(LatentCodes.Csv(codes, batch.Count, latent.Length, batch.Sources));
            else
                OutputFiles.WriteText(parse, path, LatentCodes.Csv(codes, batch.Count, latent.Length, batch.Sources));
            if (!parse.GetValue(quiet))
                parse.InvocationConfiguration.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Encoded {batch.Count} images into {latent.Length}-value codes {latent}{(path is null || OutputFiles.IsStdout(path) ? "" : "; wrote " + path)}"));
            inputs.AddWarnings(parse, new Warnings(parse.InvocationConfiguration.Error));  // printed even with --quiet
            return ExitCodes.Success;
        });
        return command;
    }
}
