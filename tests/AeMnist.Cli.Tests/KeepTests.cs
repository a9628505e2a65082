// --keep best (the default) saves the weights of the best evaluation; --keep last (the tutorial's behaviour) those of
// the last epoch. Checked from outside: the saved model's mean error on the monitored split is exactly the history's
// monitored loss of the epoch it claims to be.
using System.Globalization;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.Engines.Native;

namespace AeMnist.Cli.Tests;

public sealed class KeepTests : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void Keep_best_saves_the_best_evaluation_and_keep_last_the_last_epoch()
    {
        string data = SmallMnist.Write(_scratch);
        string Train(string keep)
        {
            CliResult result = CliRunner.Run("train", "--keep", keep, "--epochs", "8", "--eval-every", "1", "--patience", "100", "--lr", "0.05",
                "--train-normal", "150", "--train-anomalies", "15", "--test-normal", "50", "--test-anomalies", "50", "--batch-size", "32",
                "--data", data, "--runs-dir", _scratch.File("runs"), "--run-name", keep, "--quiet");
            Assert.True(result.ExitCode == 0, result.Stderr);
            return _scratch.File(Path.Combine("runs", keep));
        }
        string best = Train("best"), last = Train("last");

        double[] monitor = [.. File.ReadAllLines(Path.Combine(best, "history.csv")).Skip(1).Select(l => double.Parse(l.Split(',')[2], CultureInfo.InvariantCulture))];
        Assert.Equal(File.ReadAllLines(Path.Combine(best, "history.csv")).Select(l => l[..l.LastIndexOf(',')]),
                     File.ReadAllLines(Path.Combine(last, "history.csv")).Select(l => l[..l.LastIndexOf(',')]));
        int bestEpoch = Array.IndexOf(monitor, monitor.Min()) + 1;
        Assert.True(bestEpoch < monitor.Length, $"the setting must have its best evaluation before the last epoch (best {bestEpoch} of {monitor.Length})");

        Dataset mnist = MnistFiles.Load(data);
        Assert.Equal(monitor[bestEpoch - 1], MonitorLoss(best, mnist));
        Assert.Equal(monitor[^1], MonitorLoss(last, mnist));
        JsonNode runJson = JsonNode.Parse(File.ReadAllText(Path.Combine(last, "run.json")))!;
        Assert.Equal("last", (string)runJson["options"]!["keep"]!);
    }

    // The mean per-image error over the run's monitored split (its test split here: no --validation), summed as the trainer does.
    private static double MonitorLoss(string run, Dataset data)
    {
        JsonNode runJson = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!;
        Assert.Equal("test", (string)runJson["split"]!["monitor"]!);
        int[] test = [.. runJson["split"]!["indices"]!["test"]!.AsArray().Select(n => (int)n!)];
        var (spec, weights, _) = DetectorFile.Load(Path.Combine(run, "model.safetensors"));
        using var engine = new NativeEngine();
        using var model = engine.Load(spec, weights);
        float[] errors = new float[test.Length];
        model.ReconstructionErrors(data.Gather(test), test.Length, errors);
        double sum = 0;
        foreach (float e in errors) sum += e;
        return sum / test.Length;
    }
}
