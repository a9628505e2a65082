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
        string[] names = paths.Select(Path.GetFileName).ToArray()!;
        // Inflate the four files in parallel (loading is dominated by gzip), then convert the pixels of
        // both image files straight into the pooled buffer: no intermediate float copies.
        var raw = new (byte[] Bytes, int Length)[4];
        Parallel.For(0, 4, i => raw[i] = IdxReader.ReadFileBytes(paths[i]));
        IdxImageHeader train = IdxReader.ParseImageHeader(raw[0].Bytes, raw[0].Length, names[0]);
        IdxImageHeader test = IdxReader.ParseImageHeader(raw[2].Bytes, raw[2].Length, names[2]);
        byte[] trainLabels = IdxReader.ParseLabels(raw[1].Bytes, raw[1].Length, names[1]);
        byte[] testLabels = IdxReader.ParseLabels(raw[3].Bytes, raw[3].Length, names[3]);
        CheckPair(train, trainLabels, names[0], names[1]);
        CheckPair(test, testLabels, names[2], names[3]);

        int trainPixels = train.Count * PixelsPerImage, testPixels = test.Count * PixelsPerImage;
        var pixels = new float[(long)trainPixels + testPixels];
        const int chunk = 1 << 20;
        int trainChunks = (trainPixels + chunk - 1) / chunk, testChunks = (testPixels + chunk - 1) / chunk;
        Parallel.For(0, trainChunks + testChunks, c =>
        {
            bool isTrain = c < trainChunks;
            int start = (isTrain ? c : c - trainChunks) * chunk, total = isTrain ? trainPixels : testPixels;
            int n = Math.Min(chunk, total - start);
            byte[] source = raw[isTrain ? 0 : 2].Bytes;
            IdxReader.ToFloats(source.AsSpan(16 + start, n), pixels.AsSpan((isTrain ? 0 : trainPixels) + start, n));
        });
        return new MnistDataset(pixels, [.. trainLabels, .. testLabels], train.Count, directory);
    }

    private static void CheckPair(IdxImageHeader images, byte[] labels, string imageName, string labelName)
    {
        if (images.Rows != ImageSize || images.Cols != ImageSize)
            throw new DataFormatException($"{imageName}: images are {images.Rows}x{images.Cols}, expected {ImageSize}x{ImageSize}");
        if (images.Count != labels.Length)
            throw new DataFormatException(
                $"{labelName}: {labels.Length} labels for {images.Count} images in {imageName}; the files do not belong together");
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
