using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.Models;

namespace AeMnist.Cli.Tests;

/// <summary>The tutorial's experiment end to end on a reduced split: train, evaluate, score, report.</summary>
public sealed class EndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aemnist-e2e-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static readonly string[] SmallSplit =
        ["--train-normal", "300", "--train-anomalies", "30", "--test-normal", "100", "--test-anomalies", "100"];

    private string Train(string name, params string[] extra)
    {
        CliResult result = CliRunner.Run(["train", "--epochs", "3", .. SmallSplit, "--runs-dir", _dir, "--run-name", name, "--json", .. extra]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return Path.Combine(_dir, name);
    }

    [Fact]
    public void Train_evaluate_score_and_report_agree_with_an_independent_computation()
    {
        string run = Train("e2e");
        foreach (string file in new[] { "model.safetensors", "run.json", "history.csv" })
            Assert.True(File.Exists(Path.Combine(run, file)), file);
        Assert.Empty(Directory.GetFiles(run, "*.tmp"));
        string[] history = File.ReadAllLines(Path.Combine(run, "history.csv"));
        Assert.Equal("epoch,train_loss,monitor_loss,seconds", history[0]);
        Assert.Equal(4, history.Length);
        JsonObject runJson = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!.AsObject();
        Assert.Equal(330, runJson["split"]!["indices"]!["train"]!.AsArray().Count);

        CliResult evaluate = CliRunner.Run("evaluate", "--run", run, "--json");
        Assert.Equal(0, evaluate.ExitCode);
        JsonObject metrics = JsonNode.Parse(evaluate.Stdout)!.AsObject();
        Assert.Equal(metrics.ToJsonString(), JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!.ToJsonString());

        // Independently: the model file, the split from run.json, errors from the engine, metrics by counting.
        var (spec, weights, metadata) = DetectorFile.Load(Path.Combine(run, "model.safetensors"));
        using var engine = new AeMnist.Engines.Native.NativeEngine();
        using var model = engine.Load(spec, weights);
        Dataset data = MnistFiles.Load(MnistFiles.FindDefaultDirectory(AppContext.BaseDirectory)!);
        int[] test = runJson["split"]!["indices"]!["test"]!.AsArray().Select(n => (int)n!).ToArray();
        float[] errors = new float[test.Length];
        model.ReconstructionErrors(data.Gather(test), test.Length, errors);
        double threshold = (double)metrics["threshold"]!;
        Assert.Equal(metadata.Threshold, threshold);
        int tp = 0, fp = 0, tn = 0, fn = 0;
        for (int i = 0; i < test.Length; i++)
        {
            bool anomaly = data.Labels[test[i]] != 5, flagged = errors[i] >= threshold;
            if (anomaly && flagged) tp++; else if (anomaly) fn++; else if (flagged) fp++; else tn++;
        }
        Assert.Equal((tp, fp, tn, fn), ((int)metrics["tp"]!, (int)metrics["fp"]!, (int)metrics["tn"]!, (int)metrics["fn"]!));
        Assert.Equal(2.0 * tp / (2 * tp + fp + fn), (double)metrics["f1"]!, 12);
        Assert.Equal(2.0 * tn / (2 * tn + fn + fp), (double)metrics["f1_normal"]!, 12);
        double pairs = 0, wins = 0;
        for (int i = 0; i < test.Length; i++)
            for (int j = 0; j < test.Length; j++)
                if (data.Labels[test[i]] != 5 && data.Labels[test[j]] == 5)
                {
                    pairs++;
                    wins += errors[i] > errors[j] ? 1 : errors[i] == errors[j] ? 0.5 : 0;
                }
        Assert.Equal(wins / pairs, (double)metrics["auroc"]!, 12);

        // score on the same test images (as an IDX file) gives exactly evaluate's errors.
        string idx = Path.Combine(_dir, "test-images.idx.gz");
        WriteIdx(idx, data, test);
        string csvPath = Path.Combine(_dir, "scores.csv");
        CliResult score = CliRunner.Run("score", "--run", run, "--input", idx, "--output", csvPath);
        Assert.Equal(0, score.ExitCode);
        string[] lines = File.ReadAllLines(csvPath);
        Assert.Equal("index,source,error,anomaly", lines[0]);
        Assert.Equal(test.Length + 1, lines.Length);
        for (int i = 0; i < test.Length; i++)
        {
            string[] cells = lines[i + 1].Split(',');
            Assert.Equal(errors[i], float.Parse(cells[2], CultureInfo.InvariantCulture));
            Assert.Equal(errors[i] >= threshold ? "1" : "0", cells[3]);
        }

        CliResult report = CliRunner.Run("report", "--run", run);
        Assert.Equal(0, report.ExitCode);
        string html = File.ReadAllText(Path.Combine(run, "report.html"));
        Assert.Contains("<svg", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "").Replace("http://www.w3.org/1999/xlink", ""));
    }

    [Fact]
    public void A_model_from_another_writer_without_metadata_is_recognised_by_its_tensors()
    {
        string run = Train("source");
        var (_, model, _) = DetectorFile.Load(Path.Combine(run, "model.safetensors"));
        // As safetensors.torch.save_file(model.state_dict()) writes it: no metadata, names sorted in the header.
        string foreign = Path.Combine(_dir, "pytorch.safetensors");
        File.WriteAllBytes(foreign, PythonStyleSafetensors(model));
        Dataset data = MnistFiles.Load(MnistFiles.FindDefaultDirectory(AppContext.BaseDirectory)!);
        string idx = Path.Combine(_dir, "few.idx");
        WriteIdx(idx, data, [0, 1, 2, 3], gzip: false);

        // No 'model' metadata: the architecture is the one whose state dict the tensors fit; --model says it outright.
        CliResult guessed = CliRunner.Run("score", "--model-file", foreign, "--input", idx, "--threshold", "0.02");
        CliResult fromForeign = CliRunner.Run("score", "--model-file", foreign, "--model", "dense", "--input", idx, "--threshold", "0.02");
        CliResult fromRun = CliRunner.Run("score", "--run", run, "--input", idx, "--threshold", "0.02");
        Assert.Equal(0, guessed.ExitCode);
        Assert.Equal(0, fromForeign.ExitCode);
        Assert.Equal(fromRun.Stdout, fromForeign.Stdout);
        Assert.Equal(fromRun.Stdout, guessed.Stdout);
        CliResult asConv = CliRunner.Run("score", "--model-file", foreign, "--model", "conv", "--input", idx, "--threshold", "0.02");
        Assert.Equal(1, asConv.ExitCode);
    }

    [Fact]
    public void Same_seed_gives_a_byte_identical_model_and_evaluate_defaults_to_the_newest_run()
    {
        string a = Train("a"), b = Train("b"), c = Train("c", "--seed", "7");
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "model.safetensors")), File.ReadAllBytes(Path.Combine(b, "model.safetensors")));
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(a, "model.safetensors")), File.ReadAllBytes(Path.Combine(c, "model.safetensors")));
        CliResult newest = CliRunner.Run("evaluate", "--runs-dir", _dir);
        Assert.Equal(0, newest.ExitCode);
        Assert.Contains(Path.Combine(c, "model.safetensors"), newest.Stdout);
    }

    private static void WriteIdx(string path, Dataset data, int[] indices, bool gzip = true)
    {
        var bytes = new byte[16 + indices.Length * 784];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), indices.Length);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), 28);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), 28);
        for (int i = 0; i < indices.Length; i++)
        {
            data.Bytes.AsSpan(indices[i] * 784, 784).CopyTo(bytes.AsSpan(16 + i * 784));
        }
        if (!gzip) { File.WriteAllBytes(path, bytes); return; }
        using var file = File.Create(path);
        using var stream = new GZipStream(file, CompressionLevel.Fastest);
        stream.Write(bytes);
    }

    private static byte[] PythonStyleSafetensors(StateDict model)
    {
        var entries = model.Tensors.OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        var header = new StringBuilder("{");
        long offset = 0;
        foreach (var e in entries)
        {
            if (header.Length > 1) header.Append(',');
            header.Append(CultureInfo.InvariantCulture, $"\"{e.Name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", e.Shape)}],\"data_offsets\":[{offset},{offset + 4L * e.Data.Length}]}}");
            offset += 4L * e.Data.Length;
        }
        header.Append('}');
        while ((header.Length + 8) % 8 != 0) header.Append(' ');
        byte[] json = Encoding.UTF8.GetBytes(header.ToString());
        var result = new byte[8 + json.Length + offset];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)json.Length);
        json.CopyTo(result, 8);
        long at = 8 + json.Length;
        foreach (var e in entries)
            foreach (float v in e.Data)
            {
                BinaryPrimitives.WriteSingleLittleEndian(result.AsSpan((int)at), v);
                at += 4;
            }
        return result;
    }
}
