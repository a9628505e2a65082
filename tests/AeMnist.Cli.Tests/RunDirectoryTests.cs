using System.Globalization;

namespace AeMnist.Cli.Tests;

/// <summary>A new run never overwrites an existing run directory, whether its name was chosen or generated.</summary>
public sealed class RunDirectoryTests : IDisposable
{
    private readonly TempDirectory _scratch = new();
    private readonly string _data;

    public RunDirectoryTests() => _data = SmallMnist.Write(_scratch);

    public void Dispose() => _scratch.Dispose();

    private CliResult Train(params string[] extra) =>
        CliRunner.Run(["train", "--epochs", "1", "--batch-size", "64", "--train-normal", "100", "--train-anomalies", "10",
            "--test-normal", "20", "--test-anomalies", "20", "--data", _data, "--runs-dir", _scratch.File("runs"), "--quiet", .. extra]);

    [Fact]
    public void A_chosen_run_name_that_exists_is_refused_and_left_as_it_was()
    {
        string taken = _scratch.CreateDirectory("runs/taken");
        File.WriteAllText(Path.Combine(taken, "model.safetensors"), "an older run's model");
        string[] before = _scratch.Listing();

        CliResult result = Train("--run-name", "taken");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"aemnist: run directory {taken} already exists; choose another --run-name or remove it", result.Stderr.TrimEnd());
        Assert.Equal("an older run's model", File.ReadAllText(Path.Combine(taken, "model.safetensors")));
        Assert.Equal(before, _scratch.Listing());
    }

    [Fact]
    public void A_generated_run_name_that_exists_gets_a_suffix()
    {
        // Occupy every name the run could generate in the next minute (MODEL-DIGIT-sSEED-TIME, to the second).
        DateTime now = DateTime.UtcNow;
        var occupied = new HashSet<string>();
        for (int s = -2; s <= 60; s++)
        {
            string name = string.Create(CultureInfo.InvariantCulture, $"dense-5-s42-{now.AddSeconds(s):yyyyMMdd-HHmmss}");
            occupied.Add(name);
            _scratch.Write(Path.Combine("runs", name, "marker"), name);
        }

        CliResult result = Train();

        Assert.True(result.ExitCode == 0, result.Stderr);
        string[] created = Directory.GetDirectories(_scratch.File("runs")).Select(Path.GetFileName).Where(n => !occupied.Contains(n!)).ToArray()!;
        string single = Assert.Single(created);
        Assert.EndsWith("-2", single);
        Assert.Contains(single[..^2], occupied);
        Assert.True(File.Exists(Path.Combine(_scratch.File("runs"), single, "model.safetensors")));
        foreach (string name in occupied)
        {
            string dir = Path.Combine(_scratch.File("runs"), name);
            Assert.Equal(new[] { Path.Combine(dir, "marker") }, Directory.GetFileSystemEntries(dir));
            Assert.Equal(name, File.ReadAllText(Path.Combine(dir, "marker")));
        }
        Assert.Empty(Directory.GetFiles(_scratch.Path, "*.tmp", SearchOption.AllDirectories));
    }
}
