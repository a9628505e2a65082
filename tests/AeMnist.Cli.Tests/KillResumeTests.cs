using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using AeMnist.Runs;
using Xunit.Abstractions;

namespace AeMnist.Cli.Tests;

/// <summary>
/// The kill-at-random-moments test (issue 12): a real `aemnist train`, and a real resumed one, killed at seeded random
/// instants — SIGKILL, SIGTERM, and SIGTERM followed by SIGKILL while the checkpoint is being written. After each,
/// `train --resume` either finishes with the model of an uninterrupted run, byte for byte, or says honestly that the run
/// had finished (or never came to exist); no run is left that cannot be resumed, and no temporary file stays behind.
/// No speed is assumed: kills meant to land during training wait for the child's own epoch lines (issue 20: on a busy
/// machine kills timed from an earlier run landed after training had ended).
/// </summary>
public sealed partial class KillResumeTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string[] Train(string data, string name) =>
    [
        "train", "--hidden", "16,8", "--epochs", $"{Epochs}", "--batch-size", "16", "--eval-every", "5", "--patience", "1000",
        "--train-normal", "120", "--train-anomalies", "12", "--test-normal", "40", "--test-anomalies", "40", "--seed", "5", "--threads", "1",
        "--data", data, "--runs-dir", _scratch.File("runs"), "--run-name", name, "--quiet",
    ];

    private enum Kill { Sigkill, Sigterm, SigtermThenSigkill }

    private const int SigKill = 9, SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Signal(int pid, int signal);

    private static void Send(AemnistProcess child, Kill how, Rng rng)
    {
        Signal(child.Id, how == Kill.Sigkill ? SigKill : SigTerm);
        if (how == Kill.SigtermThenSigkill)
        {
            // Into the middle of what SIGTERM set off: the final batch, the checkpoint's write and rename.
            Thread.Sleep(rng.NextInt(60));
            if (!child.HasExited) Signal(child.Id, SigKill);
        }
    }

    private static bool IsTrainingLine(string line) => line.StartsWith("Training ", StringComparison.Ordinal);

    private static string[] History(string run) =>
        File.ReadAllLines(Path.Combine(run, "history.csv")).Select(l => l[..l.LastIndexOf(',')]).ToArray();

    private const int Epochs = 120;

    [GeneratedRegex(@"^epoch +(\d+)/\d+ .* (\d+\.\d+)s  eta")]
    private static partial Regex EpochLine();

    // Waits for the child's first epoch line, picks an epoch in the first half of training, waits for that epoch's line,
    // then for a random part of one epoch (as long as that epoch took the child): the kill lands during training however
    // fast or slow this machine is at the moment. Returns what it waited for, for the log.
    private static string WaitIntoTraining(AemnistProcess child, Rng rng)
    {
        int first = 0;
        Assert.True(child.WaitForLine(l => EpochLine().Match(l) is { Success: true } m && (first = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)) > 0,
            TimeSpan.FromSeconds(300)), "no epoch line from the child: " + child.Describe());
        // In the first half of training: a busy machine shows the test the child's lines late, and the kill must still find it training.
        int target = first + 1 + rng.NextInt(Math.Max(1, Epochs / 2 - first));
        double seconds = 0;
        Assert.True(child.WaitForLine(l => EpochLine().Match(l) is { Success: true } m && int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) == target
            && (seconds = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)) >= 0, TimeSpan.FromSeconds(300)), $"no epoch {target} line from the child: " + child.Describe());
        double after = seconds * rng.NextDouble();
        Thread.Sleep(TimeSpan.FromSeconds(after));
        return $"{after:F3}s after epoch {target}";
    }

    [Fact]
    public void Killed_at_random_instants_a_run_and_a_resumed_run_resume_to_the_bytes_of_an_uninterrupted_run()
    {
        if (!OperatingSystem.IsLinux()) return;
        string data = SmallMnist.Write(_scratch, train: 1500, test: 500);
        // The uninterrupted run, timed: how long until it says it is training (the run directory exists from then), and how
        // long it trains. Only the first three kills (at any instant from the start) use these times, and whatever they
        // land on is a valid trial; the others wait for the child's own epoch lines.
        double startup, training;
        using (AemnistProcess straight = AemnistProcess.Start(Train(data, "reference").Where(a => a != "--quiet"), _scratch.Path))
        {
            var clock = Stopwatch.StartNew();
            Assert.True(straight.WaitForLine(IsTrainingLine, TimeSpan.FromSeconds(300)), "no expected line from the child: " + straight.Describe());
            startup = clock.Elapsed.TotalSeconds;
            ProcessResult reference = straight.WaitForExit(TimeSpan.FromSeconds(600));
            training = clock.Elapsed.TotalSeconds - startup;
            Assert.True(reference.ExitCode == 0, reference.ToString());
        }
        string referenceRun = _scratch.File("runs/reference");
        byte[] model = File.ReadAllBytes(Path.Combine(referenceRun, "model.safetensors"));
        string[] history = History(referenceRun);
        output.WriteLine($"uninterrupted run: {startup:F2}s to start training, {training:F2}s training and saving");

        var rng = new Rng(20261201);
        var seen = new Dictionary<string, int>();
        int duringTraining = 0;
        Kill[] kinds = [Kill.Sigkill, Kill.Sigterm, Kill.SigtermThenSigkill];
        // Nine kills must land during training: three on fresh runs, then six on resumed runs. On a busy machine the test reads
        // the child's epoch lines late and the child can finish first: such a trial is one of "had finished" (its files are
        // still checked) and another trial follows, up to 40.
        int trial;
        for (trial = 0; duringTraining < 9 && trial < 40; trial++)
        {
            Kill how = kinds[trial % 3];
            bool fromStart = trial < 3;  // the first three at any instant from the start (creating the run directory included)
            bool resumedRun = !fromStart && duringTraining >= 3;  // after three landed kills of fresh runs, kill resumed runs
            string name = $"t{trial}", run = _scratch.File($"runs/{name}");
            if (resumedRun)
            {
                // First an interrupted run (SIGTERM once training is under way), then kill its resume.
                using AemnistProcess first = AemnistProcess.Start(Train(data, name).Where(a => a != "--quiet"), _scratch.Path);
                Assert.True(first.WaitForLine(l => l.StartsWith("epoch ", StringComparison.Ordinal), TimeSpan.FromSeconds(300)), "no expected line from the child: " + first.Describe());
                Signal(first.Id, SigTerm);
                ProcessResult stopped = first.WaitForExit(TimeSpan.FromSeconds(300));
                if (stopped.ExitCode == 0)
                {
                    // The busy machine delivered the SIGTERM after the run had finished: nothing to resume; another trial follows.
                    output.WriteLine($"trial {trial}: the run to resume finished before its SIGTERM");
                    continue;
                }
                Assert.True(stopped.ExitCode == 130, $"SIGTERM after the first epoch of {Epochs}: {stopped}");
            }
            string[] args = resumedRun ? ["train", "--resume", run, "--data", data] : Train(data, name).Where(a => a != "--quiet").ToArray();
            string when;
            bool landed;
            using (AemnistProcess child = AemnistProcess.Start(args, _scratch.Path))
            {
                if (fromStart)
                {
                    double at = (startup + training) * rng.NextDouble();
                    Thread.Sleep(TimeSpan.FromSeconds(at));
                    when = $"{at:F2}s after its start";
                }
                else
                {
                    when = WaitIntoTraining(child, rng);
                }
                landed = !child.HasExited;
                if (landed) Send(child, how, rng);  // a child that finished first is a trial of "had finished"
                child.WaitForExit(TimeSpan.FromSeconds(300));
            }
            string outcome = Recover(run, data, model, history);
            output.WriteLine($"trial {trial}: {(resumedRun ? "resumed run" : "run")} {how} {when}: {(landed ? "" : "the child finished first; ")}{outcome}");
            seen[outcome] = seen.GetValueOrDefault(outcome) + 1;
            if (!fromStart && landed && outcome == "resumed to the same bytes") duringTraining++;
            else if (!fromStart && landed)
                Assert.True(outcome.StartsWith("had finished", StringComparison.Ordinal), $"trial {trial}, killed during training ({when}): {outcome}");
        }
        output.WriteLine(string.Join("; ", seen.Select(s => $"{s.Key}: {s.Value}")));
        Assert.True(duringTraining == 9, $"only {duringTraining} of 9 kills landed during training in {trial} trials");  // each resumed to the uninterrupted run's bytes
        // What killed runs left in the runs directory (directories still under their temporary name) goes with the next run.
        RunDirectory.RemoveStale(_scratch.File("runs"));
        Assert.Empty(Directory.GetFileSystemEntries(_scratch.File("runs"), ".*"));
        Assert.Empty(Directory.GetFiles(_scratch.File("runs"), "*.tmp", SearchOption.AllDirectories));
    }

    // Resume until the run says it is done; the result must be the uninterrupted run's.
    private string Recover(string run, string data, byte[] model, string[] history)
    {
        if (!Directory.Exists(run))
        {
            ProcessResult missing = AemnistProcess.Run(["train", "--resume", run, "--data", data], _scratch.Path);
            Assert.True(missing.ExitCode == 1 && missing.Stderr.Contains("run directory not found"), missing.ToString());
            return "killed before the run directory existed";
        }
        string outcome = "resumed to the same bytes";
        ProcessResult resumed = AemnistProcess.Run(["train", "--resume", run, "--data", data], _scratch.Path, TimeSpan.FromSeconds(600));
        if (resumed.ExitCode == 1 && resumed.Stderr.Contains("this run already finished", StringComparison.Ordinal))
            outcome = "had finished";
        else if (resumed.ExitCode == 0 && resumed.Stdout.Contains("training had already finished", StringComparison.Ordinal))
            outcome = "had finished; --resume wrote its last files";
        else
            Assert.True(resumed.ExitCode == 0, $"{run}: {resumed}");
        Assert.Equal(model, File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
        Assert.Equal(history, History(run));
        Assert.False(File.Exists(Path.Combine(run, "checkpoint.safetensors")));
        Assert.Empty(Directory.GetFiles(run, "*.tmp"));
        ProcessResult again = AemnistProcess.Run(["train", "--resume", run, "--data", data], _scratch.Path);
        Assert.True(again.ExitCode == 1 && again.Stderr.Contains("this run already finished"), again.ToString());
        return outcome;
    }
}
