using System.Diagnostics;
using System.Text.Json.Nodes;
using AeMnist.Serialization;

namespace AeMnist.Cli.Tests;

/// <summary>An interrupted run's checkpoint, made once: the rows below each break a copy of it.</summary>
public sealed class InterruptedRun : IDisposable
{
    internal TempDirectory Scratch { get; } = new();

    public string Data { get; }

    public string Run { get; }

    public InterruptedRun()
    {
        Data = SmallMnist.Write(Scratch, train: 1500, test: 500);
        using var child = AemnistProcess.Start(["train", "--hidden", "16,8", "--epochs", "5000", "--batch-size", "16", "--eval-every", "1", "--patience", "100000",
            "--train-normal", "120", "--train-anomalies", "12", "--test-normal", "40", "--test-anomalies", "40", "--seed", "5", "--threads", "1",
            "--data", Data, "--runs-dir", Scratch.File("runs"), "--run-name", "stopped"], Scratch.Path);
        Assert.True(child.WaitForLine(l => l.StartsWith("epoch    3/", StringComparison.Ordinal), TimeSpan.FromSeconds(60)), "no expected line from the child: " + child.Describe());
        child.Interrupt();
        Assert.Equal(130, child.WaitForExit(TimeSpan.FromSeconds(60)).ExitCode);
        Run = Scratch.File("runs/stopped");
    }

    public void Dispose() => Scratch.Dispose();
}

/// <summary>
/// Files read once, checked completely, quoted in messages (issue 12): every field of a checkpoint and of model metadata
/// is validated on load, naming the file and the field, before anything changes; non-finite weights are data errors
/// naming the tensor; text from a file reaches stderr escaped and cut; a device or a header that claims gigabytes costs a
/// few bytes; and the advice given is advice that works.
/// </summary>
public sealed class FileContentTests(InterruptedRun fixture) : IClassFixture<InterruptedRun>
{
    private static void Edit(string path, Action<Dictionary<string, string>> meta, Func<string, float[], float[]>? tensor = null)
    {
        SafeTensorsFile file = SafeTensors.Read(path);
        var metadata = new Dictionary<string, string>(file.Metadata);
        meta(metadata);
        SafeTensors.Write(path, file.Names.Select(n => (n, file.Tensors[n].Shape, (ReadOnlyMemory<float>)(tensor?.Invoke(n, file.Tensors[n].Data) ?? file.Tensors[n].Data))), metadata);
    }

    private static void Request(Dictionary<string, string> meta, Action<JsonObject> change)
    {
        JsonObject request = JsonNode.Parse(meta["request"])!.AsObject();
        change(request);
        meta["request"] = request.ToJsonString();
    }

    public static TheoryData<string> CheckpointCases() => new(CheckpointRows.Keys);

    private static readonly Dictionary<string, (Action<Dictionary<string, string>> Meta, Func<string, float[], float[]>? Tensor, string[] Expect)> CheckpointRows = new()
    {
        ["batch_size -5"] = (m => Request(m, r => r["train"]!["batch_size"] = -5), null, ["'request.train.batch_size' is '-5'", "an integer 1 or more"]),
        ["batch_size 0"] = (m => Request(m, r => r["train"]!["batch_size"] = 0), null, ["'request.train.batch_size' is '0'"]),
        ["model resnet"] = (m => Request(m, r => r["train"]!["model"] = "resnet"), null, ["'request.train.model' is 'resnet'", "dense, conv, bottleneck or pca"]),
        ["epochs as a string"] = (m => Request(m, r => r["train"]!["epochs"] = "100"), null, ["'request.train.epochs'"]),
        ["hidden 46341,46341"] = (m => Request(m, r => r["train"]!["hidden"] = new JsonArray(46341, 46341)), null, ["'request.train.hidden'", "1-16384"]),
        ["normal 12"] = (m => Request(m, r => r["split"]!["normal"] = 12), null, ["'request.split.normal' is '12'"]),
        ["lr NaN"] = (m => Request(m, r => r["train"]!["lr"] = "NaN"), null, ["'request.train.lr'"]),
        ["data checksum"] = (m => Request(m, r => r["data"]!["sha256"] = "zz"), null, ["'request.data.sha256'"]),
        ["engine unknown"] = (m => Request(m, r => r["compute"]!["engine"] = "torch"), null, ["--engine 'torch'", "cannot continue"]),
        ["request missing"] = (m => m.Remove("request"), null, ["'request' is missing"]),
        ["request not JSON"] = (m => m["request"] = "{", null, ["'request' is '{'"]),
        ["epochs_done -1"] = (m => m["epochs_done"] = "-1", null, ["'epochs_done' is '-1'"]),
        ["batches_done past the epoch"] = (m => m["batches_done"] = "999", null, ["'batches_done' is 999, but an epoch has 9 batches"]),
        ["adam_step"] = (m => m["adam_step"] = "7", null, ["'adam_step' is 7"]),
        ["shuffle state zero"] = (m => m["shuffle_state"] = "0,0,0,0", null, ["'shuffle_state'", "not all zero"]),
        ["history with an escape"] = (m => m["history"] = m["history"].Replace("\n2,", "\n\u001b[31m2,"), null, ["'history' line 3", "\\u001b[31m2,"]),
        ["history shorter"] = (m => m["history"] = string.Join("\n", m["history"].Split('\n').Take(2)), null, ["its history has 1 epochs"]),
        ["format with control characters"] = (m => m["format"] = string.Concat(Enumerable.Repeat("x\u0007\u0000", 1000)), null, ["checkpoint format 'x\\u0007\\u0000", "...'"]),
        ["NaN weight"] = (_ => { }, (n, d) => n == "encoder.2.weight" ? [.. d[..3], float.NaN, .. d[4..]] : d, ["tensor 'encoder.2.weight' holds NaN at index 3"]),
        ["infinite moment"] = (_ => { }, (n, d) => n == "adam.exp_avg_sq.decoder.0.bias" ? [float.PositiveInfinity, .. d[1..]] : d, ["'exp_avg_sq.decoder.0.bias' holds "]),
    };

