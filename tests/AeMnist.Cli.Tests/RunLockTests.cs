using System.Text.Json.Nodes;

namespace AeMnist.Cli.Tests;

/// <summary>
/// One process trains a run at a time (issue 12): a second `--resume` of a run that is being trained is refused and
/// changes nothing, so a finished run can never be regressed to "interrupted"; readers say the run is still training;
/// and what a killed process leaves (a temporary file) is removed by the next process that owns the run.
/// </summary>
public sealed class RunLockTests : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string[] Train(string data, string name, int epochs) =>
    [
        "train", "--hidden", "16,8", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch-size", "16",
        "--eval-every", "5", "--patience", "100000", "--train-normal", "120", "--train-anomalies", "12", "--test-normal", "40", "--test-anomalies", "40",
        "--seed", "5", "--threads", "1", "--data", data, "--runs-dir", _scratch.File("runs"), "--run-name", name,
    ];

    [Fact]
    public void A_second_resume_of_a_run_in_training_is_refused_and_changes_nothing()
    {
        string data = SmallMnist.Write(_scratch, train: 1500, test: 500);
        string run = _scratch.File("runs/busy");
        using (AemnistProcess first = AemnistProcess.Start(Train(data, "busy", 20000), _scratch.Path))
        {
            Assert.True(first.WaitForLine(l => l.StartsWith("epoch ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)), "no expected line from the child: " + first.Describe());
            first.Interrupt();
            Assert.Equal(130, first.WaitForExit(TimeSpan.FromSeconds(60)).ExitCode);
        }
        using AemnistProcess resuming = AemnistProcess.Start(["train", "--resume", run, "--data", data], _scratch.Path);
        Assert.True(resuming.WaitForLine(l => l.StartsWith("epoch ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)), "no expected line from the child: " + resuming.Describe());
        byte[] checkpoint = File.ReadAllBytes(Path.Combine(run, "checkpoint.safetensors"));
        string runJson = File.ReadAllText(Path.Combine(run, "run.json"));

        ProcessResult second = AemnistProcess.Run(["train", "--resume", run, "--data", data], _scratch.Path);
        ProcessResult reader = AemnistProcess.Run(["evaluate", "--run", run, "--data", data], _scratch.Path);

        Assert.True(second.ExitCode == 1, second.ToString());
        Assert.Equal($"aemnist: {run}: another aemnist process is training this run; wait for it to finish (or stop it) first", second.Stderr.TrimEnd());
        Assert.True(reader.ExitCode == 1, reader.ToString());
        Assert.Contains("the run is still training", reader.Stderr);
        Assert.Equal(checkpoint, File.ReadAllBytes(Path.Combine(run, "checkpoint.safetensors")));
        Assert.Equal(runJson, File.ReadAllText(Path.Combine(run, "run.json")));
        resuming.Interrupt();
        Assert.Equal(130, resuming.WaitForExit(TimeSpan.FromSeconds(60)).ExitCode);
    }

    [Fact]
    public void A_finished_run_is_never_resumed_again_and_keeps_its_bytes()
    {
        string data = SmallMnist.Write(_scratch, train: 1500, test: 500);
        CliResult train = CliRunner.Run([.. Train(data, "done", 6), "--quiet"]);
        Assert.True(train.ExitCode == 0, train.Stderr);
        string run = _scratch.File("runs/done");
        var before = Directory.GetFiles(run).ToDictionary(f => f, File.ReadAllBytes);

        CliResult again = CliRunner.Run("train", "--resume", run, "--data", data);

        Assert.Equal(1, again.ExitCode);
        Assert.Equal($"aemnist: {run}: this run already finished; nothing to resume", again.Stderr.TrimEnd());
        Assert.Equal(before.Keys.Order(), Directory.GetFiles(run).Order());
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
        Assert.Equal("completed", (string)JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!["status"]!);
    }

    [Fact]
    public void Stray_temporary_files_and_unfinished_directories_of_killed_processes_are_removed()
    {
        string data = SmallMnist.Write(_scratch, train: 1500, test: 500);
        using (AemnistProcess first = AemnistProcess.Start(Train(data, "left", 20000), _scratch.Path))
        {
            Assert.True(first.WaitForLine(l => l.StartsWith("epoch ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)), "no expected line from the child: " + first.Describe());
            first.Interrupt();
            Assert.Equal(130, first.WaitForExit(TimeSpan.FromSeconds(60)).ExitCode);
        }
        // What a process killed during a write leaves: a temporary file of a pid that no longer runs, and a run directory
        // still under its temporary name.
        string run = _scratch.File("runs/left"), deadPid = ((1 << 22) + 7).ToString(System.Globalization.CultureInfo.InvariantCulture);
        string strayFile = _scratch.Write($"runs/left/.checkpoint.safetensors.aemnist-{deadPid}-abcdefgh.tmp", "half a checkpoint");
        string strayRun = _scratch.Write($"runs/.other.aemnist-{deadPid}-abcdefgh.tmp/checkpoint.safetensors", "half a run");

        using (AemnistProcess resuming = AemnistProcess.Start(["train", "--resume", run, "--data", data], _scratch.Path))
        {
            Assert.True(resuming.WaitForLine(l => l.StartsWith("epoch ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)), "no expected line from the child: " + resuming.Describe());
            Assert.False(File.Exists(strayFile));  // the resume, owning the run, removed it
            resuming.Interrupt();
            Assert.Equal(130, resuming.WaitForExit(TimeSpan.FromSeconds(60)).ExitCode);
        }
        ProcessResult another = AemnistProcess.Run([.. Train(data, "next", 2), "--quiet"], _scratch.Path);
        Assert.True(another.ExitCode == 0, another.ToString());
        Assert.False(Directory.Exists(Path.GetDirectoryName(strayRun)));
        Assert.Empty(Directory.GetFiles(_scratch.File("runs"), "*.tmp", SearchOption.AllDirectories));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(_scratch.File("runs")), e => Path.GetFileName(e).StartsWith('.'));
    }
}
