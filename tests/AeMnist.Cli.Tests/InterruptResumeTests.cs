using System.Text.Json.Nodes;
using AeMnist.Serialization;
using Xunit.Abstractions;

namespace AeMnist.Cli.Tests;

/// <summary>
/// Ctrl-C during a real `aemnist train` child process: it finishes the batch, saves a checkpoint, exits 130
/// saying how to resume; `train --resume` then ends with the same model, byte for byte, and the same
/// history (but for the timings) as a run that was never interrupted.
/// </summary>
public sealed class InterruptResumeTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _scratch = new();
    private string? _data;

    public void Dispose() => _scratch.Dispose();

    private string Data => _data ??= SmallMnist.Write(_scratch, train: 5000);

    // Small batches of a small split: thousands of steps of a few milliseconds each, so that the
    // interruption lands in the middle of training, and every step is a chance to be interrupted mid-epoch.
    private string[] Options(int epochs, string name) =>
    [
        "train", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch-size", "16",
        "--eval-every", "5", "--patience", "1000", "--train-normal", "300", "--train-anomalies", "30",
        "--test-normal", "100", "--test-anomalies", "100", "--seed", "7", "--threads", "1", "--data", Data,
        "--runs-dir", _scratch.File("runs"), "--run-name", name,
    ];

    private static bool IsEpochLine(string line) => line.StartsWith("epoch ", StringComparison.Ordinal);

    [Fact]
    public void Interrupted_training_resumes_to_the_same_model_as_an_uninterrupted_run()
    {
        // If a loaded machine lets the child finish before the signal arrives, try again with more epochs.
        int epochs = 0;
        ProcessResult? interrupted = null;
        string signal = "";
        foreach (int attempt in new[] { 300, 1200, 4800 })
        {
            epochs = attempt;
            string name = $"interrupted-{epochs}";
            using AemnistProcess child = AemnistProcess.Start(Options(epochs, name), _scratch.Path);
            Assert.True(child.WaitForLine(IsEpochLine, TimeSpan.FromSeconds(60)), "no expected line from the child: " + child.Describe());
            signal = child.Interrupt();
            ProcessResult result = child.WaitForExit(TimeSpan.FromSeconds(60));
            if (result.ExitCode == 0)
            {
                output.WriteLine($"{epochs} epochs finished before {signal} arrived; trying more");
                continue;
            }
            interrupted = result;
            break;
        }
        Assert.NotNull(interrupted);
        string run = _scratch.File(Path.Combine("runs", $"interrupted-{epochs}"));
        output.WriteLine($"{signal}: {interrupted.Stderr.Trim()}");

        // Exit 130, one line saying where the checkpoint is and the exact command that continues.
        Assert.True(interrupted.ExitCode == 130, interrupted.ToString());
        string line = interrupted.Stderr.TrimEnd('\n');
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("aemnist: interrupted after ", line);
        Assert.EndsWith($"Resume with: aemnist train --resume {run}", line);
        Assert.True(File.Exists(Path.Combine(run, "checkpoint.safetensors")));
        Assert.False(File.Exists(Path.Combine(run, "model.safetensors")));
        Assert.Empty(Directory.GetFiles(run, "*.tmp"));

        // The checkpoint is consistent: weights, Adam state, shuffle state, position and history agree. Its tensors are
        // named: the state dict, then Adam's moments per parameter.
        SafeTensorsFile checkpoint = SafeTensors.Read(Path.Combine(run, "checkpoint.safetensors"));
        foreach (string tensor in new[] { "encoder.0.weight", "decoder.2.bias", "adam.exp_avg.encoder.0.weight", "adam.exp_avg_sq.decoder.2.bias" })
            Assert.True(checkpoint.Tensors.ContainsKey(tensor), tensor);
        foreach (string key in new[] { "adam_step", "epochs_done", "batches_done", "shuffle_state", "request" })
            Assert.True(checkpoint.Metadata.ContainsKey(key), key);
        int epochsDone = int.Parse(checkpoint.Metadata["epochs_done"], System.Globalization.CultureInfo.InvariantCulture);
        int batchesDone = int.Parse(checkpoint.Metadata["batches_done"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(epochsDone, 1, epochs - 1);
        Assert.Equal(epochsDone + 1, File.ReadAllLines(Path.Combine(run, "history.csv")).Length);
        Assert.Contains($"interrupted after {epochsDone} epochs and {batchesDone} batches", line);
        Assert.Equal(epochsDone * 21L + batchesDone, long.Parse(checkpoint.Metadata["adam_step"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("interrupted", (string)JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!["status"]!);

        ProcessResult resumed = AemnistProcess.Run(["train", "--resume", run, "--threads", "2", "--data", Data], _scratch.Path, TimeSpan.FromSeconds(120));  // interrupted on 1 thread, finished on 2
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"Resuming {run}", resumed.Stdout);
        Assert.False(File.Exists(Path.Combine(run, "checkpoint.safetensors")));

        ProcessResult reference = AemnistProcess.Run(Options(epochs, "reference"), _scratch.Path, TimeSpan.FromSeconds(120));
        Assert.True(reference.ExitCode == 0, reference.ToString());
        string straight = _scratch.File(Path.Combine("runs", "reference"));

        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "model.safetensors")), File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
        Assert.Equal(HistoryWithoutSeconds(straight), HistoryWithoutSeconds(run));
        JsonNode a = JsonNode.Parse(File.ReadAllText(Path.Combine(straight, "run.json")))!, b = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!;
        foreach (string field in new[] { "epochs_run", "best_epoch", "best_monitor_loss", "final_train_loss", "threshold" })
            Assert.Equal(a["result"]![field]!.ToJsonString(), b["result"]![field]!.ToJsonString());
        Assert.Equal(a["split"]!["indices_sha256"]!.ToJsonString(), b["split"]!["indices_sha256"]!.ToJsonString());
        Assert.Equal("completed", (string)b["status"]!);
    }

    /// <summary>history.csv without its last column (seconds, which differ between any two runs).</summary>
    private static string[] HistoryWithoutSeconds(string run) =>
        File.ReadAllLines(Path.Combine(run, "history.csv")).Select(l => l[..l.LastIndexOf(',')]).ToArray();
}