    [Theory]
    [MemberData(nameof(CheckpointCases))]
    public void A_checkpoint_edited_by_hand_is_refused_naming_the_file_and_field_before_anything_changes(string name)
    {
        var (meta, tensor, expect) = CheckpointRows[name];
        string copy = fixture.Scratch.CreateDirectory($"copies/{Guid.NewGuid():N}");
        foreach (string file in Directory.GetFiles(fixture.Run)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        string checkpoint = Path.Combine(copy, "checkpoint.safetensors");
        Edit(checkpoint, meta, tensor);
        var before = Directory.GetFiles(copy).ToDictionary(f => f, File.ReadAllBytes);

        // In-process (the same App.Run as the program; the table's first row also runs as a real process).
        CliResult result = name == "batch_size -5"
            ? Of(AemnistProcess.Run(["train", "--resume", copy, "--data", fixture.Data], fixture.Scratch.Path))
            : CliRunner.Run("train", "--resume", copy, "--data", fixture.Data);

        Assert.True(result.ExitCode == 1, $"{name}\n{result}");
        string line = result.Stderr.TrimEnd();
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("aemnist: ", line);
        Assert.True(line.Contains("checkpoint.safetensors", StringComparison.Ordinal), line);
        foreach (string part in expect) Assert.True(line.Contains(part, StringComparison.Ordinal), $"{name}: no '{part}' in\n{line}");
        Assert.DoesNotContain("internal error", line);
        Assert.DoesNotContain("System.", line);
        Assert.True(line.Length < 400, $"{line.Length} characters");
        Assert.Equal(before.Keys.Order(), Directory.GetFiles(copy).Order());
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
    }

    private static CliResult Of(ProcessResult p) => new(p.ExitCode, p.Stdout, p.Stderr);

    public static TheoryData<string> ModelCases() => new(ModelRows.Keys);

    private static readonly Dictionary<string, (Func<byte[]> File, string[] Expect)> ModelRows = new()
    {
        ["model name with escapes"] = (() => SafetensorsFiles.Dense(meta: m => m["model"] = "\\u001b[2J\\u0007evil"), ["unknown model '\\u001b[2J\\u0007evil'"]),
        ["threshold of three megabytes"] = (() => SafetensorsFiles.Dense(meta: m => m["threshold"] = "\\u001b[31m" + new string('9', 3_000_000) + "x"),
            ["metadata 'threshold' is '\\u001b[31m999", "...'"]),
        ["threshold negative"] = (() => SafetensorsFiles.Dense(meta: m => m["threshold"] = "-1"), ["metadata 'threshold' is -1"]),
        ["train_normal negative"] = (() => SafetensorsFiles.Dense(meta: m => m["train_normal"] = "-5"), ["metadata 'train_normal' must be positive"]),
        ["hidden with a NUL"] = (() => SafetensorsFiles.Dense(meta: m => m["hidden"] = "16\\u0000,8"), ["metadata 'hidden' is '16\\u0000,8'"]),
        ["collapsed maybe"] = (() => SafetensorsFiles.Dense(meta: m => m["collapsed"] = "maybe"), ["metadata 'collapsed' is 'maybe'"]),
        ["combined score without its calibration"] = (() => SafetensorsFiles.Dense(meta: m => m["score"] = "combined"),
            ["metadata 'score' is combined but there is no 'score_calibration'"]),
        ["calibration that is not JSON"] = (() => SafetensorsFiles.Dense(meta: m => { m["score"] = "combined"; m["score_calibration"] = "{oops"; }),
            ["metadata 'score_calibration' is '{oops': not JSON"]),
        ["a checkpoint as a model"] = (() => SafetensorsFiles.Dense(meta: m => m["format"] = "aemnist-checkpoint-3"), ["is a training checkpoint, not a model"]),
        ["tensor name with an escape"] = (() => SafetensorsFiles.Dense(e => [.. e, new StEntry("x\\u001b[1m", "F32", [0], e[^1].End, e[^1].End)]),
            ["unexpected tensor 'x\\u001b[1m'"]),
        ["shape [600000, 0]"] = (() => SafetensorsFiles.Bytes("{\"__metadata__\":{\"model\":\"dense\"},\"encoder.0.weight\":{\"dtype\":\"F32\",\"shape\":[600000,0],\"data_offsets\":[0,0]}}", []),
            ["the tensor shapes", "[600000, 0]"]),
        ["a NaN weight"] = (() => SafetensorsFiles.Dense(data: d => { BitConverter.GetBytes(float.NaN).CopyTo(d, 40); return d; }), ["tensor 'encoder.0.weight' holds NaN at index 10"]),
        ["weights that overflow"] = (() => SafetensorsFiles.Dense(data: d => Scaled(d, 1e30f)), ["the model gives a reconstruction error of", "its weights overflow"]),
    };

    private static byte[] Scaled(byte[] data, float factor)
    {
        var floats = new float[data.Length / 4];
        Buffer.BlockCopy(data, 0, floats, 0, data.Length);
        for (int i = 0; i < floats.Length; i++) floats[i] *= factor;
        Buffer.BlockCopy(floats, 0, data, 0, data.Length);
        return data;
    }

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void A_model_file_is_checked_completely_and_quoted_in_messages(string name)
    {
        var (file, expect) = ModelRows[name];
        using var scratch = new TempDirectory();
        string model = scratch.Write("m.safetensors", file());
        string input = scratch.Write("rows.csv", string.Join(",", Enumerable.Repeat("9", 784)) + "\n");
        foreach (string[] args in new[] { new[] { "score", "--model-file", model, "--input", input }, ["evaluate", "--model-file", model, "--data", fixture.Data] })
        {
            if (name == "weights that overflow" && args[0] == "evaluate") continue;  // its split is the metadata's default, too large for this data
            CliResult result = name == "a NaN weight" ? Of(AemnistProcess.Run(args, scratch.Path)) : CliRunner.Run(args);
            Assert.True(result.ExitCode == 1, $"{name}: {args[0]}\n{result}");
            string line = result.Stderr.TrimEnd();
            Assert.DoesNotContain('\n', line);
            Assert.True(line.Length < 500, $"{line.Length} characters");
            Assert.DoesNotContain('\u001b', line);
            Assert.DoesNotContain('\u0000', line);
            foreach (string part in expect) Assert.True(line.Contains(part, StringComparison.Ordinal), $"{name}: no '{part}' in\n{line}");
            Assert.Equal("", result.Stdout);
        }
    }

    [Fact]
    public void Report_of_a_model_with_a_NaN_weight_is_a_data_error_naming_the_tensor_not_a_chart_error()
    {
        using var scratch = new TempDirectory();
        string model = scratch.Write("m.safetensors", SafetensorsFiles.Dense(meta: m =>
        {
            m["train_normal"] = "50"; m["train_anomalies"] = "5"; m["test_normal"] = "40"; m["test_anomalies"] = "40";
        }, data: d => { BitConverter.GetBytes(float.NaN).CopyTo(d, 40); return d; }));
        ProcessResult result = AemnistProcess.Run(["report", "--model-file", model, "--data", fixture.Data, "--output", scratch.File("out")], scratch.Path);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("m.safetensors: tensor 'encoder.0.weight' holds NaN at index 10", result.Stderr);
        Assert.DoesNotContain("Range must be", result.Stderr);
        Assert.False(File.Exists(scratch.File("out/report.html")));
    }

    [Fact]
    public void A_device_or_a_header_claiming_gigabytes_costs_a_few_bytes()
    {
        using var scratch = new TempDirectory();
        // /dev/zero read through a link of our own, as a model file and as each IDX file of a data directory.
        string zeroModel = scratch.File("zero.safetensors");
        File.CreateSymbolicLink(zeroModel, "/dev/zero");
        string zeros = scratch.CreateDirectory("zeros");
        foreach (string f in AeMnist.Data.MnistFiles.FileNames) File.CreateSymbolicLink(Path.Combine(zeros, f), "/dev/zero");
        // Four gzip files whose valid headers claim 141 MB (images) each: under a per-file cap, over the cap for all four.
        string bombs = scratch.CreateDirectory("bombs");
        File.WriteAllBytes(Path.Combine(bombs, "train-images-idx3-ubyte.gz"), Idx.Gzip(Header(0x803, 180_000, 28, 28)));
        File.WriteAllBytes(Path.Combine(bombs, "train-labels-idx1-ubyte.gz"), Idx.Gzip(Header(0x801, 180_000)));
        File.WriteAllBytes(Path.Combine(bombs, "t10k-images-idx3-ubyte.gz"), Idx.Gzip(Header(0x803, 180_000, 28, 28)));
        File.WriteAllBytes(Path.Combine(bombs, "t10k-labels-idx1-ubyte.gz"), Idx.Gzip(Header(0x801, 180_000)));
        string model = scratch.Write("m.safetensors", SafetensorsFiles.Dense());
        string[][] cases =
        [
            ["score", "--model-file", zeroModel, "--input", scratch.Write("r.csv", "0\n")],
            ["data", "--data", zeros],
            ["data", "--data", bombs],
            ["score", "--model-file", model, "--input", Path.Combine(zeros, "t10k-images-idx3-ubyte")],
        ];
        string[][] expect = [["zero.safetensors", "header"], ["train-images-idx3-ubyte", "bad magic"], ["for the four files together"], ["t10k-images-idx3-ubyte"]];
        for (int i = 0; i < cases.Length; i++)
        {
            // No speed is assumed: reading a header, not the stream, is what ends each case; the timeout only catches a hang.
            ProcessResult result = AemnistProcess.Run(cases[i], scratch.Path, TimeSpan.FromSeconds(300));
            Assert.True(result.ExitCode == 1, result.ToString());
            foreach (string part in expect[i]) Assert.Contains(part, result.Stderr);
        }
    }

    private static byte[] Header(uint magic, params uint[] fields)
    {
        var bytes = new byte[4 + 4 * fields.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, magic);
        for (int i = 0; i < fields.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + 4 * i), fields[i]);
        return bytes;
    }

