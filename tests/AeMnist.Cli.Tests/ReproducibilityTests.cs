using System.Text.Json.Nodes;
using AeMnist.Serialization;
using Xunit.Abstractions;

namespace AeMnist.Cli.Tests;

/// <summary>
/// Same seed, data and options give a byte-identical model.safetensors and identical metrics, whatever the
/// thread count and the CPU's vector width (EndToEndTests shows that another seed gives another model).
/// </summary>
public sealed class ReproducibilityTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _scratch = new();
    private string? _data;

    public void Dispose() => _scratch.Dispose();

    private string Data => _data ??= SmallMnist.Write(_scratch);

    private string Train(string name, params string[] extra) => TrainWith(name, "2", "32", extra);

    private string TrainWith(string name, string threads, string batchSize, params string[] extra)
    {
        CliResult result = CliRunner.Run(["train", "--epochs", "3", "--batch-size", batchSize, "--eval-every", "2",
            "--train-normal", batchSize == "32" ? "100" : "200", "--train-anomalies", batchSize == "32" ? "10" : "20", "--test-normal", "50", "--test-anomalies", "50",
            "--threads", threads, "--data", Data, "--runs-dir", _scratch.File("runs"), "--run-name", name, "--quiet", .. extra]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return _scratch.File(Path.Combine("runs", name));
    }

    private JsonObject Evaluate(string run)
    {
        CliResult result = CliRunner.Run("evaluate", "--run", run, "--data", Data, "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        JsonObject metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!.AsObject();
        Assert.Equal(JsonNode.Parse(result.Stdout)!.ToJsonString(), metrics.ToJsonString());
        metrics.Remove("model_file"); // the one field that names the run's own path
        return metrics;
    }

    private static string[] HistoryWithoutSeconds(string run) =>
        File.ReadAllLines(Path.Combine(run, "history.csv")).Select(l => l[..l.LastIndexOf(',')]).ToArray();

    [Theory]
    [InlineData("dense")]
    [InlineData("conv")]
    public void Training_twice_gives_the_same_model_bytes_history_and_metrics(string model)
    {
        string a = Train($"{model}-a", "--model", model), b = Train($"{model}-b", "--model", model);

        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "model.safetensors")), File.ReadAllBytes(Path.Combine(b, "model.safetensors")));
        Assert.Equal(HistoryWithoutSeconds(a), HistoryWithoutSeconds(b));
        JsonObject ma = Evaluate(a), mb = Evaluate(b);
        Assert.Equal(ma.ToJsonString(), mb.ToJsonString());
        Assert.True((double)ma["auroc"]! > 0.5, $"AUROC {ma["auroc"]}");
    }

    /// <summary>
    /// The thread count changes nothing: batches of 220 images are several shards of the engine (dense 128 + 92,
    /// conv 4 x 64 - 36), run on one thread or spread over three, and give the same model bytes and metrics.
    /// </summary>
    [Theory]
    [InlineData("dense")]
    [InlineData("conv")]
    public void Models_are_byte_identical_for_any_thread_count(string model)
    {
        string one = TrainWith($"{model}-t1", "1", "220", "--model", model), three = TrainWith($"{model}-t3", "3", "220", "--model", model);
        Assert.Equal(File.ReadAllBytes(Path.Combine(one, "model.safetensors")), File.ReadAllBytes(Path.Combine(three, "model.safetensors")));
        Assert.Equal(HistoryWithoutSeconds(one), HistoryWithoutSeconds(three));
        Assert.Equal(Evaluate(one).ToJsonString(), Evaluate(three).ToJsonString());
    }

    /// <summary>
    /// Neither model depends on the CPU's vector width: the same training in child processes told to use
    /// Vector512 (where the CPU has it), Vector256, Vector128 and no vector instructions writes the same
    /// model.safetensors, byte for byte (weights and the stored threshold in its metadata).
    /// </summary>
    [Theory]
    [InlineData("dense")]
    [InlineData("conv")]
    public void Models_are_byte_identical_at_every_vector_width(string model)
    {
        var widths = new Dictionary<string, Dictionary<string, string>>
        {
            ["widest"] = [],
            ["vector256"] = new() { ["DOTNET_PreferredVectorBitWidth"] = "256" },
            ["vector128"] = new() { ["DOTNET_EnableAVX2"] = "0", ["DOTNET_EnableAVX512"] = "0", ["DOTNET_PreferredVectorBitWidth"] = "128" },
            ["scalar"] = new() { ["DOTNET_EnableHWIntrinsic"] = "0" },
        };
        byte[]? referenceBytes = null;
        Dictionary<string, float[]>? reference = null;
        foreach (var (name, environment) in widths)
        {
            ProcessResult result = AemnistProcess.Run(["train", "--model", model, "--epochs", "2", "--batch-size", "32", "--train-normal", "100",
                "--train-anomalies", "10", "--test-normal", "20", "--test-anomalies", "20", "--threads", "1", "--data", Data,
                "--runs-dir", _scratch.File("runs"), "--run-name", $"{model}-{name}", "--quiet"], _scratch.Path, environment: environment);
            Assert.True(result.ExitCode == 0, result.ToString());
            string run = _scratch.File(Path.Combine("runs", $"{model}-{name}"));
            SafeTensorsFile file = SafeTensors.Read(Path.Combine(run, "model.safetensors"));
            var tensors = file.Names.ToDictionary(n => n, n => file.Tensors[n].Data);
            output.WriteLine($"{name}: vector512 {JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!["machine"]!["vector512"]}, threshold {file.Metadata["threshold"]}");
            byte[] bytes = File.ReadAllBytes(Path.Combine(run, "model.safetensors"));
            if (reference is null) { reference = tensors; referenceBytes = bytes; continue; }
            foreach (var (tensor, values) in reference)
                Assert.True(values.AsSpan().SequenceEqual(tensors[tensor]), $"{model}: {tensor} differs between the widest vectors and {name}");
            Assert.True(referenceBytes.AsSpan().SequenceEqual(bytes), $"{model}: model.safetensors (threshold {file.Metadata["threshold"]}) differs between the widest vectors and {name}");
        }
    }
}
