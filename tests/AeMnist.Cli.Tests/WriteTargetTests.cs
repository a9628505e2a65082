using System.Diagnostics;
using AeMnist.IO;

namespace AeMnist.Cli.Tests;

/// <summary>
/// Where output goes (issue 12, "writes that replace what they should not"), against the real process: a device, a
/// FIFO or a link to standard output is written through, never replaced by a regular file; a symbolic link keeps
/// pointing at its target, which gets the content; a run's own files, model and image files and the inputs are never
/// overwritten; a model file that is not a run's gets nothing written beside it. Device nodes are made here with
/// mknod (this machine's /dev is never touched).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WriteTargetTests : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private static readonly string Row = string.Join(",", Enumerable.Repeat("0", 784)) + "\n" + string.Join(",", Enumerable.Repeat("255", 784)) + "\n";

    private string[] Score(string output) =>
        ["score", "--model-file", _scratch.Write("in/model.safetensors", SafetensorsFiles.Dense()), "--input", _scratch.Write("in/rows.csv", Row),
         "--output", output, "--quiet"];

    private static bool Make(string tool, params string[] args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(tool, args) { RedirectStandardError = true, UseShellExecute = false })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    private string[] TempFiles() => Directory.GetFiles(_scratch.Path, "*.tmp", SearchOption.AllDirectories);

    [Fact]
    public void A_character_device_is_written_through_not_replaced()
    {
        // Our own null device (character device 1,3) in the scratch directory; without mknod (not root), a link to /dev/null.
        string device = _scratch.File("null");
        if (!Make("mknod", device, "c", "1", "3")) File.CreateSymbolicLink(device, "/dev/null");
        FileKind before = FileKinds.Of(device, followLinks: false);

        ProcessResult result = AemnistProcess.Run(Score(device), _scratch.Path);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(before, FileKinds.Of(device, followLinks: false));
        Assert.Equal(FileKind.CharacterDevice, FileKinds.Of(device));
        Assert.Empty(TempFiles());
    }

    [Fact]
    public void A_fifo_is_written_through_to_its_reader()
    {
        string fifo = _scratch.File("pipe");
        Assert.True(Make("mkfifo", fifo), "mkfifo failed");
        string? received = null;
        var reader = new Thread(() => received = File.ReadAllText(fifo));
        reader.Start();

        ProcessResult result = AemnistProcess.Run(Score(fifo), _scratch.Path);

        Assert.True(reader.Join(TimeSpan.FromSeconds(300)), "the reader never got end of file");  // a guard against a hang
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(FileKind.Fifo, FileKinds.Of(fifo, followLinks: false));
        Assert.StartsWith("index,source,error,anomaly\n0,rows.csv", received);
        Assert.Equal(3, received!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void A_link_to_standard_output_and_dash_write_to_standard_output()
    {
        string link = _scratch.File("stdout");
        File.CreateSymbolicLink(link, "/proc/self/fd/1");
        foreach (string output in new[] { link, "-" })
        {
            ProcessResult result = AemnistProcess.Run(Score(output), _scratch.Path);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.StartsWith("index,source,error,anomaly\n", result.Stdout);
            Assert.Equal(FileKind.SymbolicLink, FileKinds.Of(link, followLinks: false));
        }
        Assert.Empty(TempFiles());
    }

    [Fact]
    public void A_symbolic_link_keeps_pointing_at_its_target_which_gets_the_content()
    {
        string target = _scratch.Write("kept/target.csv", "old\n"), link = _scratch.File("link.csv");
        File.CreateSymbolicLink(link, target);
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        ProcessResult result = AemnistProcess.Run(Score(link), _scratch.Path);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(FileKind.SymbolicLink, FileKinds.Of(link, followLinks: false));
        Assert.Equal(target, File.ResolveLinkTarget(link, false)!.FullName);
        Assert.StartsWith("index,source,error,anomaly\n", File.ReadAllText(target));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));  // a private file stays private
        Assert.Empty(TempFiles());
    }

    public static TheoryData<string, string> Protected() => new()
    {
        { "run/model.safetensors", "a run's own model.safetensors" },
        { "run/checkpoint.safetensors", "a run's own checkpoint.safetensors" },
        { "run/run.json", "a run's own run.json" },
        { "other/weights.safetensors", "holds a safetensors model" },
        { "other/train-images.gz", "holds gzip data" },
        { "other/digit.png", "holds a PNG image" },
        { "other/t10k-images-idx3-ubyte", "holds IDX data" },
        { "in/rows.csv", "is also an input" },
    };

    [Theory]
    [MemberData(nameof(Protected))]
    public void Output_never_replaces_a_run_file_a_model_image_data_or_an_input(string name, string message)
    {
        _scratch.Write("run/.aemnist-run", "");
        _scratch.Write("run/model.safetensors", SafetensorsFiles.Dense());
        _scratch.Write("run/checkpoint.safetensors", SafetensorsFiles.Dense());
        _scratch.Write("run/run.json", "{}");
        _scratch.Write("other/weights.safetensors", SafetensorsFiles.Dense());
        _scratch.Write("other/train-images.gz", Idx.Gzip(Idx.Images(2)));
        _scratch.Write("other/digit.png", AeMnist.Imaging.ImageFiles.EncodeGrayPng(new byte[784], 28, 28));
        _scratch.Write("other/t10k-images-idx3-ubyte", Idx.Images(2));
        string[] args = Score(_scratch.File(name));
        byte[] before = File.ReadAllBytes(_scratch.File(name));
        string[] listing = _scratch.Listing();

        ProcessResult result = AemnistProcess.Run(args, _scratch.Path);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Stderr);
        Assert.StartsWith($"aemnist: --output {_scratch.File(name)}", result.Stderr);
        Assert.Equal(before, File.ReadAllBytes(_scratch.File(name)));
        Assert.Equal(listing, _scratch.Listing());
    }

    [Theory]
    [InlineData("adir", "it is a directory")]
    [InlineData("missing/x.csv", "directory")]
    public void A_directory_or_a_missing_directory_is_a_one_line_usage_error_in_our_words(string name, string message)
    {
        _scratch.CreateDirectory("adir");
        string[] args = Score(_scratch.File(name));
        string[] listing = _scratch.Listing();

        ProcessResult result = AemnistProcess.Run(args, _scratch.Path);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Stderr);
        Assert.DoesNotContain(".tmp", result.Stderr);
        Assert.DoesNotContain("Could not find a part of the path", result.Stderr);
        Assert.DoesNotContain("Is a directory :", result.Stderr);
        Assert.Equal(listing, _scratch.Listing());
    }

    [Fact]
    public void A_model_file_outside_a_run_gets_nothing_written_beside_it()
    {
        string data = SmallMnist.Write(_scratch, train: 1000, test: 500);
        string model = _scratch.Write("theirs/model.safetensors", SafetensorsFiles.Dense(meta: m =>
        {
            m["train_normal"] = "50"; m["train_anomalies"] = "5"; m["test_normal"] = "40"; m["test_anomalies"] = "40";
        }));
        string[] theirs = Directory.GetFileSystemEntries(_scratch.File("theirs"));

        ProcessResult evaluate = AemnistProcess.Run(["evaluate", "--model-file", model, "--data", data], _scratch.Path);
        Assert.True(evaluate.ExitCode == 0, evaluate.ToString());
        Assert.Contains("not a run's model, so no metrics.json was written", evaluate.Stdout);

        ProcessResult withReport = AemnistProcess.Run(["evaluate", "--model-file", model, "--data", data, "--report"], _scratch.Path);
        Assert.True(withReport.ExitCode == 2, withReport.ToString());

        ProcessResult report = AemnistProcess.Run(["report", "--model-file", model, "--data", data], _scratch.Path);
        Assert.True(report.ExitCode == 2, report.ToString());
        Assert.Contains("--output DIR", report.Stderr);
        Assert.Equal(theirs, Directory.GetFileSystemEntries(_scratch.File("theirs")));

        // Where the user names a place, that is where it goes.
        ProcessResult named = AemnistProcess.Run(["report", "--model-file", model, "--data", data, "--output", _scratch.File("mine"), "--quiet"], _scratch.Path);
        Assert.True(named.ExitCode == 0, named.ToString());
        Assert.True(File.Exists(_scratch.File("mine/report.html")));
        ProcessResult metrics = AemnistProcess.Run(["evaluate", "--model-file", model, "--data", data, "--output", _scratch.File("mine/metrics.json"), "--quiet"], _scratch.Path);
        Assert.True(metrics.ExitCode == 0, metrics.ToString());
        Assert.Contains("\"auroc\"", File.ReadAllText(_scratch.File("mine/metrics.json")));
        Assert.Equal(theirs, Directory.GetFileSystemEntries(_scratch.File("theirs")));
    }

    [Fact]
    public void An_input_is_never_replaced_however_the_output_path_is_spelled()
    {
        string[] args = Score(_scratch.File("x.csv"));  // writes in/model.safetensors and in/rows.csv
        string input = _scratch.File("in/rows.csv");
        Directory.CreateSymbolicLink(_scratch.File("via"), _scratch.File("in"));          // a link in a parent directory
        File.CreateSymbolicLink(_scratch.File("alias.csv"), "in/../in/rows.csv");        // a link to it, spelled oddly
        Assert.True(Make("ln", input, _scratch.File("hard.csv")), "ln failed");          // a hard link: another name, one inode
        byte[] before = File.ReadAllBytes(input);
        foreach (string spelling in new[] { "via/rows.csv", "via/../in/./rows.csv", "alias.csv", "hard.csv" })
        {
            string[] withOutput = [.. args[..^2], _scratch.File(spelling), "--quiet"];
            ProcessResult result = AemnistProcess.Run(withOutput, _scratch.Path);
            Assert.True(result.ExitCode == 2, $"{spelling}: {result}");
            Assert.Contains("also an input", result.Stderr);
            Assert.Equal(before, File.ReadAllBytes(input));
        }
        Assert.Empty(TempFiles());
    }

    [Fact]
    public void A_model_files_report_never_replaces_another_models_report_or_a_users_images()
    {
        string data = SmallMnist.Write(_scratch, train: 1000, test: 500);
        Action<Dictionary<string, string>> split = m => { m["train_normal"] = "50"; m["train_anomalies"] = "5"; m["test_normal"] = "40"; m["test_anomalies"] = "40"; };
        string mine = _scratch.Write("a/model.safetensors", SafetensorsFiles.Dense(meta: split));
        string other = _scratch.Write("b/model.safetensors", SafetensorsFiles.Dense(meta: m => { split(m); m["seed"] = "7"; }));
        string[] Report(string model, string directory) => ["report", "--model-file", model, "--data", data, "--output", _scratch.File(directory), "--quiet"];

        ProcessResult first = AemnistProcess.Run(Report(other, "out"), _scratch.Path);
        Assert.True(first.ExitCode == 0, first.ToString());
        byte[] theirs = File.ReadAllBytes(_scratch.File("out/report.html"));
        // Another model's report: refused, nothing replaced.
        ProcessResult over = AemnistProcess.Run(Report(mine, "out"), _scratch.Path);
        Assert.True(over.ExitCode == 2, over.ToString());
        Assert.Contains("did not write for", over.Stderr);
        Assert.Equal(theirs, File.ReadAllBytes(_scratch.File("out/report.html")));
        // The same model again: its own report is replaced.
        ProcessResult again = AemnistProcess.Run(Report(other, "out"), _scratch.Path);
        Assert.True(again.ExitCode == 0, again.ToString());
        // A user's image that shares a chart's name: refused, untouched.
        byte[] photo = AeMnist.Imaging.ImageFiles.EncodeGrayPng(new byte[784], 28, 28);
        _scratch.Write("photos/roc.png", photo);
        ProcessResult photos = AemnistProcess.Run(Report(mine, "photos"), _scratch.Path);
        Assert.True(photos.ExitCode == 2, photos.ToString());
        Assert.Contains("roc.png", photos.Stderr);
        Assert.Equal(photo, File.ReadAllBytes(_scratch.File("photos/roc.png")));
        Assert.False(File.Exists(_scratch.File("photos/report.html")));
        Assert.Empty(TempFiles());
    }
}
