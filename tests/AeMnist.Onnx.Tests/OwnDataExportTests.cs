// The preprocessing an export carries for one's own images: a conv model trained on a folder of 16x16 RGB images of
// dark ink on a light background (train --invert). The graph takes the files' own planar RGB bytes, inverts and scales
// them as aemnist read them, and scores them as `aemnist score` does on the same files.
using System.Globalization;
using AeMnist.Imaging;
using AeMnist.Onnx.Runtime;
using AeMnist.Tensors;

namespace AeMnist.Onnx.Tests;

public sealed class OwnDataExportTests : IDisposable
{
    private const int Side = 16;
    private readonly string _root = Directory.CreateTempSubdirectory("aemnist-onnx-own-").FullName;

    [Fact]
    public void An_inverted_RGB_model_scores_the_raw_file_bytes_as_aemnist_score_does()
    {
        string data = Path.Combine(_root, "data");
        var rng = new Rng(4);
        for (int i = 0; i < 80; i++) Picture(Path.Combine(data, "good", $"{i:D3}.png"), rng, horizontal: true);
        for (int i = 0; i < 20; i++) Picture(Path.Combine(data, "scratch", $"{i:D3}.png"), rng, horizontal: false);
        string runs = Path.Combine(_root, "runs");
        CliResult train = Aemnist.Run("train", "--data", data, "--invert", "--color", "rgb", "--model", "conv", "--epochs", "3", "--batch-size", "20",
            "--seed", "2", "--runs-dir", runs, "--run-name", "own", "--quiet");
        Assert.True(train.ExitCode == 0, train.Stderr);
        string run = Path.Combine(runs, "own"), model = Path.Combine(_root, "own.onnx");
        CliResult export = Aemnist.Run("export", "--run", run, "--output", model, "--threshold", "0.01", "--quiet");
        Assert.True(export.ExitCode == 0, export.Stderr);

        string[] files = [.. Directory.GetFiles(Path.Combine(data, "scratch")).Concat(Directory.GetFiles(Path.Combine(data, "good"))).Order(StringComparer.Ordinal).Take(40)];
        string inputs = Path.Combine(_root, "inputs");
        Directory.CreateDirectory(inputs);
        foreach (string f in files) File.Copy(f, Path.Combine(inputs, Path.GetFileName(Path.GetDirectoryName(f)) + "-" + Path.GetFileName(f)));
        string[] copies = [.. Directory.GetFiles(inputs).Order(StringComparer.Ordinal)];
        CliResult score = Aemnist.Run("score", "--run", run, "--input", inputs, "--threshold", "0.01", "--quiet");
        Assert.True(score.ExitCode == 0, score.Stderr);
        string[] rows = score.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..];
        Assert.Equal(copies.Length, rows.Length);

        // The graph's input: each file's RGB bytes, planar, as they are in the file (light background, not inverted).
        var shape = new ImageShape(3, Side, Side);
        var pixels = new byte[copies.Length * shape.Length];
        for (int i = 0; i < copies.Length; i++)
            ImageDecoder.ToPlanar(ImageDecoder.Decode(File.ReadAllBytes(copies[i]), copies[i]), 3, invert: false, pixels.AsSpan(i * shape.Length, shape.Length));
        OnnxOutputs outputs = new OrtRunner().Run(File.ReadAllBytes(model), pixels, copies.Length, shape);
        Assert.Contains("(255 - image) / 255", outputs.Metadata["preprocessing"]);
        Assert.Equal("3x16x16", outputs.Metadata["image_shape"]);
        Assert.Equal("good", outputs.Metadata["normal_class"]);
        for (int i = 0; i < rows.Length; i++)
        {
            string[] f = rows[i].Split(',');
            Assert.Equal("inputs/" + Path.GetFileName(copies[i]), f[1]);
            float expected = float.Parse(f[2], CultureInfo.InvariantCulture);
            Assert.True(ExportComparison.Relative(outputs.Scores[i], expected) <= ExportComparison.Tolerance, $"{f[1]}: {outputs.Scores[i]} in ONNX Runtime, {expected} in aemnist score");
            Assert.Equal(f[3] == "1", outputs.Flags[i]);
        }
    }

    // A 16x16 RGB picture of dark blue ink on a light background: a bar across (good) or down (scratch), at a random place.
    private static void Picture(string path, Rng rng, bool horizontal)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var rgba = new byte[Side * Side * 4];
        int at = 3 + rng.NextInt(10);
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
            {
                bool ink = horizontal ? Math.Abs(y - at) <= 1 && x > 2 && x < 13 : Math.Abs(x - at) <= 1 && y > 2 && y < 13;
                int p = 4 * (y * Side + x), noise = rng.NextInt(20);
                (rgba[p], rgba[p + 1], rgba[p + 2], rgba[p + 3]) = ink ? ((byte)(20 + noise), (byte)(30 + noise), (byte)(120 + noise), (byte)255) : ((byte)(235 + noise), (byte)(230 + noise), (byte)(225 + noise), (byte)255);
            }
        File.WriteAllBytes(path, ImageFiles.EncodeRgba(rgba, Side, Side, SkiaSharp.SKEncodedImageFormat.Png, 100));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
