// `aemnist data`: where the MNIST files are, what they hold, and how long loading takes.
using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Runs;

namespace AeMnist.Cli.Commands;

internal static class DataCommand
{
    public static Command Build()
    {
        var data = SharedOptions.Data();
        var json = SharedOptions.Json();
        var command = new Command("data", "Show where the MNIST data is, its digit counts, and its load time") { data, json };
        command.SetAction(parse =>
        {
            var clock = Stopwatch.StartNew();
            Dataset mnist = SharedOptions.LoadData(parse.GetValue(data));
            double seconds = clock.Elapsed.TotalSeconds;
            int[] train = new int[10], test = new int[10];
            for (int i = 0; i < mnist.Count; i++) (i < mnist.TrainCount ? train : test)[mnist.Labels[i]]++;
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                var o = new JsonObject
                {
                    ["directory"] = Path.GetFullPath(mnist.Directory),
                    ["images"] = mnist.Count,
                    ["train_file_images"] = mnist.TrainCount,
                    ["test_file_images"] = mnist.Count - mnist.TrainCount,
                    ["train_file_counts"] = new JsonArray(train.Select(c => (JsonNode)c).ToArray()),
                    ["test_file_counts"] = new JsonArray(test.Select(c => (JsonNode)c).ToArray()),
                    ["load_seconds"] = seconds,
                };
                output.WriteLine(o.ToJsonString(RunRecord.JsonOptions));
                return ExitCodes.Success;
            }
            output.WriteLine($"MNIST in {Path.GetFullPath(mnist.Directory)}: {mnist.Count} images ({mnist.TrainCount} training file + {mnist.Count - mnist.TrainCount} test file), loaded in {seconds:F3}s");
            output.WriteLine("digit   train    test   total");
            for (int d = 0; d < 10; d++)
                output.WriteLine($"{d,5} {train[d],7} {test[d],7} {train[d] + test[d],7}");
            return ExitCodes.Success;
        });
        return command;
    }
}
