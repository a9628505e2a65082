// aemnist benchmark, encode and the --score/--noise options end to end on small, fast configurations.
using System.Text.Json.Nodes;

namespace AeMnist.Cli.Tests;

public sealed class BenchmarkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aemnist-bench-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private CliResult Benchmark(params string[] extra) =>
        CliRunner.Run(["benchmark", "--model", "dense:epochs=1:validation=0.1", "--digits", "1,7", "--seeds", "3", "--score", "mse,ssim",
            "--output", Path.Combine(_dir, "bench"), "--parallel", "2", .. extra]);

    [Fact]
    public void A_grid_runs_writes_its_tables_resumes_without_recomputing_and_gates_on_the_mean()
    {
        CliResult first = Benchmark();
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("One-Class Deep SVDD", first.Stdout);
        Assert.Contains("2 of 2 cells finished", first.Stdout);
        string bench = Path.Combine(_dir, "bench");
        foreach (string file in new[] { "benchmark.md", "benchmark.csv", "benchmark.json", "benchmark.html" })
            Assert.True(File.Exists(Path.Combine(bench, file)), file);
        // One directory per configuration: its text and a hash of the whole configuration; one per cell: digit and seed.
        string modelDirectory = Assert.Single(Directory.GetDirectories(Path.Combine(bench, "cells")));
        Assert.Matches("^dense-epochs=1-validation=0.1-[0-9a-f]{16}$", Path.GetFileName(modelDirectory));
        string cell = Path.Combine(modelDirectory, "d7-s3");
        JsonObject cellJson = JsonNode.Parse(File.ReadAllText(Path.Combine(cell, "cell.json")))!.AsObject();
        double auroc = (double)cellJson["auroc"]!["ssim"]!;
        Assert.InRange(auroc, 0.5, 1.0);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(bench, "benchmark.csv")).Length - 1);  // 2 cells x 2 scores
        JsonObject json = JsonNode.Parse(File.ReadAllText(Path.Combine(bench, "benchmark.json")))!.AsObject();
        Assert.Equal(2, (int)json["cells_finished"]!);
        string html = File.ReadAllText(Path.Combine(bench, "benchmark.html"));
        Assert.Contains("<svg", html);
        Assert.DoesNotContain("<script", html);

        // Again: nothing is recomputed.
        string runJson = File.ReadAllText(Path.Combine(cell, "run.json"));
        CliResult second = Benchmark();
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("(finished earlier)", second.Stdout);
        Assert.Equal(runJson, File.ReadAllText(Path.Combine(cell, "run.json")));

        // A cell whose scoring did not finish is scored again from its model, not retrained.
        File.Delete(Path.Combine(cell, "cell.json"));
        CliResult third = Benchmark();
        Assert.Equal(0, third.ExitCode);
        Assert.Equal(runJson, File.ReadAllText(Path.Combine(cell, "run.json")));
        Assert.Equal(auroc, (double)JsonNode.Parse(File.ReadAllText(Path.Combine(cell, "cell.json")))!["auroc"]!["ssim"]!);

        // A damaged cell.json (a field gone, a number turned to text) is likewise scored again, not a crash.
        string damaged = File.ReadAllText(Path.Combine(cell, "cell.json"));
        JsonObject broken = JsonNode.Parse(damaged)!.AsObject();
        broken.Remove("epochs_run");
        broken["best_epoch"] = "one";
        File.WriteAllText(Path.Combine(cell, "cell.json"), broken.ToJsonString());
        CliResult fourth = Benchmark();
        Assert.True(fourth.ExitCode == 0, fourth.ToString());
        Assert.Equal(runJson, File.ReadAllText(Path.Combine(cell, "run.json")));
        Assert.NotNull(JsonNode.Parse(File.ReadAllText(Path.Combine(cell, "cell.json")))!["epochs_run"]);

        CliResult gate = Benchmark("--min-mean-auroc", "0.9999");
        Assert.Equal(3, gate.ExitCode);
        Assert.Contains("quality gate not met: the best mean AUROC", gate.Stderr);
        Assert.Equal(0, Benchmark("--min-mean-auroc", "0.5").ExitCode);

        // A cell.json that claims another configuration is no result: the cell is scored again from its run, which is this one's.
        string cellFile = Path.Combine(cell, "cell.json");
        JsonObject recorded = JsonNode.Parse(File.ReadAllText(cellFile))!.AsObject();
        Assert.Equal("finished", (string?)recorded["status"]);
        Assert.Matches("^[0-9a-f]{64}$", (string)recorded["data"]!["sha256"]!);
        File.WriteAllText(cellFile, File.ReadAllText(cellFile).Replace("\"epochs\": 1", "\"epochs\": 2"));
        CliResult rescored = Benchmark();
        Assert.True(rescored.ExitCode == 0, rescored.ToString());
        Assert.Equal(runJson, File.ReadAllText(Path.Combine(cell, "run.json")));
        Assert.Equal(1, (int)JsonNode.Parse(File.ReadAllText(cellFile))!["run_configuration"]!["train"]!["epochs"]!);

        // A run of another configuration where the cell lives is not its result: it is trained again from scratch.
        File.Delete(cellFile);
        File.WriteAllText(Path.Combine(cell, "run.json"), runJson.Replace("\"epochs\": 1,", "\"epochs\": 2,"));
        CliResult retrained = Benchmark();
        Assert.True(retrained.ExitCode == 0, retrained.ToString());
        Assert.Contains("another configuration (train.epochs 2, not 1); training the cell again from scratch", retrained.Stderr);
        Assert.Equal(1, (int)JsonNode.Parse(File.ReadAllText(Path.Combine(cell, "run.json")))!["options"]!["epochs"]!);
        Assert.Equal(auroc, (double)JsonNode.Parse(File.ReadAllText(cellFile))!["auroc"]!["ssim"]!);
    }

    [Theory]
    [InlineData("--digits", "12", "--digits '12' must be digits 0-9")]
    [InlineData("--score", "l1", "--score 'l1' is not a score")]
    [InlineData("--min-mean-auroc", "98.5", "must be a fraction in [0, 1] (0.985 for 98.5 %)")]
    [InlineData("--model", "dense:size=3", "'size' is neither an option of dense")]
    [InlineData("--protocol", "two-class", "--protocol 'two-class' is not a protocol")]
    public void Bad_options_are_usage_errors(string option, string value, string message)
    {
        CliResult result = CliRunner.Run("benchmark", option, value, "--output", Path.Combine(_dir, "x"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.False(Directory.Exists(Path.Combine(_dir, "x")));
    }

    [Fact]
    public void Train_with_a_score_stores_it_and_evaluate_encode_use_the_model()
    {
        string runs = Path.Combine(_dir, "runs");
        CliResult train = CliRunner.Run("train", "--epochs", "1", "--train-normal", "300", "--train-anomalies", "30", "--test-normal", "100",
            "--test-anomalies", "100", "--score", "ssim", "--noise", "0.2", "--runs-dir", runs, "--run-name", "s", "--quiet");
        Assert.True(train.ExitCode == 0, train.Stderr);
        string run = Path.Combine(runs, "s");
        CliResult evaluate = CliRunner.Run("evaluate", "--run", run, "--json");
        Assert.Equal(0, evaluate.ExitCode);
        JsonObject metrics = JsonNode.Parse(evaluate.Stdout)!.AsObject();
        Assert.Equal("ssim", (string)metrics["score"]!);
        Assert.Contains("stored threshold", (string)metrics["threshold_rule"]!);
        JsonObject mse = JsonNode.Parse(CliRunner.Run("evaluate", "--run", run, "--json", "--score", "mse").Stdout)!.AsObject();
        Assert.Equal("mse", (string)mse["score"]!);
        Assert.Contains("the stored threshold is for the ssim score", (string)mse["threshold_rule"]!);
        JsonObject options = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!["options"]!.AsObject();
        Assert.Equal(0.2, (double)options["noise"]!);

        string idx = Path.Combine(AeMnist.Data.MnistFiles.FindDefaultDirectory(AppContext.BaseDirectory)!, "t10k-images-idx3-ubyte.gz");
        CliResult score = CliRunner.Run("score", "--run", run, "--input", idx, "--score", "mse");
        Assert.Equal(2, score.ExitCode);
        Assert.Contains("stores a threshold for the ssim score, not mse; pass --threshold X", score.Stderr);

        string codes = Path.Combine(_dir, "codes.csv");
        CliResult encode = CliRunner.Run("encode", "--run", run, "--input", idx, "--output", codes, "--quiet");
        Assert.True(encode.ExitCode == 0, encode.Stderr);
        string[] lines = File.ReadAllLines(codes);
        Assert.Equal(10001, lines.Length);
        Assert.StartsWith("index,source,z0,z1,", lines[0]);
        Assert.Equal(2 + 32, lines[1].Split(',').Length);  // dense latent: 32 values
        CliResult npy = CliRunner.Run("encode", "--run", run, "--input", idx, "--format", "npy");
        Assert.Equal(2, npy.ExitCode);
        Assert.Contains("give --output FILE.npy", npy.Stderr);
    }
}
