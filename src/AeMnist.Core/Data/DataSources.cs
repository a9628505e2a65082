// Datasets from what users have: MNIST ("mnist" or a directory of its IDX files), a folder of class folders (each
// subfolder a class, anomalib's Folder layout: good/, scratch/, ...), MVTec AD's layout (train/<class>/, test/<class>/),
// a labelled CSV (Kaggle's label,pixel0,...), an IDX image file with its labels, a NumPy .npz (x and y), and, for the
// normal images train learns from, any folder (searched recursively), image files, CSV, IDX or .npy. Every image becomes
// C x H x W bytes: its own size when all agree (else an error naming two that differ) or --size's (resized through
// SkiaSharp), one channel when every pixel of every image is gray and three otherwise (or --color's).
using System.Globalization;
using AeMnist.Imaging;
using AeMnist.IO;
using AeMnist.Tensors;

namespace AeMnist.Data;

/// <summary>How images become a dataset: a size to resize them to, a channel count, and whether to invert them.</summary>
public sealed record ImageRules
{
    /// <summary>Resize every image to this height and width (--size); null: the images' own size, which must agree.</summary>
    public (int Height, int Width)? Size { get; init; }

    /// <summary>1 (gray) or 3 (RGB) channels (--color); null: 1 when every image is gray, else 3.</summary>
    public int? Channels { get; init; }

    /// <summary>Dark ink on a light background: composited on white and inverted, as score --invert does.</summary>
    public bool Invert { get; init; }

    public bool IsDefault => Size is null && Channels is null && !Invert;

    /// <summary>Parses --size "HxW" (or "N" for a square); an <see cref="ArgumentException"/> names the option.</summary>
    public static (int Height, int Width) ParseSize(string text)
    {
        string[] parts = text.Trim().Split('x');
        if (parts.Length is 1 or 2 && parts.All(p => p.Length is > 0 and <= 4 && p.All(char.IsAsciiDigit))
            && parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray() is var v && v.All(x => x is >= 1 and <= 4096))
            return (v[0], v[^1]);
        throw new ArgumentException($"--size {MessageText.Quote(text, 40)} is not a size; use HEIGHTxWIDTH from 1 to 4096, e.g. 64x64");
    }
}

public static class DataSources
{
    /// <summary>The name of the shipped MNIST, for --data.</summary>
    public const string MnistName = "mnist";

    /// <summary>The most bytes the images of one dataset may take (C x H x W each): 1 GiB.</summary>
    public const long MaxBytes = 1L << 30;

    /// <summary>Folder names that hold the normal class by convention (MVTec AD's "good", anomalib's "normal").</summary>
    public static readonly IReadOnlyList<string> NormalNames = ["good", "normal"];

