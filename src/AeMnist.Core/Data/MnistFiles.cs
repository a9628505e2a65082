// MNIST as a data source: the four IDX files (raw or .gz, MNIST's names or Kaggle's) of a directory, pooled into one
// Dataset (the 60,000 training images, then the 10,000 test images, as torch's ConcatDataset orders them), and where
// the shipped copy lies. Other data in the same layout is named as what it is: Fashion-MNIST by its labels, any other
// by a classes.txt beside the files (which any labels past 9 need).
using System.Runtime.ExceptionServices;
using AeMnist.Tensors;

namespace AeMnist.Data;

public static class MnistFiles
{
    /// <summary>The data source kind of MNIST.</summary>
    public const string Kind = "MNIST";

    public const int ImageSize = 28;
    public const int PixelsPerImage = ImageSize * ImageSize;

    /// <summary>The most the four IDX files may hold together, inflated: 256 MiB, about 340,000 images (MNIST holds 55 MB).</summary>
    public const long MaxTotalBytes = 256L << 20;

    /// <summary>The digits' class names, "0"-"9".</summary>
    public static IReadOnlyList<string> ClassNames { get; } = [.. Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    public static readonly string[] FileNames =
    [
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
    ];

    /// <summary>MNIST as pooled bytes and labels (tests build small ones).</summary>
    public static Dataset Create(byte[] bytes, byte[] labels, int trainCount, string directory) =>
        new(bytes, labels, ClassNames, ImageShape.Mnist, trainCount, new DataSource(Kind, directory));

    /// <summary>Loads the four IDX files (raw or .gz) from <paramref name="directory"/>.</summary>
    public static Dataset Load(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DataFormatException($"{directory}: data directory not found; pass --data DIR with the four MNIST IDX files");
        string[] paths = FileNames.Select(f => FindFile(directory, f)).ToArray();
        string[] names = paths.Select(Path.GetFileName).ToArray()!;
        // Every header first, in file order, so that the four files' claims are checked against one budget before a
        // byte of their contents is read (and the file named in an error does not depend on timing).
        var files = new IdxFile[4];
        try
        {
            var budget = new ReadBudget(MaxTotalBytes, " for the four files together");
            for (int i = 0; i < 4; i++)
            {
                files[i] = IdxFile.Open(paths[i]);
                files[i].Reserve(budget);
            }
            // Then inflate the four files in parallel: loading is dominated by gzip.
            var raw = new (byte[] Bytes, long Length)[4];
            var errors = new Exception?[4];
            Parallel.For(0, 4, i =>
            {
                try { raw[i] = files[i].ReadAll(); }
                catch (Exception e) { errors[i] = e; }
            });
            // Parallel.For would wrap a bad file's DataFormatException in an AggregateException; rethrow the
            // first file's own error instead, so the message names the file and the choice does not depend on timing.
            if (errors.FirstOrDefault(e => e is not null) is { } first) ExceptionDispatchInfo.Throw(first);
            return Pool(raw, names, directory);
        }
        finally
        {
            foreach (IdxFile? file in files) file?.Dispose();
        }
    }

    private static Dataset Pool((byte[] Bytes, long Length)[] raw, string[] names, string directory)
    {
        IdxImageHeader train = IdxReader.ParseImageHeader(raw[0].Bytes, raw[0].Length, names[0]);
        IdxImageHeader test = IdxReader.ParseImageHeader(raw[2].Bytes, raw[2].Length, names[2]);
        byte[] trainLabels = IdxReader.ParseLabels(raw[1].Bytes, raw[1].Length, names[1]);
        byte[] testLabels = IdxReader.ParseLabels(raw[3].Bytes, raw[3].Length, names[3]);
        CheckPair(train, trainLabels, names[0], names[1]);
        CheckPair(test, testLabels, names[2], names[3]);

        int trainPixels = train.Count * PixelsPerImage, testPixels = test.Count * PixelsPerImage;
        var bytes = new byte[(long)trainPixels + testPixels];
        raw[0].Bytes.AsSpan(16, trainPixels).CopyTo(bytes);
        raw[2].Bytes.AsSpan(16, testPixels).CopyTo(bytes.AsSpan(trainPixels));
        byte[] labels = [.. trainLabels, .. testLabels];
        // Files in MNIST's layout are not always MNIST: a classes.txt beside them names their classes, and Fashion-MNIST
        // (known by its labels) is named as its authors name it; either way its classes are not called digits.
        string namesPath = Path.Combine(directory, ClassNamesFile);
        if (IO.FileKinds.Of(namesPath) is var namesKind && namesKind != IO.FileKind.Missing)
        {
            // A FIFO would block the read and a device never end: only a regular file (or a link to one) is read.
            if (namesKind != IO.FileKind.Regular) throw new DataFormatException($"{namesPath}: is {IO.FileKinds.Describe(namesKind)}, not a file of class names; make it a text file with one name a line, or remove it");
            return new Dataset(bytes, labels, ReadClassNames(namesPath, labels), ImageShape.Mnist, train.Count, new DataSource(IdxKind, directory));
        }
        if (Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(labels)) == FashionLabelsSha256)
            return new Dataset(bytes, labels, FashionClassNames, ImageShape.Mnist, train.Count, new DataSource(FashionKind, directory));
        // Without a classes.txt the files are MNIST, whose labels are digits: a label past 9 is a corrupt file, or data
        // with other classes (EMNIST's letters are 1-26), which a classes.txt names.
        int past = Array.FindIndex(labels, l => l > 9);
        if (past >= 0)
        {
            (string file, int index) = past < train.Count ? (names[1], past) : (names[3], past - train.Count);
            throw new DataFormatException($"{file}: label {index} is {labels[past]}, expected a digit 0-9 (MNIST's); if these files hold other classes, name them in a {ClassNamesFile} beside them (one name a line, class 0 first)");
        }
        return Create(bytes, labels, train.Count, directory);
    }

