using System.Diagnostics;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Runs;
using AeMnist.Training;
using Xunit.Abstractions;

namespace AeMnist.Cli.Tests;

/// <summary>
/// A full disk at every write of a run (issue 12): whichever write fails, the run directory holds one complete state —
/// none at all, the previous checkpoint, or a finished run whose files `--resume` completes — and `train --resume` then
/// ends with the same model, byte for byte, as a run that never failed. Every write is reached through AtomicFile's test
/// seam (an ENOSPC before the commit of the k-th write, k = 0, 1, ...); a second test does the same with a real full
/// disk, a small tmpfs, where this machine lets it mount one.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private static readonly Architecture Dense = Architectures.Get("dense");

    private static TrainRequest Request(string runs, string name) => new(
        new SplitOptions(TrainNormal: 120, TrainAnomalies: 12, TestNormal: 40, TestAnomalies: 40, Seed: 5),
        new TrainOptions(Settings: Dense.Settings((DenseAutoEncoder.Hidden, [16, 8])), Epochs: 12, BatchSize: 32, EvalEvery: 2, Patience: 100),
        new ComputeOptions(Threads: 1), runs, name)
    {
        CheckpointInterval = TimeSpan.Zero,  // a commit after every evaluation: every kind of write happens
    };

    private static IOException Full() => new("No space left on device : '/x/.checkpoint.safetensors.aemnist-1-x.tmp'", 28);

    /// <summary>Runs <paramref name="action"/> with the k-th write (0-based) failing as a full disk would; returns the paths written, in order.</summary>
    private static List<string> WithFullDiskAt(int k, Action action)
    {
        var writes = new List<string>();
        AtomicFile.Fault.Value = path =>
        {
            writes.Add(path);
            return writes.Count - 1 == k ? Full() : null;
        };
        try { action(); }
        finally { AtomicFile.Fault.Value = null; }
        return writes;
    }

    private static string[] History(string run) =>
        File.ReadAllLines(Path.Combine(run, "history.csv")).Select(l => l[..l.LastIndexOf(',')]).ToArray();

    [Fact]
    public void A_full_disk_at_any_write_of_a_run_or_of_its_resume_leaves_a_state_that_resumes_to_the_same_bytes()
    {
        Dataset data = MnistFiles.Load(SmallMnist.Write(_scratch, train: 1500, test: 500));
        string runs = _scratch.File("runs");

        // The run that never fails, and the list of its writes.
        List<string> writes = WithFullDiskAt(-1, () => TrainJob.Execute(Request(runs, "reference"), data));
        string reference = Path.Combine(runs, "reference");
        byte[] model = File.ReadAllBytes(Path.Combine(reference, "model.safetensors"));
        string[] history = History(reference);
        output.WriteLine($"{writes.Count} writes: {string.Join(", ", writes.Select(Path.GetFileName))}");
        Assert.True(writes.Count >= 15, $"only {writes.Count} writes");
        foreach (string kind in new[] { "checkpoint.safetensors", "history.csv", "run.json", "model.safetensors" })
            Assert.Contains(writes, w => Path.GetFileName(w) == kind);

        var outcomes = new Dictionary<string, int>();
        for (int k = 0; k < writes.Count; k++)
        {
            string name = $"full-{k}", run = Path.Combine(runs, name);
            IOException e = Assert.Throws<IOException>(() => WithFullDiskAt(k, () => TrainJob.Execute(Request(runs, name), data)));
            Assert.Contains("no space left on device", e.Message);
            Assert.DoesNotContain(".tmp", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            string kind = e.Message.Contains("cannot create the run directory", StringComparison.Ordinal) ? "nothing created"
                : e.Message.Contains("keeps its previous checkpoint", StringComparison.Ordinal) ? "previous checkpoint kept"
                : e.Message.Contains("training finished, but", StringComparison.Ordinal) ? "finished, files to complete" : "?";
            Assert.True(kind != "?", $"write {k}: {e.Message}");
            outcomes[kind] = outcomes.GetValueOrDefault(kind) + 1;
            Assert.Empty(Directory.GetFiles(runs, "*.tmp", SearchOption.AllDirectories));
            if (kind == "nothing created")
            {
                // A run that could not even be created leaves nothing: no directory, no temporary directory.
                Assert.False(Directory.Exists(run));
                Assert.Empty(Directory.GetDirectories(runs, ".*"));
                continue;
            }
            Finish(run, data, model, history, $"write {k}");
        }
        output.WriteLine(string.Join("; ", outcomes.Select(o => $"{o.Key}: {o.Value}")));
        Assert.Equal(3, outcomes.Count);

        // The same for a resumed run: interrupted after epoch 4, then a full disk at each write of the resume.
        for (int k = 0; ; k++)
        {
            string name = $"resumed-{k}", run = Path.Combine(runs, name);
            using (var stop = new CancellationTokenSource())
                Assert.Equal(StopReason.Interrupted, TrainJob.Execute(Request(runs, name), data, onEpoch: r => { if (r.Epoch == 4) stop.Cancel(); }, cancel: stop.Token).Result.Reason);
            int written = 0;
            bool failed = false;
            List<string> resumeWrites = WithFullDiskAt(k, () =>
            {
                try
                {
                    using ResumableRun resumable = TrainJob.OpenResumable(run);
                    TrainJob.Resume(resumable, data, checkpointInterval: TimeSpan.Zero);
                }
                catch (IOException e) when (e.Message.Contains("no space left on device", StringComparison.Ordinal))
                {
                    failed = true;
                }
            });
            written = resumeWrites.Count;
            if (!failed)
            {
                // k is past the resume's last write: every write of a resume has been failed once.
                Assert.True(k >= 8, $"a resume made only {written} writes");
                Assert.Equal(model, File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
                break;
            }
            Finish(run, data, model, history, $"resume write {k}");
        }
    }

    // After a failure: resume (with space again) must end at the reference's bytes, or say the run had finished and complete it.
    private static void Finish(string run, Dataset data, byte[] model, string[] history, string what)
    {
        Assert.True(Directory.Exists(run), $"{what}: no run directory");
        Assert.True(File.Exists(Path.Combine(run, "checkpoint.safetensors")), $"{what}: no checkpoint to go on from");
        using (ResumableRun resumable = TrainJob.OpenResumable(run))
            TrainJob.Resume(resumable, data, checkpointInterval: TimeSpan.Zero);
        Assert.Equal(model, File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
        Assert.Equal(history, History(run));
        Assert.False(File.Exists(Path.Combine(run, "checkpoint.safetensors")), what);
        Assert.Equal("completed", (string)JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!["status"]!);
        Assert.Contains("already finished", Assert.Throws<DataFormatException>(() => TrainJob.OpenResumable(run)).Message);
    }

    [Fact]
    public void A_real_full_disk_on_a_small_tmpfs_leaves_a_run_that_resumes_to_the_same_bytes()
    {
        string data = SmallMnist.Write(_scratch, train: 1500, test: 500);
        string mount = _scratch.CreateDirectory("tmpfs");
        string[] train = ["train", "--hidden", "16,8", "--epochs", "6", "--batch-size", "32", "--eval-every", "2", "--patience", "100",
            "--train-normal", "120", "--train-anomalies", "12", "--test-normal", "40", "--test-anomalies", "40", "--seed", "5", "--threads", "1",
            "--data", data, "--quiet"];
        ProcessResult reference = AemnistProcess.Run([.. train, "--runs-dir", _scratch.File("runs"), "--run-name", "reference"], _scratch.Path);
        Assert.True(reference.ExitCode == 0, reference.ToString());
        byte[] model = File.ReadAllBytes(_scratch.File("runs/reference/model.safetensors"));

        if (!Mount(mount, "size=4k", out string why))
        {
            // Mounting needs root (CAP_SYS_ADMIN); the seam test above covers every write without it.
            output.WriteLine($"tmpfs not available here ({why}); the full-disk seam test covers every write");
            return;
        }
        try
        {
            var seen = new HashSet<string>();
            // Sizes from a page up to more than the run needs: each fails (or not) at another write.
            // (The first checkpoint, with Adam's moments, takes about 300 KiB; the final one is written while it still exists.)
            foreach (int kib in new[] { 4, 256, 352, 384, 416, 4096 })
            {
                foreach (string entry in Directory.GetFileSystemEntries(mount)) Directory.Delete(entry, recursive: true);
                Assert.True(Remount(mount, $"size={kib}k"), "remount failed");
                string runs = Path.Combine(mount, "runs");
                ProcessResult result = AemnistProcess.Run([.. train, "--runs-dir", runs, "--run-name", "r"], _scratch.Path);
                string run = Path.Combine(runs, "r");
                output.WriteLine($"{kib} KiB: exit {result.ExitCode} {result.Stderr.Trim()}");
                if (result.ExitCode == 0)
                {
                    seen.Add("completed");
                    Assert.Equal(model, File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
                    continue;
                }
                Assert.Equal(1, result.ExitCode);
                Assert.Contains("no space left on device", result.Stderr);
                Assert.DoesNotContain(".tmp", result.Stderr);
                Assert.Empty(Directory.Exists(runs) ? Directory.GetFiles(runs, "*.tmp", SearchOption.AllDirectories) : []);
                if (!Directory.Exists(run))
                {
                    seen.Add("nothing created");
                    Assert.Empty(Directory.Exists(runs) ? Directory.GetFileSystemEntries(runs) : []);
                    continue;
                }
                seen.Add(result.Stderr.Contains("training finished, but") ? "finished, files to complete" : "previous checkpoint kept");
                // Free space (a larger tmpfs, same files), then resume.
                Assert.True(Remount(mount, "size=8m"), "remount failed");
                ProcessResult resumed = AemnistProcess.Run(["train", "--resume", run, "--data", data, "--quiet"], _scratch.Path);
                Assert.True(resumed.ExitCode == 0, resumed.ToString());
                Assert.Equal(model, File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
                Assert.False(File.Exists(Path.Combine(run, "checkpoint.safetensors")));
            }
            output.WriteLine(string.Join(", ", seen));
            // Space runs out before the directory exists, at the final checkpoint (the previous one stays), or not at all. (A full
            // disk after the final checkpoint, when only smaller files are left to write, is the seam test's.)
            Assert.Contains("nothing created", seen);
            Assert.Contains("previous checkpoint kept", seen);
            Assert.Contains("completed", seen);
        }
        finally
        {
            Run("umount", "-l", mount);
        }
    }

    private static bool Mount(string path, string options, out string why)
    {
        if (!OperatingSystem.IsLinux()) { why = "not Linux"; return false; }
        (int code, string error) = Run("mount", "-t", "tmpfs", "-o", options, "tmpfs", path);
        why = error.Trim();
        return code == 0;
    }

    private static bool Remount(string path, string options) => Run("mount", "-o", "remount," + options, path).Code == 0;

    private static (int Code, string Error) Run(string tool, params string[] args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(tool, args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
            string error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, error);
        }
        catch (System.ComponentModel.Win32Exception e) { return (-1, e.Message); }
    }
}
