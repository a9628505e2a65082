// IDX files in MNIST's layout that name their classes (classes.txt) are not MNIST to any command: the classes go by
// their names in train's and evaluate's output and in metrics.json, never as digits.
using System.Text.Json.Nodes;

namespace AeMnist.Cli.Tests;

public sealed class MnistLayoutNamesTests : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void A_classes_file_beside_the_IDX_files_names_the_classes_in_every_command()
    {
        string data = SmallMnist.Write(_scratch, train: 300, test: 100);
        string[] names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
        File.WriteAllLines(Path.Combine(data, "classes.txt"), names);

        CliResult shown = CliRunner.Run("data", "--data", data);
        Assert.True(shown.ExitCode == 0, shown.Stderr);
        Assert.StartsWith("IDX files of 28x28 images", shown.Stdout);
        Assert.Contains("seven", shown.Stdout);

        CliResult train = CliRunner.Run("train", "--model", "pca", "--data", data, "--normal", "seven", "--runs-dir", _scratch.File("runs"), "--run-name", "r");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Contains("class 'seven'", train.Stdout);
        Assert.DoesNotContain("digit", train.Stdout);

        CliResult evaluate = CliRunner.Run("evaluate", "--run", _scratch.File("runs/r"), "--json");
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        JsonNode metrics = JsonNode.Parse(File.ReadAllText(_scratch.File("runs/r/metrics.json")))!;
        Assert.Equal("seven", metrics["normal_class"]!.GetValue<string>());
        Assert.NotNull(metrics["class_flag_rates"]!["nine"]);
        Assert.Null(metrics["digit_flag_rates"]);

        File.WriteAllLines(Path.Combine(data, "classes.txt"), names[..5]);
        CliResult bad = CliRunner.Run("data", "--data", data);
        Assert.Equal(1, bad.ExitCode);  // bad data, not a bad option
        Assert.Contains("classes.txt: 5 class names, but the labels go up to 9", bad.Stderr);
    }

    [Fact]
    public void Labels_past_nine_without_a_classes_file_are_numbered_classes_in_every_command()
    {
        // EMNIST's letters in MNIST's layout (labels 1-26): refused as "not a digit" before; now classes 0-26 by number.
        string data = SmallMnist.Write(_scratch, train: 300, test: 100);
        foreach (string file in new[] { "train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte" })
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(data, file));
            for (int i = 8; i < bytes.Length; i++) bytes[i] = (byte)(1 + (i % 26));
            File.WriteAllBytes(Path.Combine(data, file), bytes);
        }

        CliResult shown = CliRunner.Run("data", "--data", data);
        Assert.True(shown.ExitCode == 0, shown.Stderr);
        Assert.StartsWith("IDX files of 28x28 images", shown.Stdout);
        Assert.Contains("   26 ", shown.Stdout);

        CliResult train = CliRunner.Run("train", "--model", "pca", "--data", data, "--normal", "15", "--runs-dir", _scratch.File("runs"), "--run-name", "r");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Contains("class '15'", train.Stdout);
        Assert.DoesNotContain("digit", train.Stdout);

        CliResult evaluate = CliRunner.Run("evaluate", "--run", _scratch.File("runs/r"), "--json");
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        JsonNode metrics = JsonNode.Parse(File.ReadAllText(_scratch.File("runs/r/metrics.json")))!;
        Assert.Equal("15", metrics["normal_class"]!.GetValue<string>());
        Assert.NotNull(metrics["class_flag_rates"]!["26"]);
        Assert.Null(metrics["digit_flag_rates"]);
    }
}
