// `aemnist benchmark --data` end to end on a generated labelled folder (three classes of 16x16 images, no test part,
// 1-2 epochs): its pages name the classes, the data and its checksum, the engine and the scores and show no published
// MNIST rows; a mean over fewer classes says so; a diverged cell is no AUROC and fails the gate; a configuration that
// cannot run is refused before anything is written; errors of parallel cells are the tool's one-line message.
using System.Text.Json.Nodes;
using AeMnist.Imaging;

namespace AeMnist.Cli.Tests;

public sealed class OwnDataBenchmarkTests : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private const string Model = "dense:hidden=16,4:epochs=2:batch-size=8";

    // Three classes of size x size gray images (16x16 unless told): a bright bar (rows), a column, a diagonal, moved a little per image.
    private string Shapes(int perClass = 15, int size = 16, string name = "shapes")
    {
        string root = _scratch.File(name);
        string[] names = ["bar", "column", "diagonal"];
        var random = new Random(3);
        for (int k = 0; k < names.Length; k++)
        {
            Directory.CreateDirectory(Path.Combine(root, names[k]));
            for (int i = 0; i < perClass; i++)
            {
                var pixels = new byte[size * size];
                int shift = i % 5;
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                    {
                        bool on = k switch { 0 => Math.Abs(y - 5 - shift) < 2, 1 => Math.Abs(x - 5 - shift) < 2, _ => Math.Abs(x - y + shift - 2) < 2 };
                        pixels[y * size + x] = (byte)(on ? 200 + random.Next(50) : random.Next(30));
                    }
                File.WriteAllBytes(Path.Combine(root, names[k], $"{i:00}.png"), ImageFiles.EncodeGrayPng(pixels, size, size));
            }
        }
        return root;
    }

    // The defaults of these tests, unless extra gives the option itself.
    private CliResult Benchmark(string data, string output, params string[] extra)
    {
        var args = new List<string> { "benchmark", "--data", data, "--output", _scratch.File(output), "--parallel", "2" };
        foreach ((string option, string value) in new[] { ("--model", Model), ("--seeds", "1"), ("--score", "mse,ssim") })
            if (!extra.Contains(option)) args.AddRange([option, value]);
        return CliRunner.Run([.. args, .. extra]);
    }

    [Fact]
    public void A_labelled_folder_is_benchmarked_over_its_classes_by_name_with_its_data_named_and_no_published_rows()
    {
        string data = Shapes();
        CliResult result = Benchmark(data, "bench");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("3 class(es)", result.Stdout);
        Assert.Contains("class 'column' seed 1: AUROC mse", result.Stdout);
        Assert.DoesNotContain("Deep SVDD", result.Stdout);
        Assert.DoesNotContain("digit", result.Stdout);
        Assert.Contains("bar", result.Stdout);
        Assert.Contains("3 of 3 cells finished", result.Stdout);

        string bench = _scratch.File("bench");
        JsonObject json = JsonNode.Parse(File.ReadAllText(Path.Combine(bench, "benchmark.json")))!.AsObject();
        Assert.Equal(Path.GetFullPath(data), (string?)json["data"]!["path"]);
        string sha = (string)json["data"]!["sha256"]!;
        Assert.Matches("^[0-9a-f]{64}$", sha);
        Assert.Equal(["bar", "column", "diagonal"], json["data"]!["class_names"]!.AsArray().Select(c => (string)c!).ToArray());
        Assert.Equal("native", (string?)json["engine"]);
        Assert.Empty(json["reference_rows"]!.AsArray());
        Assert.Null(json["digits"]);
        JsonObject row = json["rows"]![0]!.AsObject();
        Assert.Equal(3, row["auroc_percent_by_class"]!.AsArray().Count);
        Assert.Equal(3, (int)row["classes_in_mean"]!);
        Assert.Contains(json["description"]!.AsArray(), l => ((string)l!).Contains("held out", StringComparison.Ordinal));

        // Each cell records its data and whole configuration.
        string cell = Directory.GetDirectories(Path.Combine(bench, "cells", Directory.GetDirectories(Path.Combine(bench, "cells")).Single()), "c1-column-s1").Single();
        JsonObject cellJson = JsonNode.Parse(File.ReadAllText(Path.Combine(cell, "cell.json")))!.AsObject();
        Assert.Equal(sha, (string?)cellJson["data"]!["sha256"]);
        Assert.Equal(sha, (string?)cellJson["run_configuration"]!["data_sha256"]);
        Assert.Equal(2, (int)cellJson["run_configuration"]!["train"]!["epochs"]!);
        Assert.Equal("finished", (string?)cellJson["status"]);
        Assert.Equal("column", (string?)cellJson["class_name"]);

        string html = File.ReadAllText(Path.Combine(bench, "benchmark.html"));
        Assert.Contains("class diagonal", html);
        Assert.Contains(sha, html);
        Assert.DoesNotContain("MNIST", html);
        string md = File.ReadAllText(Path.Combine(bench, "benchmark.md"));
        Assert.Contains("| model | score | bar | column | diagonal |", md);
        Assert.Contains("Engine: native on cpu", md);
        Assert.StartsWith("model,score,class,class_name,seed,auroc", File.ReadAllText(Path.Combine(bench, "benchmark.csv")));

        // Two of the three classes, by name and number: the cells are reused, and the mean says it is over 2 of 3.
        CliResult subset = Benchmark(data, "bench", "--classes", "COLUMN,0");
        Assert.True(subset.ExitCode == 0, subset.ToString());
        Assert.Contains("(finished earlier)", subset.Stdout);
        Assert.Contains("(2 of 3 classes)", subset.Stdout);

        // --no-train rewrites the tables and runs no cell: it gives no wall time of the grid, rather than 0 s.
        CliResult tables = CliRunner.Run("benchmark", "--data", data, "--output", bench, "--model", Model, "--seeds", "1", "--score", "mse,ssim", "--no-train");
        Assert.True(tables.ExitCode == 0, tables.ToString());
        Assert.Contains("no cell ran (--no-train)", tables.Stdout);
        Assert.Null(JsonNode.Parse(File.ReadAllText(Path.Combine(bench, "benchmark.json")))!["wall_seconds"]);

        // The cells of this data are not reused for other data in the same directory.
        File.Delete(Path.Combine(data, "bar", "00.png"));
        CliResult other = Benchmark(data, "bench");
        Assert.Equal(1, other.ExitCode);
        Assert.Contains("this cell was made from other data", other.Stderr);
    }

    [Fact]
    public void MVTec_ADs_layout_benchmarks_the_classes_with_training_images_on_its_test_part()
    {
        // train/good and test/good, test/column: the defect class has no training images, so it is never normal.
        string shapes = Shapes(perClass: 12);
        string root = _scratch.File("mvtec");
        foreach ((string part, string cls, string from, int first, int count) in new[] { ("train", "good", "bar", 0, 8), ("test", "good", "bar", 8, 4), ("test", "column", "column", 0, 4) })
        {
            Directory.CreateDirectory(Path.Combine(root, part, cls));
            for (int i = first; i < first + count; i++) File.Copy(Path.Combine(shapes, from, $"{i:00}.png"), Path.Combine(root, part, cls, $"{i:00}.png"));
        }
        CliResult result = Benchmark(root, "mvtec", "--score", "mse");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("1 model(s) x 1 class(es)", result.Stdout);
        Assert.Contains("class 'good' seed 1: AUROC mse", result.Stdout);
        Assert.Contains("(1 of 2 classes)", result.Stdout);
        Assert.Contains("tested on the data's whole test part", result.Stdout);
        // Naming the defect class as normal is refused: it has no training images.
        CliResult defect = Benchmark(root, "mvtec-defect", "--score", "mse", "--classes", "column");
        Assert.Equal(2, defect.ExitCode);
        Assert.Contains("the training part of the data has no images of class", defect.Stderr);
        Assert.False(Directory.Exists(_scratch.File("mvtec-defect")));
    }

    [Fact]
    public void Configurations_that_cannot_run_are_refused_before_anything_is_written()
    {
        string data = Shapes(perClass: 6);
        void Refused(int code, string message, params string[] extra)
        {
            string output = _scratch.File("refused-" + Guid.NewGuid().ToString("N"));
            CliResult result = CliRunner.Run(["benchmark", "--data", data, "--output", output, .. extra]);
            Assert.True(result.ExitCode == code, result.ToString());
            Assert.Contains(message, result.Stderr);
            Assert.DoesNotContain("internal error", result.Stderr);
            Assert.DoesNotContain("One or more errors", result.Stderr);
            Assert.False(Directory.Exists(output), "nothing written");
        }
        Refused(2, "--classes 'circle' is not a class of", "--model", Model, "--classes", "circle");
        Refused(2, "--digits names MNIST's digits", "--model", Model, "--digits", "0-2");
        Refused(2, "--digits and --classes name the same thing", "--model", Model, "--digits", "0-2", "--classes", "0");
        Refused(2, "--train-normal + --test-normal", "--model", Model, "--protocol", "seed");
        Refused(2, "--seeds", "--model", Model, "--seeds", "18446744073709551615-18446744073709551616");
        Refused(2, "are the same configuration", "--model", "dense:lr=0.001", "dense:lr=1e-3");

        // A model that cannot take the data's images: refused before any cell trains, saying why and what to do.
        data = Shapes(perClass: 6, size: 13, name: "odd");
        Refused(2, "--model 'bottleneck' cannot run on 13x13 images: the bottleneck model needs a height and width divisible by 4", "--model", Model, "bottleneck");
    }

    [Fact]
    public void A_diverged_cell_is_printed_as_such_is_no_part_of_the_mean_and_fails_the_gate()
    {
        string data = Shapes();
        CliResult result = Benchmark(data, "diverged", "--model", "dense:hidden=16,4:epochs=1:batch-size=8:lr=1e30", "--classes", "bar", "--min-mean-auroc", "0");
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("DIVERGED", result.Stdout);
        Assert.Contains("not counted", result.Stdout);
        Assert.Contains("quality gate not met: 1 of 1 cells diverged or collapsed", result.Stderr);
        JsonObject json = JsonNode.Parse(File.ReadAllText(Path.Combine(_scratch.File("diverged"), "benchmark.json")))!.AsObject();
        Assert.Equal(1, (int)json["cells_diverged"]!);
        Assert.Equal(0, (int)json["cells_finished"]!);
        Assert.Null(json["rows"]![0]!["mean"]);
        Assert.Null(json["best"]);
    }

    [Fact]
    public void Seeds_at_the_end_of_their_type_run_and_a_watched_test_split_is_flagged()
    {
        string data = Shapes();
        CliResult result = Benchmark(data, "edge", "--model", "dense:hidden=16,4:epochs=1:batch-size=8:validation=0", "--classes", "diagonal",
            "--seeds", "18446744073709551614-18446744073709551615", "--score", "mse");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("seed 18446744073709551615: AUROC", result.Stdout);
        Assert.Contains("[watched test]", result.Stdout);
        Assert.Contains("watched the TEST split", File.ReadAllText(Path.Combine(_scratch.File("edge"), "benchmark.html")));
    }

    [Fact]
    public void An_error_in_a_parallel_cell_is_the_tools_one_line_message()
    {
        string data = Shapes();
        Assert.Equal(0, Benchmark(data, "broken", "--classes", "bar,column", "--score", "mse").ExitCode);
        // One cell's model damaged (and its result gone): scoring it again fails as a data error, named, exit 1.
        string cells = Path.Combine(_scratch.File("broken"), "cells");
        string cell = Path.Combine(Directory.GetDirectories(cells).Single(), "c1-column-s1");
        File.Delete(Path.Combine(cell, "cell.json"));
        File.WriteAllBytes(Path.Combine(cell, "model.safetensors"), [1, 2, 3]);
        CliResult result = Benchmark(data, "broken", "--classes", "bar,column,diagonal", "--score", "mse");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("aemnist: ", result.Stderr);
        Assert.Contains("model.safetensors", result.Stderr);
        Assert.DoesNotContain("One or more errors", result.Stderr);
        Assert.DoesNotContain("internal error", result.Stderr);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }
}
