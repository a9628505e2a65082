// --score combined end to end: train learns its scale from the normal validation images and records it in the model
// file, run.json and (after evaluate) metrics.json; evaluate learns it the same way for a run trained with another
// score; score, which has no data, refuses it for such a model with what to do instead.
using System.Text.Json.Nodes;
using AeMnist.Detection;

namespace AeMnist.Cli.Tests;

public sealed class CombinedScoreTests : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private static JsonObject Read(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    [Fact]
    public void Train_learns_the_scale_from_the_normal_validation_images_and_every_record_says_so()
    {
        string data = SmallMnist.Write(_scratch, train: 1200, test: 300);
        string runs = _scratch.File("runs");
        CliResult train = CliRunner.Run("train", "--model", "bottleneck", "--latent", "4", "--channels", "4,8", "--epochs", "2", "--normal", "2",
            "--protocol", "one-class", "--validation", "0.2", "--score", "combined", "--seed", "5", "--data", data, "--runs-dir", runs, "--run-name", "c");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Contains("the train split's combined scores at percentile 90", train.Stdout);  // not "combined score scores"
        string run = Path.Combine(runs, "c");
        JsonObject record = Read(Path.Combine(run, "run.json"));
        JsonObject calibration = record["result"]!["score_calibration"]!.AsObject();
        Assert.Equal((int)record["split"]!["validation_count"]!, (int)calibration["images"]!);
        Assert.Equal("validation split", (string?)calibration["source"]);
        Assert.Contains("standardised on", (string?)calibration["rule"]);
        foreach (string name in new[] { "ssim", "smoothed" })
            Assert.True((double)calibration["bases"]![name]!["log_std"]! > 0, name);

        var (_, _, metadata) = DetectorFile.Load(Path.Combine(run, "model.safetensors"));
        Assert.Equal(AeMnist.Scoring.ScoreKind.Combined, metadata.Score);
        Assert.NotNull(metadata.Calibration);
        Assert.Equal((double)calibration["bases"]!["ssim"]!["log_mean"]!, metadata.Calibration!.Bases[0].LogMean);
        Assert.True(metadata.Threshold > 0);

        CliResult evaluate = CliRunner.Run("evaluate", "--run", run, "--data", data);
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        Assert.EndsWith("; score combined", evaluate.Stdout.Split('\n')[0]);  // the option's value, not "combined score"
        JsonObject metrics = Read(Path.Combine(run, "metrics.json"));
        Assert.Equal("combined", (string?)metrics["score"]);
        Assert.Equal(calibration["bases"]!.ToJsonString(), metrics["score_calibration"]!["bases"]!.ToJsonString());
        Assert.InRange((double)metrics["auroc"]!, 0.5, 1.0);

        // The run's own stored threshold and scale: score gives the same numbers evaluate does.
        CliResult scored = CliRunner.Run("score", "--run", run, "-i", Path.Combine(data, "t10k-images-idx3-ubyte"), "--quiet");
        Assert.True(scored.ExitCode == 0, scored.Stderr);
        Assert.StartsWith("index,source,error,anomaly", scored.Stdout);
    }

    [Fact]
    public void Evaluate_learns_the_scale_for_a_run_trained_with_another_score_and_score_refuses_it()
    {
        string data = SmallMnist.Write(_scratch, train: 1200, test: 300);
        string runs = _scratch.File("runs");
        CliResult train = CliRunner.Run("train", "--model", "dense", "--epochs", "1", "--normal", "1", "--protocol", "one-class", "--validation", "0.2",
            "--seed", "5", "--data", data, "--runs-dir", runs, "--run-name", "m", "--quiet");
        Assert.True(train.ExitCode == 0, train.Stderr);
        string run = Path.Combine(runs, "m");
        Assert.Null(Read(Path.Combine(run, "run.json"))["result"]!["score_calibration"]);

        // Another score than the run's is exploratory: its figures come on stdout (--json), metrics.json is not replaced.
        CliResult evaluate = CliRunner.Run("evaluate", "--run", run, "--data", data, "--score", "combined", "--json");
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        JsonObject metrics = JsonNode.Parse(evaluate.Stdout)!.AsObject();
        Assert.Equal("combined", (string?)metrics["score"]);
        Assert.Equal("validation split", (string?)metrics["score_calibration"]!["source"]);
        Assert.Contains("(the stored threshold is for the mse score)", (string?)metrics["threshold_rule"]);

        CliResult scored = CliRunner.Run("score", "--run", run, "-i", Path.Combine(data, "t10k-images-idx3-ubyte"), "--score", "combined", "--threshold", "1");
        Assert.Equal(2, scored.ExitCode);
        Assert.Contains("--score combined needs the normal images' statistics learnt at training", scored.Stderr);
        Assert.Equal("", scored.Stdout);
    }
}
