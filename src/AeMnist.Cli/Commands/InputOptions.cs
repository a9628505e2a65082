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
    private IReadOnlyList<string> _dataWarnings = [];

    public InputOptions(bool labelled)
    {
        _labelled = labelled;
        Input = SharedOptions.PathOption(new Option<string[]>("--input", "-i")
        {
            Description = labelled
                ? "Labelled images to evaluate on instead of the test split: a folder of class folders (or MVTec AD's), a .npz with x and y, a CSV with a digit label then 784 pixels per row (Kaggle's mnist_test.csv), or an IDX image file with its label file; mnist:test and mnist:train name the shipped MNIST's files; '-' reads stdin"
                : "Images to score: PNG/JPEG/BMP/WebP/GIF files or folders of them (searched recursively), IDX image files (raw or .gz), CSV files of 784 pixel values 0-255 per row (a leading label is carried to the output), NumPy .npy; images of the model's size (28x28 for MNIST's), resized when the model was trained with --size; mnist:test and mnist:train name the shipped MNIST's image files; '-' reads stdin",
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
            PixelMaxGiven = parse.GetResult(PixelMax) is { Implicit: false },
            SkipBad = !_labelled && parse.GetValue(SkipBad),
            RequireLabels = _labelled,
            LabelsPath = _labelled ? parse.GetValue(Labels) : null,
        };
    }

    /// <summary>
    /// The images of --input (score, encode) for <paramref name="metadata"/>'s model: MNIST-like inputs (CSV, IDX, 28x28
    /// images, stdin) for a model of MNIST's shape, else images read as the model was trained (its size, resized when it
    /// was trained with --size; its channels; inverted when it was).
    /// </summary>
    public ImageBatch Read(ParseResult parse, Detection.ModelMetadata metadata)
    {
        string[] paths = Shipped(parse.GetValue(Input)!);
        if (metadata.Image == Tensors.ImageShape.Mnist && !metadata.Resize && !metadata.Invert)
            return _batch = ImageInputs.Read(paths, Options(parse));
        if (parse.GetResult(PixelMax) is { Implicit: false })
            throw new UsageException($"--pixel-max applies to the CSV inputs of a model of MNIST's images; this model takes {metadata.Image} images");
        if (!_labelled && parse.GetValue(SkipBad))
            throw new UsageException($"--skip-bad cannot apply: this model takes {metadata.Image} images, read as one dataset in which every file must be readable; drop it (and remove the unreadable files)");
        if (paths.Contains(ImageInputs.StandardInput))
            throw new UsageException($"--input - (stdin) is for MNIST-like CSV or IDX; this model takes {metadata.Image} images: give their files or folders");
        ImageRules rules = Rules(parse, metadata);
        // The images become floats (4 bytes a value), so the dataset may take a quarter of the inputs' pixel budget.
        Dataset images = DataSources.OpenImages(paths, rules, ImageInputs.MaxPixelBytes / sizeof(float));
        CheckShape(images, metadata);
        return _batch = new ImageBatch(images.Gather([.. Enumerable.Range(0, images.Count)]), images.Count, [.. images.Names ?? []], [.. Enumerable.Repeat(-1, images.Count)], images.Warnings, []);
    }

    /// <summary>The names of the shipped MNIST's files, for an installed tool whose data lies beside the program: mnist:test, mnist:train.</summary>
    public const string ShippedTest = "mnist:test", ShippedTrain = "mnist:train";

    // mnist:test and mnist:train as the paths of the shipped MNIST's image files (their label files lie beside them).
    private static string[] Shipped(string[] paths) => [.. paths.Select(p => p is ShippedTest or ShippedTrain
        ? MnistFiles.FindFile(MnistFiles.FindDefaultDirectory(Environment.CurrentDirectory)
            ?? throw new DataFormatException($"{p}: the shipped MNIST is not beside the program or under ./data/mnist"), p == ShippedTest ? MnistFiles.FileNames[2] : MnistFiles.FileNames[0])
        : p)];

    // The model's own reading rules; --invert adds inverting to a model that was not trained on inverted images.
    private ImageRules Rules(ParseResult parse, Detection.ModelMetadata metadata)
    {
        ImageRules rules = metadata.InputRules;
        if (parse.GetValue(Invert))
        {
            if (rules.Invert) throw new UsageException("--invert cannot apply: the model was trained on inverted images, so its inputs are inverted already");
            rules = rules with { Invert = true };
        }
        return rules;
    }

    private static void CheckShape(Dataset images, Detection.ModelMetadata metadata)
    {
        if (images.Shape != metadata.Image)
            throw new DataFormatException($"{images.Names?[0] ?? images.Directory}: the images are {images.Shape}, and the model takes {metadata.Image} images"
                + (metadata.Resize ? "" : " (it was trained without --size, so inputs are not resized: resize them to its size first)"));
    }

    /// <summary>
    /// The labelled images of --input (evaluate), or null without --input: a folder of class folders (or MVTec AD's, or a
    /// .npz with x and y), read as the model was trained, whose normal class is <paramref name="normal"/> (given with
    /// --normal), else the model's own class, else the one called good or normal; or MNIST-like labelled CSV or IDX.
    /// </summary>
    public LabelledImages? ReadLabelled(ParseResult parse, Detection.ModelMetadata metadata, string? normal)
    {
        string[]? paths = parse.GetValue(Input) is { } given ? Shipped(given) : null;
        if (paths is null || paths.Length == 0)
        {
            foreach (Option o in new Option[] { Labels, Invert, PixelMax })
                if (parse.GetResult(o) is { Implicit: false }) throw new UsageException($"{o.Name} applies to --input data; without --input evaluate uses the test split");
            return null;
        }
        if (paths.Length == 1 && (Directory.Exists(paths[0]) || paths[0].EndsWith(".npz", StringComparison.OrdinalIgnoreCase)))
        {
            foreach (Option o in new Option[] { Labels, PixelMax })
                if (parse.GetResult(o) is { Implicit: false }) throw new UsageException($"{o.Name} applies to CSV and IDX --input; {paths[0]} is a labelled folder or .npz");
            Dataset data = DataSources.OpenLabelled(paths[0], Rules(parse, metadata), ImageInputs.MaxPixelBytes / sizeof(float));
            CheckShape(data, metadata);
            _dataWarnings = data.Warnings;
            int normalClass;
            try
            {
                normalClass = normal is not null ? data.ResolveClass(normal)
                    : metadata.NormalClass is { } own && data.ClassNames.Contains(own) ? data.ClassNames.ToList().IndexOf(own)
                    : data.ConventionalNormal() ?? throw new ArgumentException($"--normal is needed: {paths[0]} has no class called {(metadata.NormalClass is { } mine && mine is not ("good" or "normal") ? IO.MessageText.Quote(mine, 40) + " (the model's normal class), " : "")}good or normal; name its normal class, one of {string.Join(", ", data.ClassNames.Take(8).Select(c => IO.MessageText.Quote(c, 40)))}{(data.ClassNames.Count > 8 ? ", ..." : "")}");
            }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            if (normal is not null && metadata.NormalClass is { } recorded && data.ClassNames.Contains(recorded) && data.ClassNames[normalClass] != recorded)
                throw new UsageException($"--normal {IO.MessageText.Quote(normal, 40)} contradicts the model, which records {metadata.DescribeNormal()} as normal, a class {paths[0]} has too; drop --normal");
            return new LabelledImages(Path.GetFileName(Path.GetFullPath(paths[0]).TrimEnd('/')), data.Gather([.. Enumerable.Range(0, data.Count)]), data.Labels)
            {
                ClassNames = data.ClassNames,
                Normal = normalClass,
                Names = data.Names,
            };
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
        foreach (string warning in _dataWarnings) warnings.Add(warning);
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