    /// <summary>
    /// A labelled dataset: "mnist", a directory of MNIST's IDX files, a folder of class folders, an MVTec AD folder
    /// (train/ and test/), a labelled CSV, an IDX image file with its label file, or a .npz with x and y.
    /// </summary>
    public static Dataset OpenLabelled(string path, ImageRules rules, long maxBytes = MaxBytes)
    {
        if (path == MnistName || (Directory.Exists(path) && MnistFiles.HasAnyFile(path)))
        {
            if (!rules.IsDefault) throw new ArgumentException("--size, --color and --invert apply to image folders and files; MNIST is already 28x28 gray, light ink on black");
            string directory = path == MnistName ? MnistFiles.FindDefaultDirectory(Environment.CurrentDirectory)
                ?? throw new DataFormatException("the shipped MNIST is not beside the program or under ./data/mnist; pass --data DIR") : path;
            return MnistFiles.Load(directory);
        }
        FileKind kind = FileKinds.Of(path);
        if (kind == FileKind.Missing)
            throw new DataFormatException($"{FileErrors.NotFound(path, "data directory")}; pass --data with mnist, a folder of class folders (or of MNIST's IDX files), or a labelled CSV, IDX or .npz file");
        var collector = new Collector(rules, maxBytes);
        if (kind == FileKind.Directory)
        {
            string root = Path.GetFullPath(path);
            string[] subdirectories = Folders.Subdirectories(root);
            string? train = subdirectories.FirstOrDefault(d => string.Equals(Path.GetFileName(d), "train", StringComparison.OrdinalIgnoreCase));
            string? test = subdirectories.FirstOrDefault(d => string.Equals(Path.GetFileName(d), "test", StringComparison.OrdinalIgnoreCase));
            if (train is not null && test is not null)
            {
                // MVTec AD: train/<class>/ is the training part, test/<class>/ the test part (ground_truth/ and the rest are not images to learn from).
                AddClassFolders(collector, root, train, testPart: false);
                AddClassFolders(collector, root, test, testPart: true);
            }
            else
            {
                AddClassFolders(collector, root, root, testPart: false);
            }
            return collector.Build("image folder", root);
        }
        if (kind != FileKind.Regular) throw new DataFormatException($"{path}: is {FileKinds.Describe(kind)}, not a dataset");
        AddLabelledFile(collector, path);
        return collector.Build(Path.GetExtension(path).TrimStart('.').ToUpperInvariant() is { Length: > 0 } ext ? $"{ext} file" : "file", Path.GetFullPath(path));
    }

    /// <summary>
    /// Normal images to learn from, without labels: folders (searched recursively), image files, CSV (784 values per row,
    /// a leading label ignored), IDX image files and .npy arrays, in the order given. One class, "normal"; no test part.
    /// </summary>
    public static Dataset OpenImages(IReadOnlyList<string> paths, ImageRules rules, long maxBytes = MaxBytes)
    {
        if (paths.Count == 0) throw new ArgumentException("--input needs at least one folder or file of images");
        var collector = new Collector(rules, maxBytes);
        foreach (string path in paths)
        {
            FileKind kind = FileKinds.Of(path);
            if (kind == FileKind.Missing) throw new DataFormatException(FileErrors.NotFound(path, "file or folder"));
            if (kind == FileKind.Directory)
            {
                string root = Path.GetFullPath(path);
                FoundFile[] files = Folders.ImageFiles(root);
                if (files.Length == 0) throw new DataFormatException($"{path}: no image files ({string.Join(", ", ImageFiles.Extensions)}) in it or below it");
                string top = Path.GetFileName(root.TrimEnd(Path.DirectorySeparatorChar)) is { Length: > 0 } t ? t + "/" : "";
                foreach (FoundFile file in files) collector.AddFile(file.Path, top + file.Relative, "normal", testPart: false);
            }
            else if (kind == FileKind.Regular)
            {
                AddUnlabelledFile(collector, path);
            }
            else throw new DataFormatException($"{path}: is {FileKinds.Describe(kind)}, not an image file or folder");
        }
        return collector.Build(paths.Count == 1 && Directory.Exists(paths[0]) ? "image folder" : "images", paths.Count == 1 ? Path.GetFullPath(paths[0]) : string.Join(";", paths.Select(Path.GetFullPath)));
    }

    // Each subfolder of `parent` is a class; its images (searched recursively) are that class's.
    private static void AddClassFolders(Collector collector, string root, string parent, bool testPart)
    {
        string[] loose = Folders.ImageFilesHere(parent);
        if (loose.Length > 0)
            throw new DataFormatException($"{parent}: images directly in it ({Path.GetFileName(loose[0])}, ...) belong to no class; put each class in a folder of its own (e.g. good/ and scratch/), or train on them with --input {parent}");
        string[] classes = Folders.Subdirectories(parent);
        if (classes.Length == 0)
            throw new DataFormatException($"{parent}: no class folders; a labelled dataset is a folder of class folders (good/, scratch/, ...) or MVTec AD's train/ and test/");
        foreach (string folder in classes)
        {
            FoundFile[] files = Folders.ImageFiles(folder);
            if (files.Length == 0) throw new DataFormatException($"{folder}: the class '{Path.GetFileName(folder)}' has no image files ({string.Join(", ", ImageFiles.Extensions)})");
            string prefix = Path.GetRelativePath(root, folder).Replace('\\', '/') + "/";
            foreach (FoundFile file in files) collector.AddFile(file.Path, prefix + file.Relative, Path.GetFileName(folder), testPart);
        }
    }

