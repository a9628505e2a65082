// The default build has no torch engine: --engine torch is then one line saying how to get it, before any data loads.
// (The torch engine itself is tested in tests/AeMnist.Torch.Tests, whose host ships it.)
namespace AeMnist.Cli.Tests;

public class TorchEngineAbsentTests
{
    [Theory]
    [InlineData("train --engine torch")]
    [InlineData("train --engine torch --device cuda")]
    [InlineData("score --engine torch --input x.idx")]
    public void TorchOnALeanBuildIsOneLineSayingHowToGetIt(string args)
    {
        Assert.False(TorchEngineLoader.IsPresent, "this test host should be a default build, without AeMnist.Torch");
        string runs = Path.Combine(Path.GetTempPath(), "aemnist-never-created");
        CliResult result = CliRunner.Run([.. args.Split(' '), "--runs-dir", runs]);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"aemnist: {TorchEngineLoader.Absent}", result.Stderr.TrimEnd());
        Assert.Contains("-p:WithTorch=true", result.Stderr);
        Assert.False(Directory.Exists(runs));
    }

    [Fact]
    public void HelpSaysTheTorchEngineIsNotInThisBuild()
    {
        CliResult result = CliRunner.Run("train", "--help");
        Assert.Contains("--engine <native|torch|ilgpu>", result.Stdout);
        Assert.Contains("not in this build", result.Stdout);
    }
}
