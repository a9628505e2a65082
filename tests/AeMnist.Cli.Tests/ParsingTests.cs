namespace AeMnist.Cli.Tests;

/// <summary>Bad options are usage errors (exit 2) with one line naming the option, before any training starts.</summary>
public class ParsingTests
{
    [Theory]
    [InlineData("--normal 10", "--normal 10 is not a digit; use 0-9")]
    [InlineData("--model resnet", "--model 'resnet' is not a model; use dense, conv, bottleneck or pca")]
    [InlineData("--epochs 0", "--epochs must be positive, got 0")]
    [InlineData("--epochs -3", "--epochs must be positive, got -3")]
    [InlineData("--batch-size 0", "--batch-size must be positive, got 0")]
    [InlineData("--lr NaN", "--lr must be a positive number, got NaN")]
    [InlineData("--lr -0.1", "--lr must be a positive number, got -0.1")]
    [InlineData("--contamination 0.7", "--contamination 0.7 must be in (0, 0.5]")]
    [InlineData("--contamination 0", "--contamination 0 must be in (0, 0.5]")]
    [InlineData("--protocol holdout", "--protocol 'holdout' is not a protocol; use seed, one-class or development")]
    [InlineData("--hidden 64,x", "--hidden '64,x' must be integers 1-16384 separated by commas, e.g. 64,32")]
    [InlineData("--hidden 64,0", "--hidden '64,0' must be integers 1-16384 separated by commas, e.g. 64,32")]
    [InlineData("--device cuda", "--device cuda: the native engine computes on cpu only; use --device cpu")]
    [InlineData("--device tpu", "--device 'tpu' is not a device; use cpu or cuda or opencl")]
    [InlineData("--engine onnx", "--engine 'onnx' is not an engine of this build; use native, torch or ilgpu")]
    [InlineData("--keep middle", "--keep 'middle' is not a choice; use best or last")]
    [InlineData("--validation 1.5", "--validation 1.5 must be a fraction in [0, 1)")]
    [InlineData("--model conv --hidden 8", "--hidden applies to the dense model only, not to conv")]
    public void Train_rejects_impossible_options(string args, string message)
    {
        CliResult result = CliRunner.Run(["train", .. args.Split(' '), "--runs-dir", Path.Combine(Path.GetTempPath(), "aemnist-never-created")]);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"aemnist: {message}", result.Stderr.TrimEnd());
        Assert.Equal("", result.Stdout);
        Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), "aemnist-never-created")));
    }

    [Theory]
    [InlineData("train --epochs ten")]
    [InlineData("train --no-such-option")]
    [InlineData("frobnicate")]
    public void Parse_errors_are_one_line_usage_errors(string args)
    {
        CliResult result = CliRunner.Run(args.Split(' '));
        Assert.Equal(2, result.ExitCode);
        string line = result.Stderr.TrimEnd();
        Assert.StartsWith("aemnist: ", line);
        Assert.DoesNotContain('\n', line);
        Assert.Contains("--help", line);
    }

    [Fact]
    public void Help_lists_the_commands_and_succeeds()
    {
        CliResult result = CliRunner.Run("--help");
        Assert.Equal(0, result.ExitCode);
        foreach (string command in new[] { "train", "data" })
            Assert.Contains(command, result.Stdout);
    }

    [Fact]
    public void Train_help_lists_its_own_options_and_their_choices()
    {
        CliResult result = CliRunner.Run("train", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (string text in new[] { "--resume <DIR>", "--keep <best|last>", "--model <dense|conv|bottleneck|pca>", "--protocol <seed|one-class|development>",
                     "--hidden <SIZES>", "(dense only) [default: 64,32]", "--engine <native|torch|ilgpu>", "--device <cpu|cuda|opencl>", "ConvTranspose2d 5→3→1" })
            Assert.Contains(text, result.Stdout);
        Assert.DoesNotContain("--skip-bad", result.Stdout);  // score's
        Assert.DoesNotContain("--min-auroc", result.Stdout);  // evaluate's
    }

    [Fact]
    public void Missing_data_directory_is_a_data_error()
    {
        CliResult result = CliRunner.Run("data", "--data", "/nonexistent/mnist");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("aemnist: /nonexistent/mnist: data directory not found; pass --data with mnist, a folder of class folders (or of MNIST's IDX files), or a labelled CSV, IDX or .npz file", result.Stderr.TrimEnd());
    }
}
