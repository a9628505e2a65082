// Small seeded runs of every architecture, trained once for the export tests through the CLI (in-process), and the
// first 400 MNIST test images as bytes and as a CSV file `aemnist score` reads.
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace AeMnist.Onnx.Tests;

internal sealed record CliResult(int ExitCode, string Stdout, string Stderr);

internal static class Aemnist
{
    public static CliResult Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = AeMnist.Cli.App.Run(args, stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>The test classes that share one <see cref="TrainedRuns"/> (and so train each model once).</summary>
[CollectionDefinition(TrainedRuns.Collection)]
public sealed class TrainedRunsCollection : ICollectionFixture<TrainedRuns>;

public sealed class TrainedRuns : IDisposable
{
    public const string Collection = "trained runs";

    /// <summary>The architectures every test covers.</summary>
    public static readonly string[] Models = ["dense", "conv", "bottleneck", "pca"];

    public const int Images = 400;

    private readonly string _root = Directory.CreateTempSubdirectory("aemnist-onnx-test-").FullName;
    private readonly Dictionary<string, string> _runs = [];
    private readonly object _gate = new();

    public TrainedRuns()
    {
        Pixels = ReadTestImages(Images);
        CsvPath = Path.Combine(_root, "images.csv");
        var csv = new StringBuilder();
        for (int i = 0; i < Images; i++)
            csv.AppendLine(string.Join(",", Pixels.AsSpan(i * 784, 784).ToArray().Select(b => b.ToString(CultureInfo.InvariantCulture))));
        System.IO.File.WriteAllText(CsvPath, csv.ToString());
    }

    /// <summary>The first <see cref="Images"/> MNIST test images, 784 bytes each.</summary>
    public byte[] Pixels { get; }

    /// <summary>The same images as a CSV of 784 pixel values per row.</summary>
    public string CsvPath { get; }

    public string File(string name) => Path.Combine(_root, name);

    /// <summary>The run directory of a small seeded run of <paramref name="model"/> (normal digit 3), trained on first use; seed 1, whose conv model has not collapsed.</summary>
    public string Run(string model, string? score = null)
    {
        lock (_gate)
        {
            string name = score is null ? model : $"{model}-{score}";
            if (_runs.TryGetValue(name, out string? run)) return run;
            string[] epochs = model == "pca" ? [] : ["--epochs", "2", "--batch-size", "100", "--eval-every", "1"];
            string[] scoring = score is null ? [] : ["--score", score];
            CliResult train = Aemnist.Run(["train", "--model", model, "--normal", "3", "--train-normal", "300", "--train-anomalies", "30",
                "--test-normal", "100", "--test-anomalies", "100", "--seed", "1", .. epochs, .. scoring, "--runs-dir", _root, "--run-name", name, "--quiet"]);
            Assert.True(train.ExitCode == 0, train.Stderr);
            return _runs[name] = Path.Combine(_root, name);
        }
    }

    private static byte[] ReadTestImages(int count)
    {
        string path = Path.Combine(RepositoryRoot(), "data", "mnist", "t10k-images-idx3-ubyte.gz");
        using var gzip = new GZipStream(System.IO.File.OpenRead(path), CompressionMode.Decompress);
        gzip.ReadExactly(new byte[16]);
        var pixels = new byte[count * 784];
        gzip.ReadExactly(pixels);
        return pixels;
    }

    public static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "AeMnist.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("AeMnist.sln not found above the test directory.");
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
