using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using AeMnist.Data;

namespace AeMnist.Core.Tests.Data;

/// <summary>The MNIST files shipped in data/mnist are the originals, unchanged.</summary>
public class ShippedDataTests
{
    public static TheoryData<string, string> RawMd5 => new()
    {
        // MD5 of the raw (uncompressed) files as published with MNIST.
        { "train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb" },
        { "train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624" },
        { "t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea" },
        { "t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637" },
    };

    [Fact]
    public void Sha256_of_each_gz_file_matches_data_readme()
    {
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "data", "README.md"));
        var listed = Regex.Matches(readme, @"`([0-9a-f]{64})`\s*\|\s*`?([\w.-]+\.gz)`?")
            .ToDictionary(m => m.Groups[2].Value, m => m.Groups[1].Value);
        Assert.Equal(4, listed.Count);
        foreach (var (file, sha) in listed)
        {
            string actual = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(RepoPaths.MnistDirectory, file))));
            Assert.Equal(sha, actual);
        }
    }

    [Theory]
    [MemberData(nameof(RawMd5))]
    public void Decompressed_files_are_the_original_mnist(string name, string md5)
    {
        using var gzip = new GZipStream(File.OpenRead(Path.Combine(RepoPaths.MnistDirectory, name + ".gz")), CompressionMode.Decompress);
        Assert.Equal(md5, Convert.ToHexStringLower(MD5.HashData(gzip)));
    }

    [Fact]
    public void Loads_all_70000_digits_with_the_known_class_counts()
    {
        Dataset data = MnistFiles.Load(RepoPaths.MnistDirectory);
        Assert.Equal(70_000, data.Count);
        Assert.Equal(60_000, data.TrainCount);
        int[] counts = new int[10];
        foreach (byte label in data.Labels) counts[label]++;
        // Published MNIST class totals over training + test.
        Assert.Equal(new[] { 6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958 }, counts);
        Assert.Equal(5, data.Labels[0]); // the first training digit is a 5
        Assert.Equal(255, data.Bytes.Max());
        Assert.Equal(0, data.Bytes.Min());
        float[] first = data.Image(0);
        Assert.Equal(data.Bytes[200] / 255f, first[200]);
    }
}
