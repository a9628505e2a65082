using System.Text.Json.Nodes;
using AeMnist.Serialization;
using Xunit.Abstractions;

namespace AeMnist.Cli.Tests;

/// <summary>
/// Same seed, data, options and thread count give a byte-identical model.safetensors and identical
/// metrics (EndToEndTests shows that another seed gives another model). Also what the CPU's vector width
/// changes: not the dense model's weights.
/// </summary>
public sealed class ReproducibilityTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _scratch = new();
    private string? _data;

    public void Dispose() => _scratch.Dispose();

    private string Data => _data ??= SmallMnist.Write(_scratch);

    private string Train(string name, params string[] extra)
    {
        CliResult result = CliRunner.Run(["train", "--epochs", "3", "--batch-size", "32", "--eval-every", "2",
            "--train-normal", "100", "--train-anomalies", "10", "--test-normal", "50", "--test-anomalies", "50",
            "--threads", "2", "--data", Data, "--runs-dir", _scratch.File("runs"), "--run-name", name, "--quiet", .. extra]);
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
    /// The dense model's weights do not depend on the CPU's vector width: the same training in child
    /// processes told to use Vector512 (where the CPU has it), Vector256, Vector128 and no vector
    /// instructions gives the same tensors. (The stored threshold may differ in its last bits; see
    /// docs/reliability.md.)
    /// </summary>
    [Fact]
    public void Dense_weights_are_the_same_at_every_vector_width()
    {
        var widths = new Dictionary<string, Dictionary<string, string>>
        {
            ["widest"] = [],
            ["vector256"] = new() { ["DOTNET_PreferredVectorBitWidth"] = "256" },
            ["vector128"] = new() { ["DOTNET_EnableAVX2"] = "0", ["DOTNET_EnableAVX512"] = "0", ["DOTNET_PreferredVectorBitWidth"] = "128" },
            ["scalar"] = new() { ["DOTNET_EnableHWIntrinsic"] = "0" },
        };
        Dictionary<string, float[]>? reference = null;
        foreach (var (name, environment) in widths)
        {
            ProcessResult result = AemnistProcess.Run(["train", "--epochs", "2", "--batch-size", "32", "--train-normal", "100",
                "--train-anomalies", "10", "--test-normal", "20", "--test-anomalies", "20", "--threads", "1", "--data", Data,
                "--runs-dir", _scratch.File("runs"), "--run-name", name, "--quiet"], _scratch.Path, environment: environment);
            Assert.True(result.ExitCode == 0, result.ToString());
            string run = _scratch.File(Path.Combine("runs", name));
            SafeTensorsFile file = SafeTensors.Read(Path.Combine(run, "model.safetensors"));
            var tensors = file.Names.ToDictionary(n => n, n => file.Tensors[n].Data);
            output.WriteLine($"{name}: vector512 {JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!["machine"]!["vector512"]}, threshold {file.Metadata["threshold"]}");
            if (reference is null) { reference = tensors; continue; }
            foreach (var (tensor, values) in reference)
                Assert.True(values.AsSpan().SequenceEqual(tensors[tensor]), $"{tensor} differs between the widest vectors and {name}");
        }
    }
}
