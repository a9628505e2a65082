using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.Runs;
using AeMnist.Serialization;
using AeMnist.Training;

namespace AeMnist.Cli.Tests;

/// <summary>
/// A NaN or infinite loss stops training with exit code 1 and one line saying what happened, and the run
/// keeps a model of finite, last-good weights: the best evaluated ones, or the initial ones when the loss
/// diverged before any evaluation.
/// </summary>
public sealed class DivergenceTests : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private static readonly string[] SmallSplit =
        ["--train-normal", "200", "--train-anomalies", "20", "--test-normal", "50", "--test-anomalies", "50"];

    [Fact]
    public void A_huge_learning_rate_stops_with_a_message_and_keeps_the_initial_weights()
    {
        string runs = _scratch.File("runs");
        CliResult result = CliRunner.Run(["train", "--lr", "1e10", "--epochs", "5", "--batch-size", "64", .. SmallSplit,
            "--data", SmallMnist.Write(_scratch), "--runs-dir", runs, "--run-name", "huge-lr"]);

        Assert.Equal(1, result.ExitCode);
        string line = result.Stderr.TrimEnd();
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("aemnist: training loss became ", line);
        Assert.Contains("in epoch 1, batch ", line);
        Assert.Contains("try a lower --lr", line);
        string run = Path.Combine(runs, "huge-lr");
        Assert.Contains($"{Path.Combine(run, "model.safetensors")} holds the initial weights (epoch 0)", line);

        var (spec, model, metadata) = DetectorFile.Load(Path.Combine(run, "model.safetensors"));
        Assert.All(model.Tensors, t => Assert.All(t.Data, v => Assert.True(float.IsFinite(v))));
        // Epoch 0 of this seed, exactly: what `train --epochs 0` would have started from.
        Assert.True(TrainJob.InitialWeights(spec, 42).BitEquals(model));
        Assert.True(metadata.Threshold is { } t && double.IsFinite(t));
        JsonObject runJson = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!.AsObject();
        Assert.Equal("diverged", (string)runJson["status"]!);
        Assert.StartsWith("training loss became ", (string)runJson["result"]!["message"]!);
        Assert.False(File.Exists(Path.Combine(run, "checkpoint.safetensors")));
        Assert.Empty(Directory.GetFiles(run, "*.tmp", SearchOption.AllDirectories));
        Assert.Equal(["epoch,train_loss,monitor_loss,seconds"], File.ReadAllLines(Path.Combine(run, "history.csv")));
    }

    [Fact]
    public void Divergence_after_an_evaluation_keeps_the_best_evaluated_weights()
    {
        // Two good epochs, evaluated after each, then interrupted at the epoch boundary; the checkpoint's
        // learning rate is then raised so that the resumed run diverges in epoch 3.
        string small = SmallMnist.Write(_scratch);
        Dataset data = MnistFiles.Load(small);
        var split = new SplitOptions(TrainNormal: 200, TrainAnomalies: 20, TestNormal: 50, TestAnomalies: 50);
        var options = new TrainOptions(Epochs: 6, BatchSize: 64, EvalEvery: 1, Patience: 10);
        using var stop = new CancellationTokenSource();
        TrainOutcome first = TrainJob.Execute(new TrainRequest(split, options, new ComputeOptions(), _scratch.File("runs"), "diverges"), data,
            onEpoch: r => { if (r.Epoch == 2) stop.Cancel(); }, cancel: stop.Token);
        Assert.Equal(StopReason.Interrupted, first.Result.Reason);
        string run = first.Run.Path, checkpoint = first.Run.CheckpointPath;

        SafeTensorsFile saved = SafeTensors.Read(checkpoint);
        var metadata = new Dictionary<string, string>(saved.Metadata);
        JsonObject request = JsonNode.Parse(metadata["request"])!.AsObject();
        request["train"]!["lr"] = 1e30;
        metadata["request"] = request.ToJsonString();
        SafeTensors.Write(checkpoint, saved.Names.Select(n => (n, saved.Tensors[n].Shape, (ReadOnlyMemory<float>)saved.Tensors[n].Data)), metadata);
        string[] bestNames = [.. saved.Names.Where(n => n.StartsWith("best.", StringComparison.Ordinal))];
        Assert.Equal(8, bestNames.Length);  // the dense model's eight tensors, under best.
        int bestEpoch = int.Parse(saved.Metadata["best_epoch"], System.Globalization.CultureInfo.InvariantCulture);

        CliResult result = CliRunner.Run("train", "--resume", run, "--data", small, "--quiet");

        Assert.Equal(1, result.ExitCode);
        string line = result.Stderr.TrimEnd();
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("aemnist: training loss became ", line);
        Assert.Contains("in epoch 3, batch ", line);
        Assert.Contains($"kept the best weights (epoch {bestEpoch}) in {Path.Combine(run, "model.safetensors")}", line);
        var (_, model, _) = DetectorFile.Load(Path.Combine(run, "model.safetensors"));
        Assert.All(model.Tensors, t => Assert.All(t.Data, v => Assert.True(float.IsFinite(v))));
        foreach (string name in bestNames) Assert.Equal(saved.Tensors[name].Data, model[name["best.".Length..]].Data);
        Assert.False(File.Exists(checkpoint));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(run, "history.csv")).Length);
    }
}
