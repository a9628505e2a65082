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
            string kind = Format(path, parse.GetValue(format));
            if (path is not null) OutputFiles.Check("--output", path, [.. parse.GetValue(inputs.Input)!, .. model.Files(parse)]);
            RunDirectory? run = model.FindRun(parse);
            using LoadedModel loaded = model.Load(parse, run);
            ImageBatch batch = inputs.Read(parse, loaded.Metadata);
            SampleShape latent = loaded.Model.Spec.Latent;
            // The codes (and the file) are sized before any is computed: a count the arrays cannot hold is refused here,
            // not met later as an overflow or a false "out of memory".
            long values = (long)batch.Count * latent.Length;
            if (values * sizeof(float) > ImageInputs.MaxPixelBytes || values > Array.MaxLength)
                throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                    $"{batch.Count} images of {latent.Length}-value codes {latent} make {values * sizeof(float) >> 20} MiB of codes, more than the {ImageInputs.MaxPixelBytes >> 20} MiB aemnist encodes at once; encode the inputs in parts"));
            var codes = new float[values];
            loaded.Model.Encode(batch.Pixels, batch.Count, codes);
            if (ModelHealth.FirstNonFinite(codes) is var bad and >= 0)
                throw new DataFormatException($"{loaded.ModelPath}: the model gives a latent value of {codes[bad]} for {batch.Sources[bad / latent.Length]}; its weights overflow (retrain it)");
            // Written as it is formatted, row by row or block by block: never the whole file in one string or array.
            if (kind == "npy")
                AtomicFile.Write(path!, stream => LatentCodes.WriteNpy(stream, codes,
                    latent.IsVector ? [batch.Count, latent.C] : [batch.Count, latent.C, latent.H, latent.W]));
            else if (path is null || OutputFiles.IsStdout(path))
                LatentCodes.WriteCsv(parse.InvocationConfiguration.Output, codes, batch.Count, latent.Length, batch.Sources);
            else
                AtomicFile.Write(path, stream =>
                {
                    using var text = new StreamWriter(stream, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
                    LatentCodes.WriteCsv(text, codes, batch.Count, latent.Length, batch.Sources);
                });
            if (!parse.GetValue(quiet))
                parse.InvocationConfiguration.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Encoded {batch.Count} image{(batch.Count == 1 ? "" : "s")} into {latent.Length}-value codes {latent}{(path is null || OutputFiles.IsStdout(path) ? "" : "; wrote " + path)}"));
            inputs.AddWarnings(parse, new Warnings(parse.InvocationConfiguration.Error));  // printed even with --quiet
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// csv or npy, from --format or else the --output name; a name that says another format (x.npz, a .npy with --format
    /// csv, a .csv with --format npy) is refused, so no file holds what its name does not say.
    /// </summary>
    internal static string Format(string? path, string? given)
    {
        string? named = path is null || OutputFiles.IsStdout(path) ? null
            : Path.GetExtension(path).ToLowerInvariant() switch { ".npy" => "npy", ".csv" => "csv", ".npz" => "npz", _ => null };
        if (named == "npz")
            throw new UsageException($"--output {MessageText.Escape(path!)}: encode writes CSV or a NumPy .npy file, not .npz; name the file .npy (or .csv)");
        string kind = given?.Trim().ToLowerInvariant() ?? named ?? "csv";
        if (kind is not ("csv" or "npy")) throw new UsageException($"--format {MessageText.Quote(given!, 40)} is not a format; use csv or npy");
        if (named is not null && named != kind)
            throw new UsageException($"--output {MessageText.Escape(path!)} names a .{named} file but --format is {kind}; make them agree");
        if (kind == "npy" && (path is null || OutputFiles.IsStdout(path))) throw new UsageException("--format npy writes binary; give --output FILE.npy");
        return kind;
    }
}
