using AeMnist.Imaging;
using Xunit.Abstractions;

namespace AeMnist.Cli.Tests;

/// <summary>
/// Every kind of bad input, given to the real `aemnist` process: the documented exit code (1 for data and
/// runtime errors, 2 for usage errors), exactly one line on stderr that names the file or option and the
/// problem, no stack trace, and nothing written (no run directory, no output file, no temporary file).
/// </summary>
public sealed class BadInputTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>One row of the table: the arguments it builds in a scratch directory, and what stderr must say.</summary>
    private sealed record Case(string Name, int Exit, Func<TempDirectory, string[]> Args, params string[] Expect);

    private const int Data = 1, Usage = 2;

    private static readonly string Row = string.Join(",", Enumerable.Repeat("0", 784));

    private static string[] DataCommand(TempDirectory s, Action<Dictionary<string, byte[]>> change) =>
        ["data", "--data", Idx.DataDirectory(s, change)];

    private static string[] EvaluateModel(TempDirectory s, byte[] model, params string[] extra) =>
        ["evaluate", "--model-file", s.Write("bad.safetensors", model), "--data", Idx.DataDirectory(s), .. extra];

    private static string[] Score(TempDirectory s, string inputName, byte[] input, params string[] extra) =>
        ["score", "--model-file", s.Write("model.safetensors", SafetensorsFiles.Dense()), "--input", s.Write(inputName, input),
         "--output", s.File("scores.csv"), .. extra];

    /// <summary>`train` with the given options, one epoch unless they say otherwise, into the scratch runs directory.</summary>
    private static string[] Train(TempDirectory s, params string[] options) =>
        ["train", .. options, "--runs-dir", s.File("runs"), .. options.Contains("--epochs") ? Array.Empty<string>() : ["--epochs", "1"]];

    private static byte[] Text(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    private static readonly Case[] Cases =
    [
        // IDX files, through `aemnist data` (and once through `train`).
        new("idx: missing file", Data, s => DataCommand(s, f => f.Remove("t10k-labels-idx1-ubyte")), "t10k-labels-idx1-ubyte", "not found"),
        new("idx: empty file", Data, s => DataCommand(s, f => f["train-images-idx3-ubyte"] = []), "train-images-idx3-ubyte", "empty"),
        new("idx: truncated header", Data, s => DataCommand(s, f => f["train-images-idx3-ubyte"] = Idx.Images(20)[..10]), "train-images-idx3-ubyte", "truncated header"),
        new("idx: wrong magic", Data, s => DataCommand(s, f => f["t10k-images-idx3-ubyte"] = Idx.Images(10, magic: 0x12345678)), "t10k-images-idx3-ubyte", "bad magic number"),
        new("idx: labels given as images", Data, s => DataCommand(s, f => f["train-images-idx3-ubyte"] = Idx.Labels(20)), "train-images-idx3-ubyte", "1 dimensions, expected 3"),
        new("idx: wrong dimension count", Data, s => DataCommand(s, f => f["train-images-idx3-ubyte"] = Idx.Images(20, magic: 0x802)), "train-images-idx3-ubyte", "2 dimensions, expected 3"),
        new("idx: dimensions disagree with the file length", Data, s => DataCommand(s, f => f["train-images-idx3-ubyte"] = With(Idx.Images(20), 8, 27)),
            "train-images-idx3-ubyte", "27x28", "the file has"),
        new("idx: truncated pixels", Data, s => DataCommand(s, f => f["train-images-idx3-ubyte"] = Idx.Images(20)[..^100]), "train-images-idx3-ubyte", "truncated"),
        new("idx: truncated gzip", Data, s => DataCommand(s, f => { f.Remove("train-images-idx3-ubyte"); f["train-images-idx3-ubyte.gz"] = Idx.Gzip(Idx.Images(20))[..^40]; }),
            "train-images-idx3-ubyte.gz", "truncated"),
        new("idx: corrupt gzip", Data, s => DataCommand(s, f => { f.Remove("t10k-images-idx3-ubyte"); f["t10k-images-idx3-ubyte.gz"] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF]; }),
            "t10k-images-idx3-ubyte.gz", "corrupt gzip"),
        new("idx: images and labels disagree in count", Data, s => DataCommand(s, f => f["train-labels-idx1-ubyte"] = Idx.Labels(19)),
            "train-labels-idx1-ubyte", "19 labels for 20 images", "do not belong together"),
        new("idx: label outside 0-9", Data, s => DataCommand(s, f => f["t10k-labels-idx1-ubyte"][8 + 3] = 10), "t10k-labels-idx1-ubyte", "label 3 is 10", "0-9"),
        new("idx: header claims billions of images", Data, s => DataCommand(s, f => f["train-images-idx3-ubyte"] = With(Idx.Images(20), 4, 2_000_000_000)),
            "train-images-idx3-ubyte", "2000000000 images", "truncated or corrupt"),
        new("idx: gzip header claims billions of labels", Data, s => DataCommand(s, f => { f.Remove("train-labels-idx1-ubyte"); f["train-labels-idx1-ubyte.gz"] = Idx.Gzip(With(Idx.Labels(20), 4, 2_000_000_000)); }),
            "train-labels-idx1-ubyte.gz", "2000000000 labels"),
        new("idx: images are not 28x28", Data, s => DataCommand(s, f => f["t10k-images-idx3-ubyte"] = Idx.Images(10, 14, 14)), "t10k-images-idx3-ubyte", "14x14", "28x28"),
        new("idx: data directory missing", Data, s => ["data", "--data", s.File("nowhere")], "nowhere", "data directory not found"),
        new("idx: bad file through train", Data, s => [.. Train(s), "--data", Idx.DataDirectory(s, f => f["train-labels-idx1-ubyte"][9] = 200)],
            "train-labels-idx1-ubyte", "label 1 is 200"),

        // safetensors model files, through `aemnist evaluate --model-file`.
        new("safetensors: header length past the end of the file", Data, s => EvaluateModel(s, SafetensorsFiles.Bytes("{}", [], headerLength: 1_000_000)),
            "bad.safetensors", "header length 1000000", "past the end"),
        new("safetensors: shorter than the header length field", Data, s => EvaluateModel(s, [1, 2, 3]), "bad.safetensors", "too short"),
        new("safetensors: invalid JSON", Data, s => EvaluateModel(s, SafetensorsFiles.Bytes("{\"encoder.0.weight\": {\"dtype\": ", [])), "bad.safetensors", "not valid JSON"),
        new("safetensors: missing tensor", Data, s => EvaluateModel(s, SafetensorsFiles.Dense(e => e[..^1], data: d => d[..^(4 * 784)])),
            "bad.safetensors", "decoder.2.bias", "missing"),
        new("safetensors: wrong shape", Data, s => EvaluateModel(s, SafetensorsFiles.Dense(e => [.. e[..^2], e[^2] with { Shape = [392, 32] }, e[^1]])),
            "bad.safetensors", "decoder.2.weight", "[392, 32]", "expected [784, 16]"),
        new("safetensors: wrong dtype", Data, s => EvaluateModel(s, SafetensorsFiles.Dense(e => [e[0] with { DType = "I32" }, .. e[1..]])),
            "bad.safetensors", "encoder.0.weight", "dtype 'I32'"),
        new("safetensors: overlapping offsets", Data, s => EvaluateModel(s, SafetensorsFiles.Dense(e => [e[0], e[1] with { Begin = e[1].Begin - 4, End = e[1].End - 4 }, .. e[2..]])),
            "bad.safetensors", "overlap"),
        new("safetensors: offsets past the data", Data, s => EvaluateModel(s, SafetensorsFiles.Dense(e => [.. e[..^1], e[^1] with { Begin = e[^1].Begin + 1_000_000, End = e[^1].End + 1_000_000 }])),
            "bad.safetensors", "decoder.2.bias", "past the end of the data"),
        new("safetensors: offsets that end before they begin", Data, s => EvaluateModel(s, SafetensorsFiles.Dense(e => [e[0] with { Begin = e[0].End, End = e[0].Begin }, .. e[1..]])),
            "bad.safetensors", "encoder.0.weight", "end before they begin"),
        new("safetensors: truncated data", Data, s => EvaluateModel(s, SafetensorsFiles.Dense(data: d => d[..^1000])), "bad.safetensors", "truncated"),
        new("safetensors: metadata names an unknown model", Data, s => EvaluateModel(s, SafetensorsFiles.Dense(meta: m => m["model"] = "resnet")),
            "bad.safetensors", "unknown model 'resnet'"),
        new("safetensors: no model metadata, and tensors that fit no architecture", Data,
            s => EvaluateModel(s, SafetensorsFiles.Dense(e => e[..^1], data: d => d[..^(4 * 784)], meta: m => m.Clear())), "bad.safetensors", "fit none", "--model"),
        new("safetensors: a torch.save zip archive", Data, s => EvaluateModel(s, [(byte)'P', (byte)'K', 3, 4, .. new byte[200]]), "bad.safetensors", "torch.save", "safetensors"),
        new("safetensors: a torch.save pickle", Data, s => EvaluateModel(s, [0x80, 0x02, 0x8A, 0x0A, .. new byte[200]]), "bad.safetensors", "torch.save", "save a state dict"),
        new("score: PNG declaring 11585x11585", Data, s => Score(s, "huge.png", Huge()), "huge.png", "11585x11585", "expected 28x28"),
        new("safetensors: dense file read as conv", Usage, s => EvaluateModel(s, SafetensorsFiles.Dense(), "--model", "conv"), "--model conv", "bad.safetensors", "dense"),
        new("safetensors: metadata threshold is not a number", Data, s => EvaluateModel(s, SafetensorsFiles.Dense(meta: m => m["threshold"] = "high")),
            "bad.safetensors", "threshold", "expected a number"),
        new("safetensors: model file missing", Data, s => ["evaluate", "--model-file", s.File("none.safetensors")], "none.safetensors", "not found"),

        // Images given to `aemnist score`: CSV, PNG, IDX.
        new("score: CSV row of the wrong width", Data, s => Score(s, "rows.csv", Text($"{Row}\n{Row},0,0\n")), "rows.csv line 2", "786 values", "784"),
        new("score: CSV cell that is not a number", Data, s => Score(s, "rows.csv", Text($"{Row[..^1]}x\n")), "rows.csv line 1", "column 784", "not a number"),
        new("score: CSV value above 255", Data, s => Score(s, "rows.csv", Text($"256{Row[1..]}\n")), "rows.csv line 1", "column 1", "outside the pixel range"),
        new("score: CSV value below 0", Data, s => Score(s, "rows.csv", Text($"{Row[..^1]}-1\n")), "rows.csv line 1", "outside the pixel range"),
        new("score: CSV value NaN", Data, s => Score(s, "rows.csv", Text($"NaN{Row[1..]}\n")), "rows.csv line 1", "NaN"),
        new("score: empty CSV", Data, s => Score(s, "rows.csv", []), "rows.csv", "empty"),
        new("score: PNG that is not 28x28", Data, s => Score(s, "digit.png", ImageFiles.EncodeGrayPng(new byte[27 * 28], 27, 28)), "digit.png", "27x28", "expected 28x28"),
        new("score: PNG that is not a PNG", Data, s => Score(s, "digit.png", Text("this is text")), "digit.png", "not a PNG"),
        new("score: truncated PNG", Data, s => Score(s, "digit.png", ImageFiles.EncodeGrayPng(new byte[28 * 28], 28, 28)[..40]), "digit.png", "truncated"),
        new("score: IDX images that are not 28x28", Data, s => Score(s, "small.idx", Idx.Images(2, 14, 14)), "small.idx", "14x14"),
        new("score: directory without PNG files", Data, s => ["score", "--model-file", s.Write("model.safetensors", SafetensorsFiles.Dense()), "--input", s.CreateDirectory("empty")],
            "empty", "no image files"),
        // Issue 20: CSV rows that would shift an image, folder scans, options that cannot apply, budgets, contradictions.
        new("score: CSV rows of two widths", Data, s => Score(s, "rows.csv", Text($"{Row}\n5,{Row}\n")), "rows.csv line 2", "785 values, but line 1 has 784"),
        new("score: CSV row with an empty label", Data, s => Score(s, "rows.csv", Text($"5,{Row}\n,{Row}\n")), "rows.csv line 2", "column 1", "no label"),
        new("score: CSV row whose label is not a digit", Data, s => Score(s, "rows.csv", Text($"5,{Row}\n12,{Row}\n")), "rows.csv line 2", "'12' is not a label"),
        new("score: CSV first row with a word among numbers, not a header", Data, s => Score(s, "rows.csv", Text($"x{Row[1..]}\n{Row}\n")), "rows.csv line 1", "column 1", "not a number"),
        new("score: a FIFO named like an image in a folder", Data, s => Score(s, "pics/a.png", ImageFiles.EncodeGrayPng(new byte[784], 28, 28)) is var args && Fifo(s, "pics/b.png")
            ? [.. args[..4], s.File("pics"), .. args[5..]] : [], "b.png", "FIFO", "not an image file"),
        new("score: --skip-bad without a folder", Usage, s => Score(s, "rows.csv", Text($"{Row}\n"), "--skip-bad"), "--skip-bad", "directories"),
        new("score: --pixel-max with image files only", Usage, s => Score(s, "digit.png", ImageFiles.EncodeGrayPng(new byte[784], 28, 28), "--pixel-max", "255"), "--pixel-max", "CSV"),
        new("encode: --output x.npz", Usage, s => ["encode", "--model-file", s.Write("model.safetensors", SafetensorsFiles.Dense()), "--input", s.Write("rows.csv", Row),
            "--output", s.File("codes.npz")], "codes.npz", "not .npz"),
        new("encode: --output x.csv with --format npy", Usage, s => ["encode", "--model-file", s.Write("model.safetensors", SafetensorsFiles.Dense()), "--input", s.Write("rows.csv", Row),
            "--output", s.File("codes.csv"), "--format", "npy"], "codes.csv", "--format is npy"),
        new("train: --validation that leaves a handful of images", Usage, s => Train(s, "--input", s.Write("many.csv", string.Concat(Enumerable.Repeat(Row + "\n", 100))), "--validation", "0.95"),
            "--validation 0.95", "5 of 100 images to train on"),
        new("evaluate: --normal that contradicts the model's recorded normal digit", Usage, s => ["evaluate", "--model-file", s.Write("m.safetensors", SafetensorsFiles.Dense(meta: m =>
            {
                foreach (string k in new[] { "protocol", "train_normal", "train_anomalies", "test_normal", "test_anomalies", "validation" }) m.Remove(k);
                m["normal"] = "3";
            })), "--data", Idx.DataDirectory(s), "--normal", "5", "--protocol", "one-class"], "--normal '5'", "contradicts", "digit 3"),
        new("score: a path too long for the file system", Data, s => ["score", "--model-file", s.Write("model.safetensors", SafetensorsFiles.Dense()), "--input", s.File(new string('a', 300) + ".csv")],
            "the path is too long", "..."),
        new("score: input missing", Data, s => ["score", "--model-file", s.Write("model.safetensors", SafetensorsFiles.Dense()), "--input", s.File("gone.csv")], "gone.csv", "not found"),

        // Options.
        new("train: unknown model", Usage, s => Train(s, "--model", "resnet"), "--model", "'resnet'"),
        new("train: --normal 10", Usage, s => Train(s, "--normal", "10"), "--normal 10", "0-9"),
        new("train: --normal -1", Usage, s => Train(s, "--normal", "-1"), "--normal -1", "0-9"),
        new("train: zero epochs", Usage, s => Train(s, "--epochs", "0"), "--epochs", "positive"),
        new("train: negative epochs", Usage, s => Train(s, "--epochs", "-5"), "--epochs", "positive"),
        new("train: epochs not a number", Usage, s => Train(s, "--epochs", "ten"), "ten", "--epochs"),
        new("train: zero batch size", Usage, s => Train(s, "--batch-size", "0"), "--batch-size", "positive"),
        new("train: negative batch size", Usage, s => Train(s, "--batch-size", "-64"), "--batch-size", "positive"),
        new("train: NaN learning rate", Usage, s => Train(s, "--lr", "NaN"), "--lr", "NaN"),
        new("train: negative learning rate", Usage, s => Train(s, "--lr", "-0.01"), "--lr", "positive"),
        new("train: infinite learning rate", Usage, s => Train(s, "--lr", "Infinity"), "--lr", "positive"),
        new("train: contamination 0", Usage, s => Train(s, "--contamination", "0"), "--contamination 0", "(0, 0.5]"),
        new("train: contamination above 0.5", Usage, s => Train(s, "--contamination", "0.6"), "--contamination 0.6", "(0, 0.5]"),
        new("train: contamination NaN", Usage, s => Train(s, "--contamination", "NaN"), "--contamination NaN", "(0, 0.5]"),
        new("train: split larger than the data", Usage, s => Train(s, "--train-normal", "100000"), "--train-normal", "lower the counts"),
        new("train: zero threads", Usage, s => Train(s, "--threads", "0"), "--threads 0", "must be 1-"),
        new("train: run name with a slash", Usage, s => Train(s, "--run-name", "a/b"), "--run-name 'a/b'"),
        new("train: unknown option", Usage, s => Train(s, "--learning-rate", "0.1"), "--learning-rate"),
        new("train: resume a directory that does not exist", Data, s => ["train", "--resume", s.File("gone"), "--data", Idx.DataDirectory(s)], "gone", "not found"),
        new("train: resume a directory without a checkpoint", Data, s => ["train", "--resume", s.CreateDirectory("runs/empty"), "--data", Idx.DataDirectory(s)], "checkpoint"),
        new("evaluate: NaN threshold", Usage, s => ["evaluate", "--threshold", "NaN"], "--threshold", "NaN"),
        new("evaluate: negative threshold", Usage, s => ["evaluate", "--threshold", "-0.5"], "--threshold", "-0.5"),
        new("evaluate: contamination above 0.5", Usage, s => ["evaluate", "--contamination", "0.7"], "--contamination 0.7", "(0, 0.5]"),
        new("evaluate: contamination 0", Usage, s => ["evaluate", "--contamination", "0"], "--contamination 0", "(0, 0.5]"),
        new("evaluate: percentile above 100", Usage, s => ["evaluate", "--percentile", "101"], "--percentile 101"),
        new("evaluate: --min-f1 above 1", Usage, s => ["evaluate", "--min-f1", "2"], "--min-f1 2"),
        new("evaluate: --run and --model-file together", Usage, s => ["evaluate", "--run", s.File("r"), "--model-file", s.File("m")], "--run", "--model-file"),
        new("evaluate: runs directory missing", Data, s => ["evaluate", "--runs-dir", s.File("no-runs")], "no-runs", "runs directory not found"),
        new("evaluate: runs directory empty", Data, s => ["evaluate", "--runs-dir", s.CreateDirectory("runs")], "runs", "no finished run with a model.safetensors"),
        new("evaluate: --run without a model", Data, s => ["evaluate", "--run", s.CreateDirectory("runs/half")], "half", "no model.safetensors", "not a run directory"),
        new("evaluate: --run that does not exist", Data, s => ["evaluate", "--run", s.File("runs/gone")], "gone", "run directory not found"),
        new("evaluate: unknown --model", Usage, s => ["evaluate", "--model-file", s.Write("model.safetensors", SafetensorsFiles.Dense()), "--model", "resnet"], "--model 'resnet'"),
        new("score: NaN threshold", Usage, s => Score(s, "rows.csv", Text(Row), "--threshold", "NaN"), "--threshold", "NaN"),
        new("score: negative threshold", Usage, s => Score(s, "rows.csv", Text(Row), "--threshold", "-1"), "--threshold", "-1"),
        new("score: no --input", Usage, s => ["score", "--model-file", s.Write("model.safetensors", SafetensorsFiles.Dense())], "--input"),
        new("score: --run without a model", Data, s => ["score", "--run", s.CreateDirectory("runs/half"), "--input", s.Write("rows.csv", Row)], "half", "no model.safetensors"),
        new("report: --run without a model", Data, s => ["report", "--run", s.CreateDirectory("runs/half")], "half", "no model.safetensors"),
        new("unknown command", Usage, s => ["frobnicate"], "frobnicate"),
    ];

    /// <summary>Makes a FIFO at <paramref name="name"/> in the scratch directory (true when mkfifo worked).</summary>
    private static bool Fifo(TempDirectory s, string name)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("mkfifo", [s.File(name)]) { UseShellExecute = false })!;
        p.WaitForExit();
        return p.ExitCode == 0;
    }

    /// <summary>A 1 MB PNG whose IHDR (with a correct CRC) claims 11585x11585: decoded, it would take 1.2 GB of floats.</summary>
    private static byte[] Huge()
    {
        byte[] png = ImageFiles.EncodeGrayPng(new byte[28 * 28], 28, 28);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), 11585);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), 11585);
        uint c = 0xFFFFFFFF;
        foreach (byte b in png.AsSpan(12, 17))
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (uint)-(int)(c & 1));
        }
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), ~c);
        return [.. png, .. new byte[1 << 20]];
    }

    /// <summary>The bytes with a big-endian header field rewritten.</summary>
    private static byte[] With(byte[] bytes, int offset, int value)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(offset), value);
        return bytes;
    }

    public static TheoryData<string> CaseNames() => new(Cases.Select(c => c.Name));

    [Fact]
    public void Case_names_are_unique_and_the_inputs_are_valid_before_they_are_broken()
    {
        Assert.Equal(Cases.Length, Cases.Select(c => c.Name).Distinct().Count());
        ProcessResult data = AemnistProcess.Run(["data", "--data", Idx.DataDirectory(_scratch)], _scratch.Path);
        Assert.True(data.ExitCode == 0, data.ToString());
        Assert.Contains("30 images", data.Stdout);
        ProcessResult score = AemnistProcess.Run(Score(_scratch, "rows.csv", Text($"{Row}\n")), _scratch.Path);
        Assert.True(score.ExitCode == 0, score.ToString());
        Assert.Equal(2, File.ReadAllLines(_scratch.File("scores.csv")).Length);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Bad_input_gets_the_exit_code_and_one_line_naming_the_file_or_option_and_the_problem(string name)
    {
        Case c = Cases.Single(c => c.Name == name);
        string[] args = c.Args(_scratch);
        string[] before = _scratch.Listing();

        ProcessResult result = AemnistProcess.Run(args, _scratch.Path);
        output.WriteLine($"exit {result.ExitCode}: {result.Stderr.TrimEnd()}");

        Assert.True(result.ExitCode == c.Exit, $"{name}: expected exit {c.Exit}\n{result}");
        string stderr = result.Stderr.TrimEnd('\n');
        Assert.False(stderr.Contains('\n'), $"{name}: stderr is more than one line\n{result}");
        Assert.StartsWith("aemnist: ", stderr);
        foreach (string part in c.Expect)
            Assert.True(stderr.Contains(part, StringComparison.Ordinal), $"{name}: stderr does not name '{part}'\n{result}");
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.DoesNotContain("Exception", result.Stderr);
        Assert.DoesNotContain("internal error", result.Stderr);
        Assert.Equal("", result.Stdout);
        // Nothing half-written: no run directory, no output file, no metrics.json, no temporary file.
        Assert.Equal(before, _scratch.Listing());
    }
}
