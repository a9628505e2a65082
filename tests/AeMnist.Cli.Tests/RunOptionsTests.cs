using System.Text.Json.Nodes;

namespace AeMnist.Cli.Tests;

/// <summary>A small run trained on its own data directory (not the shipped MNIST), once for the tests of a class.</summary>
public sealed class TrainedRun : IDisposable
{
    internal TempDirectory Scratch { get; } = new();

    public string Data { get; }

    public string Run { get; }

    /// <summary>An interrupted run, made by the first test that needs one.</summary>
    public string? Interrupted { get; set; }

    public TrainedRun()
    {
        Data = SmallMnist.Write(Scratch, train: 1500, test: 500);
        CliResult train = CliRunner.Run("train", "--hidden", "16,8", "--epochs", "4", "--batch-size", "32", "--eval-every", "2",
            "--train-normal", "120", "--train-anomalies", "12", "--test-normal", "40", "--test-anomalies", "40", "--seed", "5", "--threads", "1",
            "--data", Data, "--runs-dir", Scratch.File("runs"), "--run-name", "own-data", "--quiet");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Run = Scratch.File("runs/own-data");
    }

    public void Dispose() => Scratch.Dispose();
}

/// <summary>
/// Options that cannot apply are errors, and a run's own data is used and checked (issue 12, "wrong answers with exit
/// 0"); an exploratory threshold never replaces the run's metrics.json (issue 15). Against the real process.
/// </summary>
public sealed class RunOptionsTests(TrainedRun fixture) : IClassFixture<TrainedRun>
{
    private string Run => fixture.Run;

    private string[] Listing() =>
        Directory.GetFiles(fixture.Scratch.Path, "*", SearchOption.AllDirectories).Select(f => $"{f} {File.GetLastWriteTimeUtc(f).Ticks} {new FileInfo(f).Length}").Order().ToArray();

    private static CliResult Of(ProcessResult p) => new(p.ExitCode, p.Stdout, p.Stderr);

    [Theory]
    [InlineData("evaluate --normal 3", "--normal cannot apply")]
    [InlineData("evaluate --seed 7", "--seed cannot apply")]
    [InlineData("evaluate --protocol one-class", "--protocol cannot apply")]
    [InlineData("evaluate --test-normal 10", "--test-normal cannot apply")]
    [InlineData("evaluate --validation 0.2", "--validation cannot apply")]
    [InlineData("evaluate --normal 5 --seed 5", "--normal and --seed cannot apply")]
    [InlineData("report --normal 3", "--normal cannot apply")]
    [InlineData("evaluate --model conv", "--model cannot apply")]
    [InlineData("score --model dense -i x.csv", "--model cannot apply")]
    [InlineData("score --runs-dir elsewhere -i x.csv", "--runs-dir cannot apply")]
    public void A_split_or_model_option_given_for_a_run_that_fixes_it_is_an_error(string args, string message)
    {
        string[] before = Listing();
        string[] parts = args.Split(' ');
        string[] data = parts[0] == "score" ? [] : ["--data", fixture.Data];
        string[] command = [parts[0], "--run", Run, .. data, .. parts[1..]];
        // In-process (the same App.Run as the program), but for the first row, which runs the real process.
        CliResult result = args == "evaluate --normal 3" ? Of(AemnistProcess.Run(command, fixture.Scratch.Path)) : CliRunner.Run(command);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith($"aemnist: {message}", result.Stderr);
        Assert.Contains("drop", result.Stderr);
        Assert.Equal("", result.Stdout);
        Assert.Equal(before, Listing());
    }

