// The image-input options of `score` and `evaluate --input`: what to read (--input, --labels), how to read it
// (--invert, --pixel-max, --skip-bad), and the warnings about inputs that are probably wrong (printed on stderr).
using System.CommandLine;
using System.Text.RegularExpressions;
using AeMnist.Data;
using AeMnist.Runs;

namespace AeMnist.Cli.Commands;

internal sealed partial class InputOptions
{
    public readonly Option<string[]> Input;
    public readonly Option<string?> Labels = SharedOptions.PathOption(new Option<string?>("--labels") { Description = "IDX label file of an IDX --input [default: found beside it by name]", HelpName = "FILE" });
    public readonly Option<bool> Invert = new("--invert")
    {
        Description = "Inputs are dark ink on a light background: values become 255 - v; images are composited on white, then inverted",
    };
    public readonly Option<double> PixelMax = SharedOptions.Double("--pixel-max", "Value of a white pixel in CSV input: 255, or 1 for values already scaled to 0-1", 255.0, "N");
    public readonly Option<bool> SkipBad = new("--skip-bad") { Description = "In directories, report and skip unreadable image files instead of stopping" };
    private readonly bool _labelled;
    private ImageBatch? _batch;

    public InputOptions(bool labelled)
    {
        _labelled = labelled;
        Input = SharedOptions.PathOption(new Option<string[]>("--input", "-i")
        {
            Description = labelled
                ? "Labelled images to evaluate on instead of the test split: a CSV with a digit label then 784 pixels per row (Kaggle's mnist_test.csv), or an IDX image file with its label file; '-' reads stdin"
                : "Images to score: IDX image files (raw or .gz), CSV files of 784 pixel values 0-255 per row (a leading label is carried to the output), 28x28 PNG/JPEG/BMP/WebP/GIF files, or directories of them (searched recursively); '-' reads stdin",
            Required = !labelled,
            AllowMultipleArgumentsPerToken = !labelled,
            HelpName = labelled ? "FILE" : "PATH",
        });
    }

    public Option[] All => _labelled ? [Input, Labels, Invert, PixelMax] : [Input, Invert, PixelMax, SkipBad];

    private ImageReadOptions Options(ParseResult parse)
    {
        double max = parse.GetValue(PixelMax);
        if (!(max > 0 && double.IsFinite(max))) throw new UsageException($"--pixel-max must be a positive number (255, or 1 for 0-1 values), got {max}");
        return new ImageReadOptions
        {
            Invert = parse.GetValue(Invert),
            PixelMax = max,
            SkipBad = !_labelled && parse.GetValue(SkipBad),
            RequireLabels = _labelled,
            LabelsPath = _labelled ? parse.GetValue(Labels) : null,
        };
    }

    /// <summary>The images of --input (score).</summary>
    public ImageBatch Read(ParseResult parse) => _batch = ImageInputs.Read(parse.GetValue(Input)!, Options(parse));

    /// <summary>The labelled images of --input (evaluate), or null without --input.</summary>
    public LabelledImages? ReadLabelled(ParseResult parse)
    {
        string[]? paths = parse.GetValue(Input);
        if (paths is null || paths.Length == 0)
        {
            foreach (Option o in new Option[] { Labels, Invert, PixelMax })
                if (parse.GetResult(o) is { Implicit: false }) throw new UsageException($"{o.Name} applies to --input data; without --input evaluate uses the test split");
            return null;
        }
        _batch = ImageInputs.Read(paths, Options(parse));
        string name = paths[0] == ImageInputs.StandardInput ? "stdin" : Path.GetFileName(Path.GetFullPath(paths[0]));
        return new LabelledImages(name, _batch.Pixels, [.. _batch.Labels.Select(l => (byte)l)]);
    }

    /// <summary>
    /// Prints the skipped files on stderr and adds the read's warnings to <paramref name="warnings"/> (which prints each
    /// and lists it under "warnings" in JSON output); both even with --quiet.
    /// </summary>
    public void AddWarnings(ParseResult parse, Warnings warnings)
    {
        if (_batch is null) return;
        foreach (string skipped in _batch.Skipped) parse.InvocationConfiguration.Error.WriteLine($"aemnist: skipped {skipped}");
        foreach (string warning in _batch.Warnings) warnings.Add(warning);
    }

    /// <summary>A file name made safe as a directory name: input-mnist_test.csv.</summary>
    public static string Slug(string name)
    {
        string slug = Unsafe().Replace(name, "_").Trim('.');
        return slug.Length == 0 ? "data" : slug;
    }

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex Unsafe();
}
