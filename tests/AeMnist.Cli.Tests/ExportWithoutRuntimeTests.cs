// The default aemnist ships no ONNX Runtime: export --verify says in one line how to get it, before reading anything.
// (tests/AeMnist.Onnx.Tests runs every export in ONNX Runtime.)
namespace AeMnist.Cli.Tests;

public sealed class ExportWithoutRuntimeTests
{
    [Fact]
    public void Verify_without_ONNX_Runtime_is_a_usage_error_that_says_how_to_get_it()
    {
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "detector.onnx");
        CliResult result = CliRunner.Run("export", "--output", output, "--verify", "--runs-dir", Path.Combine(dir.Path, "none"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("built without ONNX Runtime", result.Stderr);
        Assert.Contains("-p:WithOnnxRuntime=true", result.Stderr);
        Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.False(File.Exists(output));
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("aemnist-export-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
