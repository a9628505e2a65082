// The 70,000 MNIST digits pooled in one buffer (the 60,000 training images, then the 10,000 test
// images, as torch's ConcatDataset orders them), and where to find the files on disk.
namespace AeMnist.Data;

public sealed class MnistDataset
{
    public const int ImageSize = 28;
    public const int PixelsPerImage = ImageSize * ImageSize;

    public static readonly string[] FileNames =
    [
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
    ];

    /// <summary>All images, training file first: image i is <c>Pixels[i*784 .. (i+1)*784)</c>.</summary>
    public float[] Pixels { get; }

    /// <summary>Digit 0-9 of each pooled image.</summary>
    public byte[] Labels { get; }

    /// <summary>How many of the pooled images come from the training file (the rest are the test file).</summary>
    public int TrainCount { get; }

    public int Count => Labels.Length;

    public string Directory { get; }

    public MnistDataset(float[] pixels, byte[] labels, int trainCount, string directory)
    {
        if (pixels.Length != (long)labels.Length * PixelsPerImage)
            throw new ArgumentException($"pixels has {pixels.Length} values, expected {labels.Length} x {PixelsPerImage}.", nameof(pixels));
        if (trainCount < 0 || trainCount > labels.Length)
            throw new ArgumentOutOfRangeException(nameof(trainCount), trainCount, "Must be within the label count.");
        Pixels = pixels;
        Labels = labels;
        TrainCount = trainCount;
        Directory = directory;
    }

    public ReadOnlySpan<float> Image(int index) => Pixels.AsSpan(index * PixelsPerImage, PixelsPerImage);

    /// <summary>Copies the images at <paramref name="indices"/> into one contiguous buffer.</summary>
    public float[] Gather(ReadOnlySpan<int> indices)
    {
        var result = new float[(long)indices.Length * PixelsPerImage];
        for (int i = 0; i < indices.Length; i++)
            Image(indices[i]).CopyTo(result.AsSpan(i * PixelsPerImage, PixelsPerImage));
        return result;
    }

    public byte[] GatherLabels(ReadOnlySpan<int> indices)
    {
        var result = new byte[indices.Length];
        for (int i = 0; i < indices.Length; i++) result[i] = Labels[indices[i]];
        return result;
    }

    /// <summary>Loads the four IDX files (raw or .gz) from <paramref name="directory"/>.</summary>
    public static MnistDataset Load(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new DataFormatException($"{directory}: data directory not found; pass --data DIR with the four MNIST IDX files");
        string[] paths = FileNames.Select(f => FindFile(directory, f)).ToArray();
        ImageSet trainImages = null!, testImages = null!;
        byte[] trainLabels = null!, testLabels = null!;
        // The two big files inflate in parallel: loading is dominated by gzip.
        Parallel.Invoke(
            () => trainImages = IdxReader.ReadImages(paths[0]),
            () => testImages = IdxReader.ReadImages(paths[2]),
            () => trainLabels = IdxReader.ReadLabels(paths[1]),
            () => testLabels = IdxReader.ReadLabels(paths[3]));
        CheckPair(trainImages, trainLabels, paths[0], paths[1]);
        CheckPair(testImages, testLabels, paths[2], paths[3]);
        var pixels = new float[trainImages.Pixels.Length + testImages.Pixels.Length];
        trainImages.Pixels.CopyTo(pixels, 0);
        testImages.Pixels.CopyTo(pixels, trainImages.Pixels.Length);
        return new MnistDataset(pixels, [.. trainLabels, .. testLabels], trainImages.Count, directory);
    }

    private static void CheckPair(ImageSet images, byte[] labels, string imagePath, string labelPath)
    {
        if (images.Rows != ImageSize || images.Cols != ImageSize)
            throw new DataFormatException($"{Path.GetFileName(imagePath)}: images are {images.Rows}x{images.Cols}, expected {ImageSize}x{ImageSize}");
        if (images.Count != labels.Length)
            throw new DataFormatException(
                $"{Path.GetFileName(labelPath)}: {labels.Length} labels for {images.Count} images in {Path.GetFileName(imagePath)}; the files do not belong together");
    }

    /// <summary>Finds <c>name</c> or <c>name.gz</c> in a directory.</summary>
    public static string FindFile(string directory, string name)
    {
        foreach (string candidate in new[] { name, name + ".gz" })
        {
            string path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new DataFormatException($"{Path.Combine(directory, name)}(.gz): file not found; the data directory needs the four MNIST IDX files");
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

    private static bool HasFiles(string directory) =>
        System.IO.Directory.Exists(directory) &&
        FileNames.All(f => File.Exists(Path.Combine(directory, f)) || File.Exists(Path.Combine(directory, f + ".gz")));
}