    [Theory]
    [InlineData("--epochs 5", "--epochs")]
    [InlineData("--lr 0.1 --batch-size 64", "--batch-size and --lr")]
    [InlineData("--noise 0.3", "--noise")]
    [InlineData("--keep last", "--keep")]
    [InlineData("--lr-schedule cosine", "--lr-schedule")]
    public void A_training_option_given_for_a_model_fitted_in_closed_form_is_an_error(string options, string names)
    {
        string runs = fixture.Scratch.File("pca-runs-" + names.Length);
        CliResult result = CliRunner.Run(["train", "--model", "pca", "--data", fixture.Data, "--runs-dir", runs, .. options.Split(' ')]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith($"aemnist: {names} cannot apply: --model pca is fitted exactly, in closed form, not trained", result.Stderr);
        Assert.False(Directory.Exists(runs));
        CliResult grid = CliRunner.Run(["benchmark", "--model", "pca:" + options.Split(' ')[0][2..] + "=" + options.Split(' ')[1], "--output", runs, "--no-train"]);
        Assert.True(grid.ExitCode == 2, grid.ToString());
        Assert.Contains("cannot apply: pca is fitted exactly", grid.Stderr);
    }

    [Fact]
    public void Input_warnings_are_in_the_json_warnings_too()
    {
        string csv = fixture.Scratch.File("scaled.csv");
        File.WriteAllText(csv, string.Join("\n", new[] { 5, 3 }.Select(d =>
            d + "," + string.Join(",", Enumerable.Range(0, 784).Select(i => i % 28 is > 8 and < 20 && i / 28 is > 8 and < 20 ? "0.8" : "0")))) + "\n");
        CliResult result = CliRunner.Run(["evaluate", "--run", Run, "--data", fixture.Data, "--input", csv, "--json"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        string[] json = [.. JsonNode.Parse(result.Stdout)!["warnings"]!.AsArray().Select(w => (string)w!)];
        Assert.Contains(json, w => w.Contains("looks already scaled", StringComparison.Ordinal) && w.Contains("--pixel-max 1", StringComparison.Ordinal));
        Assert.Contains("aemnist: warning: scaled.csv: every value is between 0 and 1", result.Stderr);
    }

    [Fact]
    public void Options_that_a_mode_ignores_are_errors_and_labels_are_never_invented()
    {
        string scratch = fixture.Scratch.File("ignored");
        Directory.CreateDirectory(scratch);
        string csv = Path.Combine(scratch, "rows.csv");
        File.WriteAllText(csv, "5," + string.Join(",", Enumerable.Range(0, 784).Select(i => i % 28 is > 8 and < 20 && i / 28 is > 8 and < 20 ? "200" : "0")) + "\n");
        string png = Path.Combine(scratch, "digit.png");
        File.WriteAllBytes(png, AeMnist.Imaging.ImageFiles.EncodeGrayPng([.. Enumerable.Range(0, 784).Select(i => (byte)(i % 28 is > 8 and < 20 ? 200 : 0))], 28, 28));
        void Refused(int code, string expect, params string[] args)
        {
            CliResult r = CliRunner.Run(args);
            Assert.True(r.ExitCode == code, $"{string.Join(' ', args)}: {r}");
            Assert.Contains(expect, r.Stderr);
        }
        // The run records its split, so score --fpr knows its normal digit; --normal would be ignored.
        Refused(2, "--normal cannot apply", "score", "--run", Run, "--fpr", "0.05", "--normal", "3", "-i", csv);
        // The one-class protocol uses every image; the seed protocol's counts would be ignored.
        Refused(2, "--train-normal cannot apply: the one-class protocol", "train", "--protocol", "one-class", "--train-normal", "100", "--data", fixture.Data, "--runs-dir", Path.Combine(scratch, "runs"));
        Assert.False(Directory.Exists(Path.Combine(scratch, "runs")));
        // benchmark --no-train trains nothing: --parallel would be ignored.
        Refused(2, "--parallel cannot apply: --no-train", "benchmark", "--no-train", "--parallel", "3", "--output", Path.Combine(scratch, "bench"));
        // --pixel-max scales CSV values; IDX and image files have bytes.
        Refused(2, "--pixel-max 1 applies to CSV input only", "score", "--run", Run, "-i", png, "--pixel-max", "1");
        // evaluate --input needs labels: an image file has none (it was once scored as label 255, every image an anomaly).
        Refused(1, "carries no digit label", "evaluate", "--run", Run, "--data", fixture.Data, "--input", png);
        // evaluate --output never replaces its own --input.
        byte[] before = File.ReadAllBytes(csv);
        Refused(2, "is also an input", "evaluate", "--run", Run, "--data", fixture.Data, "--input", csv, "--output", csv);
        Assert.Equal(before, File.ReadAllBytes(csv));
    }

    [Theory]
    [InlineData("cosin")]
    [InlineData("")]
    [InlineData("Cosine annealing")]
    public void An_unknown_learning_rate_schedule_is_an_error_before_anything_is_written(string schedule)
    {
        string runs = fixture.Scratch.File("schedule-runs");
        CliResult result = CliRunner.Run(["train", "--lr-schedule", schedule, "--data", fixture.Data, "--runs-dir", runs]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("is not a schedule; use constant or cosine", result.Stderr);
        Assert.False(Directory.Exists(runs));
        CliResult grid = CliRunner.Run(["benchmark", "--model", "bottleneck:lr-schedule=" + schedule, "--output", runs, "--no-train"]);
        Assert.True(grid.ExitCode == 2, grid.ToString());
        Assert.Contains("is not a schedule", grid.Stderr);
    }

    [Theory]
    [InlineData("--epochs 5")]
    [InlineData("--model conv")]
    [InlineData("--seed 9")]
    [InlineData("--normal 3")]
    [InlineData("--lr 0.5")]
    [InlineData("--runs-dir elsewhere")]
    [InlineData("--run-name other")]
    [InlineData("--retry-collapsed 2")]
    public void An_option_given_with_resume_is_an_error_not_silently_ignored(string option)
    {
        string run;
        lock (fixture) run = fixture.Interrupted ??= Interrupted("interrupted");  // one interrupted run for every row (none changes it)
        byte[] checkpoint = File.ReadAllBytes(Path.Combine(run, "checkpoint.safetensors"));
        string[] command = ["train", "--resume", run, "--data", fixture.Data, .. option.Split(' ')];
        CliResult result = option == "--epochs 5" ? Of(AemnistProcess.Run(command, fixture.Scratch.Path)) : CliRunner.Run(command);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith($"aemnist: {option.Split(' ')[0]} cannot apply: a resumed run keeps the options of its checkpoint", result.Stderr);
        Assert.Equal(checkpoint, File.ReadAllBytes(Path.Combine(run, "checkpoint.safetensors")));
    }

    [Fact]
    public void Resume_with_other_data_is_refused_and_without_data_uses_the_runs_own()
    {
        string run = Interrupted("other-data");
        byte[] checkpoint = File.ReadAllBytes(Path.Combine(run, "checkpoint.safetensors"));
        ProcessResult other = AemnistProcess.Run(["train", "--resume", run, "--data", SmallMnist.ShippedDirectory], fixture.Scratch.Path);
        Assert.True(other.ExitCode == 1, other.ToString());
        Assert.Contains($"are not the ones {run} was trained on ({fixture.Data}", other.Stderr);
        Assert.Equal(checkpoint, File.ReadAllBytes(Path.Combine(run, "checkpoint.safetensors")));
        ProcessResult own = AemnistProcess.Run(["train", "--resume", run, "--quiet"], fixture.Scratch.Path);  // no --data: the recorded directory
        Assert.True(own.ExitCode == 0, own.ToString());
    }

    [Fact]
    public void Evaluate_of_a_run_uses_the_data_it_was_trained_on_and_refuses_other_data()
    {
        ProcessResult recorded = AemnistProcess.Run(["evaluate", "--run", Run, "--json", "--output", fixture.Scratch.File("recorded.json")], fixture.Scratch.Path);
        ProcessResult named = AemnistProcess.Run(["evaluate", "--run", Run, "--data", fixture.Data, "--json", "--output", fixture.Scratch.File("named.json")], fixture.Scratch.Path);
        Assert.True(recorded.ExitCode == 0, recorded.ToString());
        Assert.True(named.ExitCode == 0, named.ToString());
        JsonNode a = JsonNode.Parse(File.ReadAllText(fixture.Scratch.File("recorded.json")))!, b = JsonNode.Parse(File.ReadAllText(fixture.Scratch.File("named.json")))!;
        Assert.Equal(b["auroc"]!.ToJsonString(), a["auroc"]!.ToJsonString());
        Assert.Equal(b["tp"]!.ToJsonString(), a["tp"]!.ToJsonString());

        ProcessResult shipped = AemnistProcess.Run(["evaluate", "--run", Run, "--data", SmallMnist.ShippedDirectory], fixture.Scratch.Path);
        Assert.True(shipped.ExitCode == 1, shipped.ToString());
        Assert.Contains("are not the ones", shipped.Stderr);
        Assert.Equal("", shipped.Stdout);
        JsonObject runJson = JsonNode.Parse(File.ReadAllText(Path.Combine(Run, "run.json")))!.AsObject();
        Assert.Equal(fixture.Data, (string)runJson["split"]!["data"]!["directory"]!);
        Assert.Equal(64, ((string)runJson["split"]!["data"]!["sha256"]!).Length);
    }

    [Fact]
    public void An_exploratory_threshold_never_replaces_the_runs_metrics_json()
    {
        string metrics = Path.Combine(Run, "metrics.json");
        ProcessResult stored = AemnistProcess.Run(["evaluate", "--run", Run, "--quiet"], fixture.Scratch.Path);
        Assert.True(stored.ExitCode == 0, stored.ToString());
        byte[] official = File.ReadAllBytes(metrics);
        Assert.Contains("the model's stored threshold", File.ReadAllText(metrics));

        foreach (string[] rule in new[] { new[] { "--threshold", "0.02" }, ["--contamination", "0.2"], ["--percentile", "50"] })
        {
            ProcessResult explored = AemnistProcess.Run(["evaluate", "--run", Run, .. rule], fixture.Scratch.Path);
            Assert.True(explored.ExitCode == 0, explored.ToString());
            Assert.Contains("keeps the figures at the run's stored threshold", explored.Stdout);
            Assert.Equal(official, File.ReadAllBytes(metrics));
        }
        string mine = fixture.Scratch.File("explored.json");
        ProcessResult saved = AemnistProcess.Run(["evaluate", "--run", Run, "--threshold", "0.02", "--output", mine, "--quiet"], fixture.Scratch.Path);
        Assert.True(saved.ExitCode == 0, saved.ToString());
        Assert.Equal(0.02, (double)JsonNode.Parse(File.ReadAllText(mine))!["threshold"]!);
        Assert.Equal(official, File.ReadAllBytes(metrics));
    }

    // A copy of the fixture's setup, interrupted after its first evaluation, in its own directory. 3000 epochs take about
    // 4 s here (600 took 0.8 s, and a loaded machine once let the child finish before the signal arrived).
    private string Interrupted(string name)
    {
        using var child = AemnistProcess.Start(["train", "--hidden", "16,8", "--epochs", "3000", "--batch-size", "16", "--patience", "100000",
            "--train-normal", "120", "--train-anomalies", "12", "--test-normal", "40", "--test-anomalies", "40", "--seed", "5", "--threads", "1",
            "--data", fixture.Data, "--runs-dir", fixture.Scratch.File("runs"), "--run-name", name], fixture.Scratch.Path);
        Assert.True(child.WaitForLine(l => l.StartsWith("epoch ", StringComparison.Ordinal), TimeSpan.FromSeconds(60)), "no expected line from the child: " + child.Describe());
        child.Interrupt();
        Assert.Equal(130, child.WaitForExit(TimeSpan.FromSeconds(60)).ExitCode);
        return fixture.Scratch.File($"runs/{name}");
    }
}
