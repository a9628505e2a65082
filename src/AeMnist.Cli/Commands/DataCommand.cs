// `aemnist data`: where the data is (the shipped MNIST, or --data's), what it holds per class, and how long loading takes.
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
        var command = new Command("data", "Show where the data is (the shipped MNIST, or --data's), its images per class, and its load time") { data, json };
        command.SetAction(parse =>
        {
            var clock = Stopwatch.StartNew();
            Dataset set = SharedOptions.LoadData(parse.GetValue(data));
            double seconds = clock.Elapsed.TotalSeconds;
            var warnings = new Warnings(parse.InvocationConfiguration.Error);
            foreach (string warning in set.Warnings) warnings.Add(warning);
            int classes = set.ClassNames.Count;
            int[] train = new int[classes], test = new int[classes];
            for (int i = 0; i < set.Count; i++) (i < set.TrainCount ? train : test)[set.Labels[i]]++;
            var output = parse.InvocationConfiguration.Output;
            bool mnist = set.Source.IsMnist;
            if (parse.GetValue(json))
            {
                var o = new JsonObject
                {
                    ["directory"] = Path.GetFullPath(set.Directory),
                    ["images"] = set.Count,
                    ["train_file_images"] = set.TrainCount,
                    ["test_file_images"] = set.Count - set.TrainCount,
                    ["train_file_counts"] = new JsonArray(train.Select(c => (JsonNode)c).ToArray()),
                    ["test_file_counts"] = new JsonArray(test.Select(c => (JsonNode)c).ToArray()),
                    ["load_seconds"] = seconds,
                };
                if (!mnist)
                {
                    o["kind"] = set.Source.Kind;
                    o["classes"] = new JsonArray([.. set.ClassNames.Select(c => (JsonNode)c)]);
                    o["image_shape"] = set.Shape.Text;
                    o["sha256"] = set.Sha256;
                }
                output.WriteLine(o.ToJsonString(RunRecord.JsonOptions));
                return ExitCodes.Success;
            }
            string parts = mnist ? $"{set.TrainCount} training file + {set.Count - set.TrainCount} test file"
                : set.TrainCount == set.Count ? "no test part of its own" : $"{set.TrainCount} training + {set.Count - set.TrainCount} test";
            output.WriteLine($"{(mnist ? "MNIST" : $"{set.Source.Kind} of {set.Shape} images")} in {Path.GetFullPath(set.Directory)}: {set.Count} images ({parts}), loaded in {seconds:F3}s");
            string noun = mnist ? "digit" : "class";
            int width = Math.Max(noun.Length, set.ClassNames.Max(c => c.Length));
            output.WriteLine($"{noun.PadLeft(width)}   train    test   total");
            for (int d = 0; d < classes; d++)
                output.WriteLine($"{set.ClassNames[d].PadLeft(width)} {train[d],7} {test[d],7} {train[d] + test[d],7}");
            return ExitCodes.Success;
        });
        return command;
    }
}
