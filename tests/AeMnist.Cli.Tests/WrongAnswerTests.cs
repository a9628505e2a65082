using System.Diagnostics;
using System.Text.Json.Nodes;
using AeMnist.Detection;

namespace AeMnist.Cli.Tests;

/// <summary>
/// Answers that were wrong with exit code 0 (issue 12), against the real process: a collapsed model is detected in
/// training and named by every command (with --retry-collapsed as the remedy), a threshold that flags none or all of a
/// split is a warning, a huge batch trains the whole split, and sizes are checked before memory is spent.
/// </summary>
public sealed class WrongAnswerTests : IDisposable
{
    private readonly TempDirectory _scratch = new();
    private string? _data;

    public void Dispose() => _scratch.Dispose();

    private string Data => _data ??= SmallMnist.Write(_scratch, train: 1500, test: 500);

    // Seed 2 makes the tutorial's conv model collapse on this split (its last ReLU dies in the first epoch); seed 3 does not.
    private string[] Conv(string name, params string[] extra) => ConvSeed(name, "2", extra);

    private string[] ConvSeed(string name, string seed, params string[] extra) =>
    [
        "train", "--model", "conv", "--seed", seed, "--epochs", "5", "--eval-every", "1", "--patience", "10",
        "--train-normal", "100", "--train-anomalies", "10", "--test-normal", "40", "--test-anomalies", "40", "--threads", "1",
        "--data", Data, "--runs-dir", _scratch.File("runs"), "--run-name", name, .. extra,
    ];

    private static string[] Warnings(string stderr) => stderr.Split('\n').Where(l => l.StartsWith("aemnist: warning: ", StringComparison.Ordinal)).ToArray();

    [Fact]
    public void A_collapsed_model_is_detected_in_training_and_named_by_every_command()
    {
        ProcessResult train = AemnistProcess.Run(Conv("collapsed", "--json"), _scratch.Path);
        Assert.True(train.ExitCode == 0, train.ToString());
        string run = _scratch.File("runs/collapsed");
        Assert.Contains("is a collapsed model", Assert.Single(Warnings(train.Stderr)));
        Assert.Contains("--retry-collapsed", train.Stderr);
        Assert.True((bool)JsonNode.Parse(train.Stdout)!["collapsed"]!);
        Assert.True((bool)JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!["result"]!["collapsed"]!);
        Assert.True(DetectorFile.Load(Path.Combine(run, "model.safetensors")).Metadata.Collapsed);

        string csv = _scratch.Write("rows.csv", Blob(10) + "\n" + Blob(14) + "\n");
        foreach (string[] args in new[]
        {
            new[] { "evaluate", "--run", run, "--quiet" },
            ["score", "--run", run, "--input", csv, "--quiet"],
            ["report", "--run", run, "--quiet"],
            ["score", "--model-file", Path.Combine(run, "model.safetensors"), "--input", csv, "--output", _scratch.File("out.csv")],
        })
        {
            ProcessResult used = AemnistProcess.Run(args, _scratch.Path);
            Assert.True(used.ExitCode == 0, used.ToString());
            Assert.Contains(Warnings(used.Stderr), w => w.Contains("is a collapsed model", StringComparison.Ordinal));
        }
        Assert.Contains("Collapsed model: it reconstructs every image as the same image", File.ReadAllText(Path.Combine(run, "report.html")));
        Assert.Contains("is a collapsed model", File.ReadAllText(Path.Combine(run, "metrics.json")));
    }

    [Fact]
    public void Retry_collapsed_trains_again_with_the_next_seed_and_records_it()
    {
        ProcessResult train = AemnistProcess.Run(Conv("retried", "--retry-collapsed", "3"), _scratch.Path);
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("the model collapsed", train.Stderr);
        Assert.Contains("training again with seed 3", train.Stderr);
        JsonObject runJson = JsonNode.Parse(File.ReadAllText(_scratch.File("runs/retried/run.json")))!.AsObject();
        Assert.Equal(3UL, (ulong)runJson["options"]!["seed"]!);
        Assert.Equal(2UL, (ulong)runJson["options"]!["requested_seed"]!);
        Assert.Equal([2UL], runJson["options"]!["collapsed_seeds"]!.AsArray().Select(n => (ulong)n!).ToArray());
        Assert.False((bool)runJson["result"]!["collapsed"]!);
        var metadata = DetectorFile.Load(_scratch.File("runs/retried/model.safetensors")).Metadata;
        Assert.Equal(3UL, metadata.Seed);
        Assert.False(metadata.Collapsed);

        // The result is exactly the run seed 3 gives on its own.
        ProcessResult seed3 = AemnistProcess.Run(ConvSeed("seed3", "3", "--quiet"), _scratch.Path);
        Assert.True(seed3.ExitCode == 0, seed3.ToString());
        Assert.Equal(File.ReadAllBytes(_scratch.File("runs/seed3/model.safetensors")), File.ReadAllBytes(_scratch.File("runs/retried/model.safetensors")));
    }

