// train --protocol development: the one-class protocol inside the training file, for choosing a recipe without the test
// file. The run records the protocol, evaluate rebuilds the same split from it, and no test-file image is scored.
using System.Text.Json.Nodes;
using AeMnist.Data;

namespace AeMnist.Cli.Tests;

public sealed class DevelopmentProtocolTests : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void A_development_run_tests_on_the_last_sixth_of_each_training_digit_and_says_so()
    {
        string data = SmallMnist.Write(_scratch, train: 1200, test: 300);
        string runs = _scratch.File("runs");
        CliResult train = CliRunner.Run("train", "--model", "dense", "--normal", "5", "--protocol", "development", "--validation", "0.1",
            "--epochs", "1", "--seed", "3", "--data", data, "--runs-dir", runs, "--run-name", "dev", "--quiet");
        Assert.True(train.ExitCode == 0, train.Stderr);
        string run = Path.Combine(runs, "dev");
        JsonObject record = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!.AsObject();
        Assert.Contains("\"development\"", record.ToJsonString());

        CliResult evaluate = CliRunner.Run("evaluate", "--run", run, "--data", data, "--quiet");
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        JsonObject metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!.AsObject();
        Assert.Equal("development", (string?)metrics["protocol"]);
        // The expected test part, counted from the training file's labels alone: the last sixth of each digit.
        Dataset small = MnistFiles.Load(data);
        int[] perDigit = [.. Enumerable.Range(0, 10).Select(d => small.Labels.Take(small.TrainCount).Count(l => l == d))];
        int Held(int d) => d == 5 ? Splitter.DevelopmentHeld(perDigit[d]) : Math.Max(1, Splitter.DevelopmentHeld(perDigit[d]));
        Assert.Equal(Held(5), (int)metrics["test_normal"]!);
        Assert.Equal(Enumerable.Range(0, 10).Where(d => d != 5).Sum(Held), (int)metrics["test_anomalies"]!);
        Assert.False((bool)metrics["test_used_for_early_stopping"]!);
    }

    [Fact]
    public void The_benchmark_runs_on_the_development_protocol_and_scores_combined_from_each_cells_validation_images()
    {
        string data = SmallMnist.Write(_scratch, train: 1200, test: 300);
        string output = _scratch.File("bench");
        CliResult result = CliRunner.Run("benchmark", "--model", "dense:epochs=1:validation=0.2", "--digits", "3", "--seeds", "1", "--protocol", "development",
            "--score", "ssim,combined", "--data", data, "--output", output, "--parallel", "1", "--quiet");
        Assert.True(result.ExitCode == 0, result.Stderr);
        string[] cells = Directory.GetFiles(Path.Combine(output, "cells"), "cell.json", SearchOption.AllDirectories);
        string cellFile = Assert.Single(cells);
        Assert.Equal("d3-s1", Path.GetFileName(Path.GetDirectoryName(cellFile)));
        JsonObject cell = JsonNode.Parse(File.ReadAllText(cellFile))!.AsObject();
        Assert.Equal("development", (string?)cell["protocol"]);
        Assert.InRange((double)cell["auroc"]!["combined"]!, 0.5, 1.0);
        Assert.Contains("the test file unused", File.ReadAllText(Path.Combine(output, "benchmark.html")));
        // The same configuration under the one-class protocol is another experiment: its own cell (the protocol is part of
        // the cell's hash), never the development cell's result reported under the one-class protocol.
        CliResult other = CliRunner.Run("benchmark", "--model", "dense:epochs=1:validation=0.2", "--digits", "3", "--seeds", "1", "--score", "ssim",
            "--data", data, "--output", output, "--parallel", "1", "--quiet");
        Assert.True(other.ExitCode == 0, other.Stderr);
        string[] both = Directory.GetFiles(Path.Combine(output, "cells"), "cell.json", SearchOption.AllDirectories);
        Assert.Equal(2, both.Length);
        string oneClass = Assert.Single(both, f => f != cellFile);
        Assert.Equal("one-class", (string?)JsonNode.Parse(File.ReadAllText(oneClass))!["protocol"]);
        Assert.Equal("development", (string?)JsonNode.Parse(File.ReadAllText(cellFile))!["protocol"]);
    }

    [Fact]
    public void The_seed_protocols_counts_cannot_apply()
    {
        string data = SmallMnist.Write(_scratch, train: 600, test: 100);
        CliResult r = CliRunner.Run("train", "--protocol", "development", "--train-normal", "100", "--data", data, "--runs-dir", _scratch.File("runs"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--train-normal cannot apply: the development protocol", r.Stderr);
        Assert.False(Directory.Exists(_scratch.File("runs")));
    }
}
