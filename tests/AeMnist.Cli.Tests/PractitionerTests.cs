// What practitioners expect from score, evaluate and report, tried as they would: inputs from pipes and FIFOs, folders
// of images with bad files, labels carried through, probably-wrong inputs warned about, evaluation on their own
// labelled data, thresholds without known anomalies, PyTorch files, Kaggle file names, a runs folder to compare, and
// charts whose text survives a machine without fonts.
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.Imaging;
using AeMnist.Models;
using SkiaSharp;

namespace AeMnist.Cli.Tests;

public sealed class PractitionerTests : IDisposable
{
    private readonly TempDirectory _scratch = new();
    private string? _data;

    public void Dispose() => _scratch.Dispose();

    private string Data => _data ??= SmallMnist.Write(_scratch);

    private string Model() => _scratch.Write("model.safetensors", SafetensorsFiles.Dense());

    private static string Row(int label, Func<int, int> pixel) => label + "," + string.Join(",", Enumerable.Range(0, 784).Select(pixel));

    /// <summary>A CSV of <paramref name="count"/> digits from the shipped test file, Kaggle's layout: header, label first.</summary>
    private static string KaggleCsv(int count, int start = 0)
    {
        var mnist = AeMnist.Data.MnistFiles.Load(AeMnist.Data.MnistFiles.FindDefaultDirectory(AppContext.BaseDirectory)!);
        var text = new StringBuilder("label," + string.Join(",", Enumerable.Range(0, 784).Select(i => $"pixel{i}")) + "\n");
        for (int k = 0; k < count; k++)
        {
            int i = mnist.TrainCount + start + k;
            text.Append(mnist.Labels[i]).Append(',').AppendJoin(",", mnist.Bytes.AsSpan(i * 784, 784).ToArray()).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Runs a bash script (the words "$AEMNIST" run the program) in the scratch directory.</summary>
    private ProcessResult Bash(string script)
    {
        var info = new ProcessStartInfo("bash", ["-c", script])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _scratch.Path,
        };
        info.Environment["AEMNIST"] = AemnistProcess.ShellCommand;
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(600_000), "bash script timed out (a guard against a hang, not a speed target)");
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result, TimeSpan.Zero);
    }

    private static string[] Lines(string csv) => csv.TrimEnd('\n').Split('\n');

    [Fact]
    public void Score_reads_stdin_FIFOs_and_process_substitution_once_without_losing_bytes()
    {
        string csv = _scratch.Write("digits.csv", KaggleCsv(5));
        string model = Model();
        string score = $"eval $AEMNIST score --model-file '{model}' -q";
        ProcessResult expected = Bash($"{score} --input '{csv}'");
        Assert.True(expected.ExitCode == 0, expected.ToString());
        string[] reference = [.. Lines(expected.Stdout).Skip(1).Select(l => l[(l.IndexOf(',', l.IndexOf(',') + 1))..])];
        Assert.Equal(5, reference.Length);
        foreach (string script in new[]
                 {
                     $"cat '{csv}' | {score} --input /dev/stdin",
                     $"cat '{csv}' | {score} --input -",
                     $"{score} --input <(cat '{csv}')",
                     $"mkfifo fifo && (cat '{csv}' > fifo &) && {score} --input fifo",
                 })
        {
            ProcessResult result = Bash(script);
            Assert.True(result.ExitCode == 0, $"{script}\n{result}");
            // Same labels, errors and flags as from the file (the source names differ).
            Assert.Equal(reference, Lines(result.Stdout).Skip(1).Select(l => l[(l.IndexOf(',', l.IndexOf(',') + 1))..]));
        }
        // IDX through a pipe too.
        ProcessResult idx = Bash($"cat '{Path.Combine(Data, "t10k-images-idx3-ubyte")}' | {score} --input -");
        Assert.True(idx.ExitCode == 0, idx.ToString());
        Assert.Equal(1001, Lines(idx.Stdout).Length);
        Assert.StartsWith("0,stdin#0,", Lines(idx.Stdout)[1]);
    }

    [Fact]
    public void Score_carries_the_label_column_through()
    {
        string csv = _scratch.Write("mnist_test.csv", KaggleCsv(3));
        CliResult result = CliRunner.Run("score", "--model-file", Model(), "--input", csv, "-q");
        Assert.True(result.ExitCode == 0, result.Stderr);
        string[] lines = Lines(result.Stdout);
        Assert.Equal("index,source,label,error,anomaly", lines[0]);
        Assert.Equal(["7", "2", "1"], lines[1..].Select(l => l.Split(',')[2])); // the first three digits of MNIST's test file
        Assert.StartsWith("0,mnist_test.csv:2,7,", lines[1]);

        // Without labels, no label column.
        string plain = _scratch.Write("plain.csv", string.Join(",", Enumerable.Repeat("0", 784)) + "\n");
        Assert.Equal("index,source,error,anomaly", Lines(CliResult(CliRunner.Run("score", "--model-file", Model(), "--input", plain, "-q")).Stdout)[0]);
    }

    private static CliResult CliResult(CliResult r)
    {
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r;
    }

    private static byte[] Png(Func<int, byte> pixel) => ImageFiles.EncodeGrayPng([.. Enumerable.Range(0, 784).Select(pixel)], 28, 28);

    private static byte Digit(int i) => (byte)(i % 28 is > 10 and < 17 && i / 28 is > 4 and < 24 ? 255 : 0);

    [Fact]
    public void Score_folders_recursively_with_relative_sources_and_skip_bad()
    {
        _scratch.Write("digits/a/1.png", Png(Digit));
        _scratch.Write("digits/a/b/1.png", Png(Digit));
        _scratch.Write("digits/a/b/broken.png", Encoding.UTF8.GetBytes("not an image"));
        _scratch.Write("digits/c.webp", ImageFiles.EncodeRgba([.. Enumerable.Range(0, 784).SelectMany(i => new[] { Digit(i), Digit(i), Digit(i), (byte)255 })], 28, 28, SKEncodedImageFormat.Webp, 100));
        _scratch.Write("digits/notes.txt", "ignored");
        string folder = _scratch.File("digits");

        CliResult stop = CliRunner.Run("score", "--model-file", Model(), "--input", folder);
        Assert.Equal(1, stop.ExitCode);
        Assert.Contains("a/b/broken.png: not a PNG, JPEG, BMP, WebP or GIF image", stop.Stderr);

        CliResult skip = CliRunner.Run("score", "--model-file", Model(), "--input", folder, "--skip-bad");
        Assert.True(skip.ExitCode == 0, skip.Stderr);
        Assert.Equal(["a/1.png", "a/b/1.png", "c.webp"], Lines(skip.Stdout).Skip(1).Select(l => l.Split(',')[1]));
        Assert.Contains("aemnist: skipped a/b/broken.png: not a PNG", skip.Stderr);
    }

    [Fact]
    public void Score_warns_about_inputs_that_are_probably_wrong_and_names_the_switch()
    {
        string model = Model();
        string Warnings(string name, byte[] content, params string[] extra)
        {
            CliResult r = CliRunner.Run(["score", "--model-file", model, "--input", _scratch.Write(name, content), .. extra]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            return string.Join("\n", r.Stderr.Split('\n').Where(l => l.StartsWith("aemnist: warning:", StringComparison.Ordinal)));
        }
        Assert.Equal("", Warnings("good.png", Png(Digit)));
        Assert.Contains("look like dark ink on a light background", Warnings("white.png", Png(i => (byte)(255 - Digit(i)))));
        Assert.Contains("pass --invert", Warnings("white.png", Png(i => (byte)(255 - Digit(i)))));
        Assert.Equal("", Warnings("white.png", Png(i => (byte)(255 - Digit(i))), "--invert"));
        Assert.Contains("are blank", Warnings("blank.png", Png(_ => 0)));

        // Black ink on a transparent background: composited on black it vanishes.
        byte[] rgba = [.. Enumerable.Range(0, 784).SelectMany(i => new byte[] { 0, 0, 0, Digit(i) })];
        byte[] transparent = ImageFiles.EncodeRgba(rgba, 28, 28, SKEncodedImageFormat.Png, 100);
        string alpha = Warnings("ink.png", transparent);
        Assert.Contains("dark ink on a transparent background", alpha);
        Assert.Contains("pass --invert", alpha);
        Assert.Equal("", Warnings("ink.png", transparent, "--invert"));

        // A CSV already scaled to 0-1.
        string scaled = string.Join(",", Enumerable.Range(0, 784).Select(i => Digit(i) > 0 ? "0.9" : "0")) + "\n";
        Assert.Contains("pass --pixel-max 1", Warnings("scaled.csv", Encoding.UTF8.GetBytes(scaled)));
        Assert.Equal("", Warnings("scaled.csv", Encoding.UTF8.GetBytes(scaled), "--pixel-max", "1"));
    }

    /// <summary>A seed-protocol split that the small data (2,000 + 1,000 images) can hold for any digit.</summary>
    private static readonly string[] SmallSplit = ["--train-normal", "150", "--train-anomalies", "15", "--test-normal", "50", "--test-anomalies", "50"];

    private string TrainRun(string runs, string name, params string[] extra)
    {
        CliResult train = CliRunner.Run(["train", "--epochs", "2", .. SmallSplit,
            "--data", Data, "--runs-dir", runs, "--run-name", name, "--quiet", .. extra]);
        Assert.True(train.ExitCode == 0, train.Stderr);
        return Path.Combine(runs, name);
    }

    [Fact]
    public void Evaluate_on_own_labelled_data_CSV_or_IDX_pair_without_touching_metrics_json()
    {
        string run = TrainRun(_scratch.File("runs"), "r");
        string csv = _scratch.Write("mnist_test.csv", KaggleCsv(400));
        CliResult fromCsv = CliRunner.Run("evaluate", "--run", run, "--input", csv, "--data", Data, "--json");
        Assert.True(fromCsv.ExitCode == 0, fromCsv.Stderr);
        JsonObject metrics = JsonNode.Parse(fromCsv.Stdout)!.AsObject();
        Assert.Equal("mnist_test.csv", (string?)metrics["test_set"]);
        Assert.Equal(400, (int)metrics["test_count"]!);
        int fives = KaggleCsv(400).Split('\n').Skip(1).Count(l => l.StartsWith("5,", StringComparison.Ordinal));
        Assert.Equal(fives, (int)metrics["test_normal"]!);
        Assert.Null(metrics["test_used_for_early_stopping"]);
        Assert.False(File.Exists(Path.Combine(run, "metrics.json")));

        // The same digits as an IDX pair (labels found beside the images by name), and --normal of another digit.
        string idx = _scratch.CreateDirectory("idx");
        File.Copy(Path.Combine(Data, "t10k-images-idx3-ubyte"), Path.Combine(idx, "t10k-images.idx3-ubyte"));
        File.Copy(Path.Combine(Data, "t10k-labels-idx1-ubyte"), Path.Combine(idx, "t10k-labels.idx1-ubyte"));
        string foreign = _scratch.Write("foreign.safetensors", SafetensorsFiles.Dense(meta: m => m.Clear()));
        CliResult fromIdx = CliRunner.Run(["evaluate", "--model-file", foreign, "--input", Path.Combine(idx, "t10k-images.idx3-ubyte"), "--normal", "3", .. SmallSplit, "--data", Data, "--json"]);
        Assert.True(fromIdx.ExitCode == 0, fromIdx.Stderr);
        JsonObject m2 = JsonNode.Parse(fromIdx.Stdout)!.AsObject();
        Assert.Equal(1000, (int)m2["test_count"]!);
        Assert.Equal(3, (int)m2["normal"]!);

        CliResult unlabelled = CliRunner.Run("evaluate", "--run", run, "--input", _scratch.Write("plain.csv", string.Join(",", Enumerable.Repeat("0", 784)) + "\n"), "--data", Data);
        Assert.Equal(1, unlabelled.ExitCode);
        Assert.Contains("no label", unlabelled.Stderr);

        // --report with --input goes beside the run's own report, named after the data.
        CliResult report = CliRunner.Run("evaluate", "--run", run, "--input", csv, "--data", Data, "--report", "-q");
        Assert.True(report.ExitCode == 0, report.Stderr);
        Assert.True(File.Exists(Path.Combine(run, "input-mnist_test.csv", "report.html")));
    }

    [Fact]
    public void Fpr_flags_that_share_of_normal_training_digits_and_a_foreign_model_gets_a_stated_default()
    {
        string foreign = _scratch.Write("torch.safetensors", SafetensorsFiles.Dense(meta: m => m.Clear()));
        CliResult evaluate = CliRunner.Run(["evaluate", "--model-file", foreign, .. SmallSplit, "--data", Data, "--json"]);
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        JsonObject metrics = JsonNode.Parse(evaluate.Stdout)!.AsObject();
        Assert.StartsWith("the model file stores no threshold (trained elsewhere?), so aemnist's default rule applies: --fpr 0.05", (string?)metrics["threshold_rule"]);
        Assert.Null(metrics["test_used_for_early_stopping"]);
        Assert.Equal("dense", (string?)metrics["model"]);

        CliResult text = CliRunner.Run(["evaluate", "--model-file", foreign, .. SmallSplit, "--data", Data]);
        Assert.Contains("architecture recognised from its tensor names and shapes", text.Stdout);
        Assert.DoesNotContain("early stopping watched the test split", text.Stdout);
        Assert.Contains("Reference only: the best F1 on these labels", text.Stdout);

        // --fpr 0.2 on the seed split's train digits of 5: about 20% of them at or above the threshold.
        string run = TrainRun(_scratch.File("runs"), "fpr");
        CliResult fpr = CliRunner.Run("evaluate", "--run", run, "--fpr", "0.2", "--data", Data, "--json");
        Assert.True(fpr.ExitCode == 0, fpr.Stderr);
        double threshold = (double)JsonNode.Parse(fpr.Stdout)!["threshold"]!;
        JsonObject runJson = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!.AsObject();
        int[] train = [.. runJson["split"]!["indices"]!["train"]!.AsArray().Select(n => (int)n!)];
        var data = AeMnist.Data.MnistFiles.Load(Data);
        int[] normals = [.. train.Where(i => data.Labels[i] == 5)];
        var (spec, weights, _) = DetectorFile.Load(Path.Combine(run, "model.safetensors"));
        using var engine = new AeMnist.Engines.Native.NativeEngine();
        using var model = engine.Load(spec, weights);
        var errors = new float[normals.Length];
        model.ReconstructionErrors(data.Gather(normals), normals.Length, errors);
        double share = errors.Count(e => e >= threshold) / (double)normals.Length;
        Assert.InRange(share, 0.19, 0.21);

        // score with a foreign model: the default rule needs the normal digit, and says which rule it used.
        CliResult noDigit = CliRunner.Run("score", "--model-file", foreign, "--input", _scratch.Write("x.csv", KaggleCsv(2)), "--data", Data);
        Assert.Equal(2, noDigit.ExitCode);
        Assert.Contains("--normal D", noDigit.Stderr);
        CliResult scored = CliRunner.Run("score", "--model-file", foreign, "--input", _scratch.File("x.csv"), "--normal", "5", "--data", Data);
        Assert.True(scored.ExitCode == 0, scored.Stderr);
        Assert.Contains("no stored threshold, so the default rule: --fpr 0.05", scored.Stderr);
        Assert.Contains("the train split is the one-class split: every training-file image of digit 5", scored.Stderr);
    }

    [Fact]
    public void PyTorch_files_DataParallel_prefix_and_torch_save()
    {
        string prefixed = _scratch.Write("dp.safetensors", SafetensorsFiles.Dense(e => [.. e.Select(x => x with { Name = "module." + x.Name })], meta: m => m.Clear()));
        CliResult result = CliRunner.Run(["evaluate", "--model-file", prefixed, .. SmallSplit, "--data", Data]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("'module.' prefix of DataParallel dropped", result.Stdout);
        var (_, weights, metadata) = DetectorFile.Load(prefixed);
        Assert.True(metadata.ArchitectureGuessed);
        Assert.Equal([16, 8], metadata.Settings[DenseAutoEncoder.Hidden]);
        Assert.Equal("encoder.0.weight", weights.Tensors[0].Name);

        string pickle = _scratch.Write("model.pt", [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]);
        CliResult torch = CliRunner.Run("evaluate", "--model-file", pickle);
        Assert.Equal(1, torch.ExitCode);
        Assert.Contains("model.pt: this is a torch.save file (a pickle), not safetensors; save a state dict with safetensors", torch.Stderr);
        Assert.DoesNotContain("header length", torch.Stderr);
    }

    [Fact]
    public void Data_accepts_Kaggles_file_names()
    {
        string kaggle = _scratch.CreateDirectory("kaggle");
        foreach (string name in AeMnist.Data.MnistFiles.FileNames)
            File.Copy(Path.Combine(Data, name), Path.Combine(kaggle, name[..name.LastIndexOf("-idx", StringComparison.Ordinal)] + "." + name[(name.LastIndexOf("-idx", StringComparison.Ordinal) + 1)..]));
        Assert.True(File.Exists(Path.Combine(kaggle, "train-images.idx3-ubyte")));
        CliResult data = CliRunner.Run("data", "--data", kaggle);
        Assert.True(data.ExitCode == 0, data.Stderr);
        Assert.Contains("3000 images", data.Stdout);
    }

    [Fact]
    public void Report_compare_takes_a_runs_folder_and_never_reads_its_own_page()
    {
        string runs = _scratch.File("runs");
        TrainRun(runs, "a");
        TrainRun(runs, "b", "--lr", "0.005");
        _scratch.CreateDirectory("runs/not-a-run");
        CliResult first = CliRunner.Run("report", "--compare", runs, "--data", Data);
        Assert.True(first.ExitCode == 0, first.Stderr);
        string page = Path.Combine(runs, "comparison.html");
        Assert.Contains("(2 runs: a, b)", first.Stdout);
        CliResult second = CliRunner.Run("report", "--compare", runs, "--data", Data);
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains("(2 runs: a, b)", second.Stdout);
        string html = File.ReadAllText(page);
        Assert.Contains("Bold in a metric row", html);
        Assert.Contains("Bold in a settings row", html);

        CliResult one = CliRunner.Run("report", "--compare", Path.Combine(runs, "a"), "--data", Data);
        Assert.Equal(2, one.ExitCode);
        Assert.Contains("at least two runs", one.Stderr);
    }

    [Fact]
    public void Report_of_a_run_states_the_training_settings_and_warnings()
    {
        string run = TrainRun(_scratch.File("runs"), "settings", "--lr", "0.005", "--batch-size", "64");
        CliResult report = CliRunner.Run("report", "--run", run, "--data", Data, "-q");
        Assert.True(report.ExitCode == 0, report.Stderr);
        string html = File.ReadAllText(Path.Combine(run, "report.html"));
        Assert.Contains("Adam, lr 0.005, batch size 64", html);
        Assert.Contains("150 normal + 15 anomalous digits (9.1% anomalies)", html);
        Assert.Contains("Early stopping watched the test split", html);
        Assert.Contains("class=\"reading\">AUROC ", html);
    }

    /// <summary>
    /// With every font directory of the machine hidden (a private mount namespace with empty tmpfs mounts over
    /// them), the charts still carry their text: the shipped font draws it. Without it, ScottPlot drew no text at all.
    /// </summary>
    [Fact]
    public void Charts_keep_their_text_on_a_machine_without_fonts()
    {
        string model = _scratch.Write("model.safetensors", SafetensorsFiles.Dense(meta: m => m.Clear()));
        string hide = string.Join(" && ", new[] { "/usr/share/fonts", "/usr/local/share/fonts" }
            .Where(Directory.Exists).Select(d => $"mount -t tmpfs none {d}"));
        ProcessResult probe = Bash($"unshare -rm bash -c '{hide} && ls /usr/share/fonts | wc -l'");
        Assert.True(probe.ExitCode == 0 && probe.Stdout.Trim() == "0", $"cannot hide the fonts (unshare needs user namespaces or root): {probe}");

        ProcessResult result = Bash($"unshare -rm bash -c '{hide} && eval $AEMNIST report --model-file {model} --output {_scratch.File("report")} {string.Join(" ", SmallSplit)} --data {Data} -q'");
        Assert.True(result.ExitCode == 0, result.ToString());
        string svg = File.ReadAllText(_scratch.File("report/roc.svg"));
        var texts = AeMnist.Reporting.Chart.SvgTexts(svg);
        Assert.Contains("false positive rate", texts);
        Assert.Contains(texts, t => t.StartsWith("ROC curve (AUROC ", StringComparison.Ordinal));
        Assert.Contains("0.5", texts);
        // And the PNG has ink where the title is: dark pixels in the top band, above the plot.
        using SKBitmap png = SKBitmap.Decode(_scratch.File("report/roc.png"));
        int dark = 0;
        for (int y = 2; y < 30; y++)
            for (int x = 0; x < png.Width; x++)
                if (png.GetPixel(x, y).Red < 100) dark++;
        Assert.True(dark > 150, $"only {dark} dark pixels in the title band of roc.png");
    }
}
