// The report of a run on a folder of the user's own RGB images (MVTec AD's layout: train/good, test/good|scratch|chunk):
// it names the folder, its checksum, its classes and the score, draws the class chart under the classes' names, never
// says "digit" or "MNIST"; a comparison with a run on other images warns that the data differ.
using System.Text.RegularExpressions;
using SkiaSharp;

namespace AeMnist.Cli.Tests;

public sealed class ImageReportTests : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    // A 16x16 RGB disc, shifted by its index; scratch draws a light line across it, chunk cuts a dark square out.
    private static void Disc(string path, int index, string kind)
    {
        using var bitmap = new SKBitmap(16, 16, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++)
            {
                double dx = x - 7.5 - index % 3 + 1, dy = y - 7.5;
                bool inside = dx * dx + dy * dy < 36;
                bool defect = kind == "scratch" ? Math.Abs(x - y) < 1 : kind == "chunk" && x > 8 && y > 8;
                bitmap.SetPixel(x, y, defect ? (kind == "scratch" ? new SKColor(250, 250, 250) : new SKColor(10, 10, 10))
                    : inside ? new SKColor(220, (byte)(120 + 5 * index % 40), 40) : new SKColor(30, 40, 50));
            }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var file = File.Create(path);
        bitmap.Encode(file, SKEncodedImageFormat.Png, 100);
    }

    private string Folder(string name, int trainGood)
    {
        string root = _scratch.CreateDirectory(name);
        for (int i = 0; i < trainGood; i++) Disc(Path.Combine(root, "train", "good", $"{i:000}.png"), i, "good");
        foreach (string kind in new[] { "good", "scratch", "chunk" })
            for (int i = 0; i < 8; i++) Disc(Path.Combine(root, "test", kind, $"{i:000}.png"), i, kind);
        return root;
    }

    private string Train(string data, string runs, string name)
    {
        CliResult train = CliRunner.Run("train", "--data", data, "--model", "dense", "--epochs", "2", "--runs-dir", runs, "--run-name", name, "--quiet");
        Assert.True(train.ExitCode == 0, train.Stderr);
        return Path.Combine(runs, name);
    }

    [Fact]
    public void Report_of_own_rgb_images_names_their_classes_data_and_score()
    {
        string discs = Folder("discs", 40);
        string runs = _scratch.File("runs");
        string run = Train(discs, runs, "discs");
        CliResult report = CliRunner.Run("report", "--run", run);
        Assert.True(report.ExitCode == 0, report.Stderr);
        Assert.Contains("classes.svg", report.Stdout);
        string html = File.ReadAllText(Path.Combine(run, "report.html"));
        string text = Regex.Replace(html, "<[^>]+>", " ");
        Assert.DoesNotContain("digit", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("MNIST", text, StringComparison.Ordinal);
        Assert.Contains("normal class &#39;good&#39;", html);
        Assert.Contains($"on {discs} (image folder): 24 test images (16x16 RGB)", html);
        Assert.Contains("normal: good; 16 anomalous: chunk, scratch", html);
        Assert.Matches("sha256 <code>[0-9a-f]{64}</code>", html);
        Assert.Contains("engine: native (cpu, ", html);
        Assert.Contains("good (normal)", File.ReadAllText(Path.Combine(run, "classes.svg")));
        Assert.False(File.Exists(Path.Combine(run, "digits.svg")));
        // The score on the axes: dense is scored by MSE unless told otherwise.
        Assert.Contains(">MSE", File.ReadAllText(Path.Combine(run, "histogram.svg")));

        // Another folder (one more training image): a comparison says the runs were evaluated on different data.
        string other = Train(Folder("discs2", 41), runs, "discs2");
        CliResult compare = CliRunner.Run("report", "--compare", run, other, "--output", _scratch.File("compare.html"));
        Assert.True(compare.ExitCode == 0, compare.Stderr);
        string page = File.ReadAllText(_scratch.File("compare.html"));
        Assert.Contains("These runs were evaluated on different data", page);
        Assert.Contains($"image folder at {discs}", page);
    }
}