    [Fact]
    public void A_threshold_that_flags_none_or_all_is_a_warning_on_evaluate_and_score()
    {
        CliResult train = CliRunner.Run("train", "--hidden", "16,8", "--epochs", "2", "--train-normal", "100", "--train-anomalies", "10",
            "--test-normal", "40", "--test-anomalies", "40", "--data", Data, "--runs-dir", _scratch.File("runs"), "--run-name", "t", "--quiet");
        Assert.True(train.ExitCode == 0, train.Stderr);
        string run = _scratch.File("runs/t");
        string csv = _scratch.Write("rows.csv", Blob(10) + "\n" + Blob(14) + "\n");

        ProcessResult none = AemnistProcess.Run(["evaluate", "--run", run, "--threshold", "5"], _scratch.Path);
        Assert.True(none.ExitCode == 0, none.ToString());
        Assert.Contains("threshold 5 flags none of the 80 test images", Assert.Single(Warnings(none.Stderr)));
        ProcessResult all = AemnistProcess.Run(["evaluate", "--run", run, "--threshold", "0", "--json"], _scratch.Path);
        Assert.Contains("flags all 80 test images", Assert.Single(Warnings(all.Stderr)));
        Assert.Contains("flags all 80 test images", JsonNode.Parse(all.Stdout)!["warnings"]![0]!.ToString());
        ProcessResult stored = AemnistProcess.Run(["evaluate", "--run", run], _scratch.Path);
        Assert.Empty(Warnings(stored.Stderr));
        ProcessResult score = AemnistProcess.Run(["score", "--run", run, "--input", csv, "--threshold", "5", "--quiet"], _scratch.Path);
        Assert.True(score.ExitCode == 0, score.ToString());
        Assert.Contains("flags none of the 2 images", Assert.Single(Warnings(score.Stderr)));
    }

    [Fact]
    public void A_batch_larger_than_the_split_trains_the_whole_split_as_one_batch()
    {
        string[] Train(string name, string batch) => ["train", "--hidden", "16,8", "--epochs", "3", "--batch-size", batch, "--train-normal", "100",
            "--train-anomalies", "10", "--test-normal", "40", "--test-anomalies", "40", "--threads", "1", "--data", Data,
            "--runs-dir", _scratch.File("runs"), "--run-name", name, "--json"];
        ProcessResult huge = AemnistProcess.Run(Train("huge", "2147483647"), _scratch.Path);
        Assert.True(huge.ExitCode == 0, huge.ToString());
        Assert.True((double)JsonNode.Parse(huge.Stdout)!["final_train_loss"]! > 0.01);
        CliResult exact = CliRunner.Run(Train("exact", "110"));
        Assert.True(exact.ExitCode == 0, exact.Stderr);
        Assert.Equal(File.ReadAllBytes(_scratch.File("runs/exact/model.safetensors")), File.ReadAllBytes(_scratch.File("runs/huge/model.safetensors")));
    }

    [Theory]
    [InlineData("--hidden 46341,46341", "--hidden '46341,46341' must be integers 1-16384")]
    [InlineData("--hidden 16384,16384", "has 562,610,960 parameters, more than the 67,108,864 aemnist trains")]
    public void Models_too_large_to_train_are_usage_errors_before_anything_is_allocated(string option, string message)
    {
        ProcessResult result = AemnistProcess.Run(["train", .. option.Split(' '), "--epochs", "1", "--runs-dir", _scratch.File("runs")], _scratch.Path);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Stderr);
        Assert.DoesNotContain("internal error", result.Stderr);
        Assert.False(Directory.Exists(_scratch.File("runs")));
    }

    [Theory]
    [InlineData("--hidden 4096,2048 --batch-size 64", "use smaller --hidden sizes")]
    [InlineData("--hidden 512,256 --batch-size 60000", "use a smaller --batch-size")]
    public void Training_that_would_not_fit_in_memory_is_refused_up_front_blaming_the_right_option(string options, string blame)
    {
        // 256 MiB for the whole process (the GC's hard limit), and a model or a batch that needs more.
        var limit = new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x10000000" };
        ProcessResult result = AemnistProcess.Run(["train", .. options.Split(' '), "--protocol", "one-class", "--normal", "1", "--epochs", "1",
            "--data", SmallMnist.ShippedDirectory, "--runs-dir", _scratch.File("runs")], _scratch.Path, environment: limit);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("aemnist: training would need about ", result.Stderr);
        Assert.Contains(blame, result.Stderr);
        Assert.False(Directory.Exists(_scratch.File("runs")));
    }

    /// <summary>A CSV row of 784 pixels: a centred square of side <paramref name="side"/> at 200 on black (an image no input warning flags).</summary>
    private static string Blob(int side) =>
        string.Join(",", Enumerable.Range(0, 784).Select(i => Math.Abs(i / 28 - 13.5) < side / 2.0 && Math.Abs(i % 28 - 13.5) < side / 2.0 ? "200" : "0"));
}
