// The verbs with --engine torch, run as the CLI runs them (App.Run in-process: this test host ships the torch engine,
// as a -p:WithTorch=true build does), and the CLI's one-line errors for the torch engine's devices.
using System.Globalization;
using System.Text.Json.Nodes;
using AeMnist.Cli;
using AeMnist.Core.Tests;

namespace AeMnist.Torch.Tests;

public sealed class CliTests
{
    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = App.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static readonly string[] SmallSplit =
        ["--normal", "5", "--train-normal", "400", "--train-anomalies", "40", "--test-normal", "200", "--test-anomalies", "200"];

    [Fact]
    public void TrainEvaluateScoreAndReportWorkOnTheTorchEngine()
    {
        using var runs = new TempDirectory();
        var train = Run(["train", "--engine", "torch", "--model", "conv", .. SmallSplit, "--epochs", "2", "--threads", "2",
            "--runs-dir", runs.Path, "--run-name", "t"]);
        Assert.True(train.Code == 0, train.Stderr);
        Assert.Contains("torch engine", train.Stdout);
        string run = Path.Combine(runs.Path, "t");
        JsonNode options = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!["options"]!;
        Assert.Equal("torch", (string)options["engine"]!);
        Assert.Equal(2, (int)options["threads"]!);

        var torchEval = Run("evaluate", "--run", run, "--engine", "torch", "--json");
        Assert.True(torchEval.Code == 0, torchEval.Stderr);
        var nativeEval = Run("evaluate", "--run", run, "--engine", "native", "--json");
        Assert.True(nativeEval.Code == 0, nativeEval.Stderr);
        double Auroc(string json) => (double)JsonNode.Parse(json)!["auroc"]!;
        Assert.InRange(Auroc(torchEval.Stdout), Auroc(nativeEval.Stdout) - 1e-4, Auroc(nativeEval.Stdout) + 1e-4);
        Assert.True(File.Exists(Path.Combine(run, "metrics.json")));

        string input = Path.Combine(RepoPaths.MnistDirectory, "t10k-images-idx3-ubyte.gz");
        var torchScore = Run("score", "--run", run, "--engine", "torch", "--input", input, "--output", Path.Combine(runs.Path, "torch.csv"));
        Assert.True(torchScore.Code == 0, torchScore.Stderr);
        var nativeScore = Run("score", "--run", run, "--input", input, "--output", Path.Combine(runs.Path, "native.csv"));
        Assert.True(nativeScore.Code == 0, nativeScore.Stderr);
        float[] Errors(string file) => [.. File.ReadLines(Path.Combine(runs.Path, file)).Skip(1).Select(l => float.Parse(l.Split(',')[2], CultureInfo.InvariantCulture))];
        float[] torchErrors = Errors("torch.csv"), nativeErrors = Errors("native.csv");
        Assert.Equal(10_000, torchErrors.Length);
        Tolerance.Check(nativeErrors, torchErrors, "score errors, 10,000 test images");

        var report = Run("report", "--run", run, "--engine", "torch", "--quiet");
        Assert.True(report.Code == 0, report.Stderr);
        Assert.True(new FileInfo(Path.Combine(run, "report.html")).Length > 10_000);
    }

    [Fact]
    public void CudaOnTheCpuLibTorchIsOneLineSayingHowToGetCuda()
    {
        var result = Run(["train", "--engine", "torch", "--device", "cuda", "--runs-dir", Path.Combine(Path.GetTempPath(), "aemnist-never-created")]);
        Assert.Equal(2, result.Code);
        string line = result.Stderr.TrimEnd();
        Assert.DoesNotContain('\n', line);
        Assert.Equal("aemnist: --device cuda: this build's torch engine ships the CPU LibTorch (libtorch-cpu-linux-x64 2.10.0), so torch.cuda.is_available() is false; " +
            "use --device cpu, or build aemnist with a CUDA LibTorch (-p:WithTorch=true -p:LibTorchPackage=libtorch-cuda-12.8-linux-x64, see README, 'The torch engine')", line);
        Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), "aemnist-never-created")));
    }

    [Fact]
    public void CudaOnTheNativeEngineSaysWhatIsTrue()
    {
        var result = Run("score", "--device", "cuda", "--input", "x.idx");
        Assert.Equal(2, result.Code);
        Assert.Equal("aemnist: --device cuda: the native engine computes on cpu only; use --device cpu", result.Stderr.TrimEnd());
    }

    [Fact]
    public void TheCatalogEntryIsTheTorchEnginesOwn()
    {
        var entry = App.Engines.Providers.Single(p => p.Name == "torch");
        Assert.Equal(TorchEngineProvider.Devices, entry.Devices);
        Assert.Equal(TorchEngineProvider.EngineName, entry.Name);
        Assert.Contains("LibTorch 2.10 through TorchSharp 0.107", entry.Summary);
        Assert.Contains("--engine <native|torch|ilgpu>", Run("evaluate", "--help").Stdout);
    }
}