    [Fact]
    public void The_advice_in_a_message_is_advice_that_works()
    {
        using var scratch = new TempDirectory();
        // --run given the runs folder: it says to use --runs-dir, not to resume the folder.
        ProcessResult folder = AemnistProcess.Run(["evaluate", "--run", Path.GetDirectoryName(fixture.Run)!], scratch.Path);
        Assert.Contains("this is a runs directory, not a run: pass --runs-dir", folder.Stderr);
        Assert.DoesNotContain("--resume " + Path.GetDirectoryName(fixture.Run), folder.Stderr);
        ProcessResult resumeFolder = AemnistProcess.Run(["train", "--resume", Path.GetDirectoryName(fixture.Run)!], scratch.Path);
        Assert.Contains("this is a runs directory, not a run: resume one of its runs", resumeFolder.Stderr);
        // --run given a file: it says what it is.
        ProcessResult file = AemnistProcess.Run(["evaluate", "--run", Path.Combine(fixture.Run, "run.json")], scratch.Path);
        Assert.Contains("is a regular file, not a run directory", file.Stderr);
        Assert.DoesNotContain("not found", file.Stderr);
        // An interrupted run: the advice to resume is right there.
        ProcessResult interrupted = AemnistProcess.Run(["evaluate", "--run", fixture.Run], scratch.Path);
        Assert.Contains($"resume it with aemnist train --resume {fixture.Run}", interrupted.Stderr);
        // A model without a threshold gets the default rule, and the report says so (a rule report cannot be given).
        string model = scratch.Write("m.safetensors", SafetensorsFiles.Dense(meta: m =>
        {
            m.Remove("threshold"); m["train_normal"] = "50"; m["train_anomalies"] = "5"; m["test_normal"] = "40"; m["test_anomalies"] = "40";
        }));
        ProcessResult report = AemnistProcess.Run(["report", "--model-file", model, "--data", fixture.Data, "--output", scratch.File("out")], scratch.Path);
        Assert.True(report.ExitCode == 0, report.ToString());
        Assert.Contains("the model file stores no threshold", File.ReadAllText(scratch.File("out/report.html")));
        // --runs-dir naming a file.
        ProcessResult runsDir = AemnistProcess.Run(["train", "--runs-dir", model, "--epochs", "1", "--data", fixture.Data, "--train-normal", "50",
            "--train-anomalies", "5", "--test-normal", "20", "--test-anomalies", "20"], scratch.Path);
        Assert.True(runsDir.ExitCode == 2, runsDir.ToString());
        Assert.Contains("is a regular file, not a directory", runsDir.Stderr);
        Assert.DoesNotContain("already exists", runsDir.Stderr);
    }
}
