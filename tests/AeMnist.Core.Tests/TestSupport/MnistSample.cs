// A private, minimal reader for the first images of data/mnist (IDX, gzip) for the training smoke test;
// the product's real reader lives elsewhere.
using System.IO.Compression;

namespace AeMnist.Core.Tests.TestSupport;

public static class MnistSample
{
    /// <summary>The first <paramref name="count"/> training images as count x 784 floats in [0, 1].</summary>
    public static float[] TrainImages(int count)
    {
        string path = Path.Combine(RepositoryRoot(), "data", "mnist", "train-images-idx3-ubyte.gz");
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        byte[] header = new byte[16];
        gzip.ReadExactly(header);
        byte[] pixels = new byte[count * 784];
        gzip.ReadExactly(pixels);
        return pixels.Select(p => p / 255f).ToArray();
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AeMnist.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("AeMnist.sln not found above the test directory.");
    }
}