    /// <summary>The file beside IDX files in MNIST's layout that names their classes, one name a line, class 0 first.</summary>
    public const string ClassNamesFile = "classes.txt";

    /// <summary>The data source kind of IDX files in MNIST's layout whose classes <see cref="ClassNamesFile"/> names.</summary>
    public const string IdxKind = "IDX files";

    /// <summary>The data source kind of Fashion-MNIST (Xiao et al. 2017), recognised by its labels.</summary>
    public const string FashionKind = "Fashion-MNIST";

    /// <summary>SHA-256 of Fashion-MNIST's 60,000 training labels followed by its 10,000 test labels.</summary>
    public const string FashionLabelsSha256 = "8ab940a680640f36c0bf1d2549cb2f3b3d4068c12547116cc7b1161b1d26663d";

    /// <summary>Fashion-MNIST's class names, as its authors give them.</summary>
    public static IReadOnlyList<string> FashionClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    // classes.txt: one name a line (blank lines at the end ignored), at least one per label and at most 256, each name once.
    private static string[] ReadClassNames(string path, byte[] labels)
    {
        var info = new FileInfo(path);
        if (info.Length > 64 * 1024) throw new DataFormatException($"{path}: {info.Length} bytes; a class names file holds one name a line, at most 64 KiB");
        string[] lines = File.ReadAllLines(path);
        int count = lines.Length;
        while (count > 0 && string.IsNullOrWhiteSpace(lines[count - 1])) count--;
        string[] names = [.. lines.Take(count).Select(l => l.Trim())];
        int needed = labels.Length == 0 ? 0 : labels.Max() + 1;
        for (int i = 0; i < names.Length; i++)
        {
            if (names[i].Length == 0) throw new DataFormatException($"{path}: line {i + 1} is empty; give every class a name, class 0 on line 1");
            if (Array.IndexOf(names, names[i]) != i) throw new DataFormatException($"{path}: line {i + 1} repeats the name {IO.MessageText.Quote(names[i], 40)} of line {Array.IndexOf(names, names[i]) + 1}; each class needs its own name");
        }
        if (names.Length < needed)
            throw new DataFormatException($"{path}: {names.Length} class names, but the labels go up to {needed - 1}; give one name a line for classes 0 to {needed - 1}");
        if (names.Length > 256)
            throw new DataFormatException($"{path}: {names.Length} class names, but IDX labels are bytes (at most 256 classes); give one name a line for classes 0 to {needed - 1}");
        return names;
    }

    private static void CheckPair(IdxImageHeader images, byte[] labels, string imageName, string labelName)
    {
        if (images.Rows != ImageSize || images.Cols != ImageSize)
            throw new DataFormatException($"{imageName}: images are {images.Rows}x{images.Cols}, expected {ImageSize}x{ImageSize}");
        if (images.Count != labels.Length)
            throw new DataFormatException(
                $"{labelName}: {labels.Length} labels for {images.Count} images in {imageName}; the files do not belong together");
    }

    /// <summary>
    /// The names a file goes by: MNIST's own (<c>train-images-idx3-ubyte</c>) and Kaggle's
    /// (<c>train-images.idx3-ubyte</c>), each raw or <c>.gz</c>.
    /// </summary>
    public static IEnumerable<string> Candidates(string name)
    {
        int dash = name.LastIndexOf("-idx", StringComparison.Ordinal);
        string kaggle = dash < 0 ? name : name[..dash] + "." + name[(dash + 1)..];
        return new[] { name, name + ".gz", kaggle, kaggle + ".gz" }.Distinct();
    }

    /// <summary>Finds <c>name</c> in a directory under any of its <see cref="Candidates"/>.</summary>
    public static string FindFile(string directory, string name)
    {
        foreach (string candidate in Candidates(name))
        {
            string path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new DataFormatException($"{Path.Combine(directory, name)}(.gz): file not found (nor Kaggle's {Candidates(name).Last()[..^3]}); the data directory needs the four MNIST IDX files");
    }

    /// <summary>
    /// The default data directory: <c>data/mnist</c> beside the program (the build and the .NET tool
    /// package copy it there), else the nearest <c>data/mnist</c> above <paramref name="startDirectory"/>.
    /// </summary>
    public static string? FindDefaultDirectory(string startDirectory)
    {
        string besideProgram = Path.Combine(AppContext.BaseDirectory, "data", "mnist");
        if (HasFiles(besideProgram)) return besideProgram;
        for (var dir = new DirectoryInfo(startDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "data", "mnist");
            if (HasFiles(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>True when <paramref name="directory"/> holds one of the four IDX files (it is meant as MNIST; a missing one is then named).</summary>
    public static bool HasAnyFile(string directory) =>
        Directory.Exists(directory) && FileNames.Any(f => Candidates(f).Any(c => File.Exists(Path.Combine(directory, c))));

    /// <summary>True when <paramref name="directory"/> holds the four IDX files (raw or .gz, MNIST's names or Kaggle's).</summary>
    public static bool HasFiles(string directory) =>
        Directory.Exists(directory) &&
        FileNames.All(f => Candidates(f).Any(c => File.Exists(Path.Combine(directory, c))));
}