    private static void AddLabelledFile(Collector collector, string path)
    {
        string name = Path.GetFileName(path);
        if (name.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
        {
            IReadOnlyDictionary<string, NumpyArray> arrays = NumpyArrays.ReadNpz(path, collector.ValuesLeft);
            NumpyArray x = arrays.GetValueOrDefault("x") ?? arrays.GetValueOrDefault("images") ?? arrays.GetValueOrDefault("X")
                ?? throw new DataFormatException($"{name}: no array 'x' (or 'images') of images; it holds {string.Join(", ", arrays.Keys)}");
            NumpyArray y = arrays.GetValueOrDefault("y") ?? arrays.GetValueOrDefault("labels")
                ?? throw new DataFormatException($"{name}: no array 'y' (or 'labels') of labels; it holds {string.Join(", ", arrays.Keys)}");
            collector.AddArray(x, name, Labels(y, name));
            return;
        }
        if (IdxReader.LooksLikeIdx(path))
        {
            ImageSet images = IdxReader.ReadImages(path, collector.IdxBudget);
            string labelPath = ImageInputs.FindLabels(path)
                ?? throw new DataFormatException($"{name}: no IDX label file found beside it (tried {string.Join(", ", ImageInputs.LabelCandidates(name).Take(4))})");
            byte[] labels = IdxReader.ReadLabels(labelPath);
            if (labels.Length != images.Count) throw new DataFormatException($"{Path.GetFileName(labelPath)}: {labels.Length} labels for {images.Count} images in {name}; the files do not belong together");
            collector.AddGray(images.Pixels, images.Count, images.Rows, images.Cols, name, [.. labels.Select(l => l.ToString(CultureInfo.InvariantCulture))]);
            return;
        }
        CsvImageSet csv = CsvImages.Read(path, maxImages: collector.CsvImagesLeft, tooMany: collector.TooMany(name));
        if (csv.Labels.Select((l, i) => (l, i)).FirstOrDefault(x => x.l < 0) is { l: < 0 } missing)
            throw new DataFormatException($"{csv.Sources[missing.i]}: no label; a labelled CSV has a class label 0-9 then 784 pixel values per row (as Kaggle's mnist_test.csv)");
        collector.AddGray(csv.Pixels, csv.Count, 28, 28, name, [.. csv.Labels.Select(l => l.ToString(CultureInfo.InvariantCulture))]);
    }

    private static void AddUnlabelledFile(Collector collector, string path)
    {
        string name = Path.GetFileName(path);
        if (ImageFiles.HasImageExtension(name))
        {
            collector.AddFile(path, name, "normal", testPart: false);
            return;
        }
        if (name.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            NumpyArray x = NumpyArrays.ReadNpy(path, collector.ValuesLeft);
            collector.AddArray(x, name, null);
            return;
        }
        if (IdxReader.LooksLikeIdx(path))
        {
            ImageSet images = IdxReader.ReadImages(path, collector.IdxBudget);
            collector.AddGray(images.Pixels, images.Count, images.Rows, images.Cols, name, null);
            return;
        }
        CsvImageSet csv = CsvImages.Read(path, maxImages: collector.CsvImagesLeft, tooMany: collector.TooMany(name));
        collector.AddGray(csv.Pixels, csv.Count, 28, 28, name, null);
    }

    /// <summary>The one line that says which images were animated and read from their first frame only.</summary>
    internal static string AnimatedWarning(IReadOnlyList<string> names, int total) =>
        $"{names.Count} of {total} images are animated (GIF or WebP) and only their first frame is read ({string.Join(", ", names.Take(3).Select(n => MessageText.Escape(n, 80)))}{(names.Count > 3 ? ", ..." : "")}); give one frame per file if the others matter";

    // Labels of a .npz: whole numbers 0-255, each a class named by its number.
    private static string[] Labels(NumpyArray y, string name)
    {
        var labels = new string[y.Values.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            double v = y.Values[i];
            if (!(v >= 0 && v <= 255 && v == Math.Floor(v))) throw new DataFormatException($"{name}: label {i} is {v.ToString(CultureInfo.InvariantCulture)}; labels are whole numbers 0-255");
            labels[i] = ((int)v).ToString(CultureInfo.InvariantCulture);
        }
        return labels;
    }

    /// <summary>Gathers images of any origin as planar RGB bytes of one size, then builds the dataset.</summary>
    private sealed class Collector(ImageRules rules, long maxBytes)
    {
        private readonly List<(byte[] Rgb, string Name, string Class, bool Test)> _images = [];
        private (int Height, int Width, string First)? _size;
        private bool _allGray = true;
        private readonly List<string> _animated = [];
        private long _bytes;

        private int Channels => rules.Channels ?? 3;

        // What the inputs not yet read may still hold, checked before each is read (not only image by image after):
        // one budget for every input of the command, however many files it names.
        private long Left => maxBytes - _bytes;

        /// <summary>Values a NumPy array may still hold (one byte of the dataset each, at most).</summary>
        public long ValuesLeft => Math.Max(0, Math.Min(NumpyArrays.MaxValues, Left * 3));

        /// <summary>CSV rows of 28x28 that still fit.</summary>
        public int CsvImagesLeft => (int)Math.Clamp(Left / (Channels * 784L), 0, int.MaxValue);

        /// <summary>The bytes an IDX image file (one per pixel) may still hold, for all the inputs together.</summary>
        public ReadBudget IdxBudget => new(Math.Clamp(Left / Channels + 16, 16, IdxReader.MaxDecompressedBytes), " for all the inputs together");

        public string TooMany(string name) =>
            $"{name}: the images so far take more than {maxBytes >> 20} MiB for all the inputs together; use a smaller --size (or fewer images)";

        public void AddFile(string path, string name, string className, bool testPart)
        {
            byte[] bytes = Files.ReadRegular(path, ImageFiles.MaxFileBytes, name);
            RgbaImage image = ImageDecoder.Decode(bytes, name);
            if (image.Animated) _animated.Add(name);
            Add(image, name, className, testPart);
        }

        /// <summary>Gray images with values in [0, 1] (IDX, CSV), as bytes.</summary>
        public void AddGray(float[] pixels, int count, int height, int width, string source, string[]? labels)
        {
            int plane = height * width;
            for (int i = 0; i < count; i++)
            {
                var rgba = new byte[plane * 4];
                for (int p = 0; p < plane; p++)
                {
                    byte v = (byte)Math.Clamp(Math.Round(pixels[(long)i * plane + p] * 255f), 0, 255);
                    rgba[4 * p] = rgba[4 * p + 1] = rgba[4 * p + 2] = v;
                    rgba[4 * p + 3] = 255;
                }
                Add(new RgbaImage(rgba, width, height), $"{source}#{i}", labels?[i] ?? "normal", false);
            }
        }

        /// <summary>A NumPy array of images: (N, H, W), (N, H, W, C) or (N, C, H, W) with C 1 or 3; uint8 0-255 or floats 0-1.</summary>
        public void AddArray(NumpyArray x, string source, string[]? labels)
        {
            int[] s = x.Shape;
            (int n, int c, int h, int w, bool channelsLast) = s.Length switch
            {
                3 => (s[0], 1, s[1], s[2], true),
                4 when s[3] is 1 or 3 => (s[0], s[3], s[1], s[2], true),
                4 when s[1] is 1 or 3 => (s[0], s[1], s[2], s[3], false),
                2 when s[1] == 784 => (s[0], 1, 28, 28, true),
                _ => throw new DataFormatException($"{source}: an array of shape ({string.Join(", ", s)}) is not images; save (N, H, W), (N, H, W, C) or (N, C, H, W) with C 1 or 3 (or (N, 784) for 28x28)"),
            };
            if (labels is not null && labels.Length != n) throw new DataFormatException($"{source}: {labels.Length} labels for {n} images");
            double scale = x.DType.EndsWith("u1", StringComparison.Ordinal) ? 1 : 255;
            for (int i = 0; i < n; i++)
            {
                var rgba = new byte[h * w * 4];
                for (int p = 0; p < h * w; p++)
                {
                    for (int k = 0; k < 3; k++)
                    {
                        int channel = c == 1 ? 0 : k;
                        long at = channelsLast ? ((long)i * h * w + p) * c + channel : ((long)i * c + channel) * h * w + p;
                        double v = x.Values[at] * scale;
                        if (!(v >= 0 && v <= 255.5))
                            throw new DataFormatException($"{source}: value {x.Values[at].ToString("G6", CultureInfo.InvariantCulture)} of image {i} is outside {(scale == 1 ? "0-255" : "0-1")}");
                        rgba[4 * p + k] = (byte)Math.Clamp(Math.Round(v), 0, 255);
                    }
                    rgba[4 * p + 3] = 255;
                }
                Add(new RgbaImage(rgba, w, h), $"{source}#{i}", labels?[i] ?? "normal", false);
            }
        }

        private void Add(RgbaImage image, string name, string className, bool testPart)
        {
            if (rules.Size is { } size) image = ImageDecoder.Resize(image, size.Width, size.Height);
            else if (_size is { } first && (first.Height != image.Height || first.Width != image.Width))
                throw new DataFormatException($"{name} is {image.Height}x{image.Width} but {first.First} is {first.Height}x{first.Width} (height x width, as --size takes them): the images must agree in size; resize them all with --size HxW (e.g. --size {first.Height}x{first.Width})");
            _size ??= (image.Height, image.Width, name);
            _allGray &= image.IsGray;
            var planar = new byte[Channels * image.Width * image.Height];
            ImageDecoder.ToPlanar(image, Channels, rules.Invert, planar);
            _bytes += planar.Length;
            if (_bytes > maxBytes)
                throw new DataFormatException($"{name}: the images so far take more than {maxBytes >> 20} MiB at {image.Width}x{image.Height}; use a smaller --size (or fewer images)");
            _images.Add((planar, name, className, testPart));
        }

        public Dataset Build(string kind, string path)
        {
            if (_images.Count == 0) throw new DataFormatException($"{path}: no images");
            (int h, int w, _) = _size!.Value;
            int channels = rules.Channels ?? (_allGray ? 1 : 3);
            string[] classes = [.. _images.Select(i => i.Class).Distinct().Order(StringComparer.Ordinal)];
            if (classes.Length > 255) throw new DataFormatException($"{path}: {classes.Length} classes; aemnist reads at most 255");
            var index = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (byte)p.i, StringComparer.Ordinal);
            var ordered = _images.Where(i => !i.Test).Concat(_images.Where(i => i.Test)).ToList();
            int plane = h * w, length = channels * plane;
            var bytes = new byte[(long)ordered.Count * length];
            for (int i = 0; i < ordered.Count; i++)
                ordered[i].Rgb.AsSpan(0, length).CopyTo(bytes.AsSpan(i * length, length));  // gray: the first (of three equal) planes
            return new Dataset(bytes, [.. ordered.Select(i => index[i.Class])], classes, new ImageShape(channels, h, w), ordered.Count(i => !i.Test),
                new DataSource(kind, path), [.. ordered.Select(i => i.Name)])
            {
                Warnings = _animated.Count == 0 ? [] : [AnimatedWarning(_animated, _images.Count)],
            };
        }
    }
}
