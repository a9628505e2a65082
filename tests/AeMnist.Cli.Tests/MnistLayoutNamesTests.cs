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

        NamedInEveryCommand(data, shown: "seven", normal: "seven", other: "nine");

        File.WriteAllLines(Path.Combine(data, "classes.txt"), names[..5]);
        CliResult bad = CliRunner.Run("data", "--data", data);
        Assert.Equal(1, bad.ExitCode);  // bad data, not a bad option
        Assert.Contains("classes.txt: 5 class names, but the labels go up to 9", bad.Stderr);
    }

    [Fact]
    public void Labels_past_nine_need_a_classes_file_and_with_one_are_classes_in_every_command()
    {
        // EMNIST's letters in MNIST's layout (labels 1-26): refused as "not a digit" even with a classes.txt naming them.
        string data = SmallMnist.Write(_scratch, train: 300, test: 100);
        foreach (string file in new[] { "train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte" })
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(data, file));
            for (int i = 8; i < bytes.Length; i++) bytes[i] = (byte)(1 + (i % 26));
            File.WriteAllBytes(Path.Combine(data, file), bytes);
        }
        CliResult unnamed = CliRunner.Run("data", "--data", data);
        Assert.Equal(1, unnamed.ExitCode);
        Assert.Contains("expected a digit 0-9 (MNIST's); if these files hold other classes, name them in a classes.txt", unnamed.Stderr);

        File.WriteAllLines(Path.Combine(data, "classes.txt"), ["none", .. Enumerable.Range(0, 26).Select(c => ((char)('A' + c)).ToString())]);
        NamedInEveryCommand(data, shown: "    Z ", normal: "O", other: "Z");
    }

    // data shows the names (its table holds `shown`), train --normal NAME says "class 'NAME'" and never "digit", and
    // evaluate's metrics.json names the normal class and has flag rates per class name (`other` among them), not per digit.
    private void NamedInEveryCommand(string data, string shown, string normal, string other)
    {
        CliResult listed = CliRunner.Run("data", "--data", data);
        Assert.True(listed.ExitCode == 0, listed.Stderr);
        Assert.StartsWith("IDX files of 28x28 images", listed.Stdout);
        Assert.Contains(shown, listed.Stdout);

        CliResult train = CliRunner.Run("train", "--model", "pca", "--data", data, "--normal", normal, "--runs-dir", _scratch.File("runs"), "--run-name", "r");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Contains($"class '{normal}'", train.Stdout);
        Assert.DoesNotContain("digit", train.Stdout);

        CliResult evaluate = CliRunner.Run("evaluate", "--run", _scratch.File("runs/r"), "--json");
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        JsonNode metrics = JsonNode.Parse(File.ReadAllText(_scratch.File("runs/r/metrics.json")))!;
        Assert.Equal(normal, metrics["normal_class"]!.GetValue<string>());
        Assert.NotNull(metrics["class_flag_rates"]![other]);
        Assert.Null(metrics["digit_flag_rates"]);
    }
}
