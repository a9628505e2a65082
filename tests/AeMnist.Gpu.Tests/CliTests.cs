// The verbs with --engine ilgpu --device cpu, as the CLI runs them (App.Run in-process), and the one-line errors of the
// ilgpu engine's devices on a machine without them (CI's: no NVIDIA driver; an OpenCL loader may or may not be there).
using System.Globalization;
using System.Text.Json.Nodes;
using AeMnist.Cli;
using AeMnist.Core.Tests;
using AeMnist.Engines;

namespace AeMnist.Gpu.Tests;

public sealed class CliTests
{
    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = App.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static readonly string[] TinySplit =
        ["--normal", "5", "--train-normal", "120", "--train-anomalies", "12", "--test-normal", "60", "--test-anomalies", "60"];

    [Fact]
    public void TrainEvaluateAndScoreWorkOnTheIlgpuEngine()
    {
        using var runs = new TempDirectory();
        var train = Run(["train", "--engine", "ilgpu", "--device", Engines.Device, "--model", "dense", "--hidden", "32,8", .. TinySplit, "--epochs", "2", "--batch-size", "32",
            "--threads", "2", "--runs-dir", runs.Path, "--run-name", "g"]);
        Assert.True(train.Code == 0, train.Stderr);
        Assert.Contains("ilgpu engine", train.Stdout);
        string run = Path.Combine(runs.Path, "g");
        JsonNode options = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!["options"]!;
        Assert.Equal("ilgpu", (string)options["engine"]!);

        // The model file is every engine's: the native engine evaluates it to the same AUROC.
        var gpuEval = Run("evaluate", "--run", run, "--engine", "ilgpu", "--device", Engines.Device, "--json");
        Assert.True(gpuEval.Code == 0, gpuEval.Stderr);
        var nativeEval = Run("evaluate", "--run", run, "--engine", "native", "--json");
        Assert.True(nativeEval.Code == 0, nativeEval.Stderr);
        double Auroc(string json) => (double)JsonNode.Parse(json)!["auroc"]!;
        Assert.InRange(Auroc(gpuEval.Stdout), Auroc(nativeEval.Stdout) - 1e-3, Auroc(nativeEval.Stdout) + 1e-3);

        string input = FirstTestImages(runs.Path, 100);
        var gpuScore = Run("score", "--run", run, "--engine", "ilgpu", "--device", Engines.Device, "--input", input, "--output", Path.Combine(runs.Path, "gpu.csv"));
        Assert.True(gpuScore.Code == 0, gpuScore.Stderr);
        var nativeScore = Run("score", "--run", run, "--input", input, "--output", Path.Combine(runs.Path, "native.csv"));
        Assert.True(nativeScore.Code == 0, nativeScore.Stderr);
        float[] Scores(string file) => [.. File.ReadLines(Path.Combine(runs.Path, file)).Skip(1).Select(l => float.Parse(l.Split(',')[2], CultureInfo.InvariantCulture))];
        float[] gpu = Scores("gpu.csv"), native = Scores("native.csv");
        Assert.Equal(100, gpu.Length);
        Tolerance.Check(native, gpu, "scores of 100 test images", relative: 1e-3, absolute: 1e-4);
    }

    // The first n images of MNIST's test set as an uncompressed IDX file.
    private static string FirstTestImages(string directory, int n)
    {
        using var gz = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(RepoPaths.MnistDirectory, "t10k-images-idx3-ubyte.gz")),
            System.IO.Compression.CompressionMode.Decompress);
        var bytes = new byte[16 + n * 784];
        gz.ReadExactly(bytes);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), n);
        string path = Path.Combine(directory, "first.idx");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void CudaWithoutItsDriverIsOneLineSayingWhatIsMissingAndWhatWorksHere()
    {
        if (GpuDevices.CudaProblem() is null) return;  // a machine with a GPU: tests/gpu/check.sh covers it
        var result = Run(["train", "--engine", "ilgpu", "--device", "cuda", "--runs-dir", Path.Combine(Path.GetTempPath(), "aemnist-never-created")]);
        Assert.Equal(2, result.Code);
        string line = result.Stderr.TrimEnd();
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("aemnist: --device cuda: ", line);
        Assert.Contains(GpuDevices.CudaProblem()!, line);
        Assert.Contains("on this machine the ilgpu engine computes on --device cpu", line);
        Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), "aemnist-never-created")));
    }

    [Fact]
    public void OpenCLWithoutADeviceIsOneLineToo()
    {
        if (GpuDevices.OpenCLProblem() is not { } problem) return;
        var result = Run("score", "--engine", "ilgpu", "--device", "opencl", "--input", "x.idx");
        Assert.Equal(2, result.Code);
        Assert.Equal($"aemnist: --device opencl: {problem}; on this machine the ilgpu engine computes on --device " +
                     string.Join(" or --device ", GpuDevices.Available()) + (GpuDevices.Available().Count == 1
                         ? " (ILGPU's CPU accelerator: slow, for tests); for speed on the CPU use --engine native" : ""), result.Stderr.TrimEnd());
    }

    [Theory]
    [InlineData(false, 0, 0, "no NVIDIA driver: ")]
    [InlineData(true, 100, 0, "cuInit fails with CUDA_ERROR_NO_DEVICE")]
    [InlineData(true, 35, 0, "CUDA_ERROR_INSUFFICIENT_DRIVER")]
    [InlineData(true, 0, 0, "is installed but sees no CUDA device")]
    public void EachMissingPieceOfCudaHasItsOwnMessage(bool loaded, int init, int devices, string expected)
    {
        Assert.Contains(expected, GpuDevices.CudaProblem((loaded, init, devices)));
        Assert.Null(GpuDevices.CudaProblem((true, 0, 1)));
    }

    [Fact]
    public void TheCatalogListsTheEngineAndItsDevices()
    {
        EngineProvider entry = App.Engines.Providers.Single(p => p.Name == "ilgpu");
        Assert.Equal(["cuda", "opencl", "cpu"], entry.Devices);
        Assert.Contains("--engine <native|torch|ilgpu>", Run("evaluate", "--help").Stdout);
        Assert.Contains("--device <cpu|cuda|opencl>", Run("evaluate", "--help").Stdout);
        var native = Run("score", "--device", "opencl", "--input", "x.idx");
        Assert.Equal("aemnist: --device opencl: the native engine computes on cpu only; use --device cpu", native.Stderr.TrimEnd());
    }
}
