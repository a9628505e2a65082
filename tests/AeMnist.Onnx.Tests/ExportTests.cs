// Every architecture, exported with every score, run in ONNX Runtime on 400 MNIST test images: its scores equal
// `aemnist score`'s within 1e-5 relative, with the same flags and p-values; its reconstructions and maps equal the
// native engine's; its metadata says what the detector is; the batch dimension is free.
using System.Globalization;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Onnx.Runtime;
using AeMnist.Scoring;
using AeMnist.Tensors;
using Xunit.Abstractions;

namespace AeMnist.Onnx.Tests;

[Collection(TrainedRuns.Collection)]
public sealed class ExportTests(TrainedRuns runs, ITestOutputHelper output)
{
    private static readonly OrtRunner Runtime = new();

    public static TheoryData<string> Models
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (string model in TrainedRuns.Models) data.Add(model);
            return data;
        }
    }

    public static TheoryData<string, string> ModelsAndScores
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string model in TrainedRuns.Models)
                foreach (ScoreKind kind in Scores.All) data.Add(model, Scores.Name(kind));
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void The_default_export_scores_flags_and_p_values_as_aemnist_score_does(string model)
    {
        string run = runs.Run(model);
        string file = runs.File($"{model}.onnx");
        CliResult export = Aemnist.Run("export", "--run", run, "--output", file, "--quiet");
        Assert.True(export.ExitCode == 0, export.Stderr);
        CliResult score = Aemnist.Run("score", "--run", run, "--input", runs.CsvPath, "--p-values", "--quiet");
        Assert.True(score.ExitCode == 0, score.Stderr);
        Assert.DoesNotContain("collapsed", score.Stderr);  // a collapsed model's constant output would make the comparison weak
        Compare(model, File.ReadAllBytes(file), ParseScores(score.Stdout));
    }

    [Theory]
    [MemberData(nameof(ModelsAndScores))]
    public void Each_score_exports_as_aemnist_score_computes_it(string model, string scoreName)
    {
        // The combined score needs the normal images' statistics learnt at training: a run trained with it.
        string run = scoreName == "combined" ? runs.Run(model, "combined") : runs.Run(model);
        // A threshold inside the scores' range, so that both flags occur, halfway between two neighbouring scores near the
        // median that are at least 1e-4 apart (relative), so that no score is within the tolerance of it.
        CliResult first = Aemnist.Run("score", "--run", run, "--input", runs.CsvPath, "--score", scoreName, "--threshold", "0", "--quiet");
        Assert.True(first.ExitCode == 0, first.Stderr);
        float[] sorted = [.. ParseScores(first.Stdout).Select(r => r.Score).Order()];
        int k = Enumerable.Range(sorted.Length / 4, sorted.Length / 2).OrderBy(i => Math.Abs(i - sorted.Length / 2))
            .First(i => ExportComparison.Relative(sorted[i], sorted[i + 1]) > 1e-4);
        string threshold = ((sorted[k] + (double)sorted[k + 1]) / 2).ToString("R", CultureInfo.InvariantCulture);
        string file = runs.File($"{model}-{scoreName}.onnx");
        CliResult export = Aemnist.Run("export", "--run", run, "--output", file, "--score", scoreName, "--threshold", threshold, "--quiet");
        Assert.True(export.ExitCode == 0, export.Stderr);
        CliResult score = Aemnist.Run("score", "--run", run, "--input", runs.CsvPath, "--score", scoreName, "--threshold", threshold, "--p-values", "--quiet");
        Assert.True(score.ExitCode == 0, score.Stderr);
        Row[] rows = ParseScores(score.Stdout);
        Assert.Contains(rows, r => r.Flag);
        Assert.Contains(rows, r => !r.Flag);
        OnnxOutputs outputs = Compare($"{model}/{scoreName}", File.ReadAllBytes(file), rows);
        Assert.Equal(scoreName, outputs.Metadata["score"]);

        // Reconstructions and maps against the native engine's, on the first images.
        using Detector detector = Detector.Load(Path.Combine(run, "model.safetensors"), null, NativeEngine.Catalog, new ComputeOptions());
        const int n = 16;
        ImageShape shape = detector.ImageShape;
        float[] images = [.. runs.Pixels.AsSpan(0, n * shape.Length).ToArray().Select(b => b / 255f)];
        var reconstructions = new float[n * shape.Length];
        detector.Model.Reconstruct(images, n, reconstructions);
        for (int i = 0; i < reconstructions.Length; i++)
            Assert.True(Math.Abs(reconstructions[i] - outputs.Reconstructions[i]) <= 1e-5, $"{model}: reconstruction value {i}: {outputs.Reconstructions[i]} in ONNX Runtime, {reconstructions[i]} here");
        float[] maps = Reporting.AnomalyMaps.Compute(Scores.Parse(scoreName), images, reconstructions, n, shape);
        float top = maps.Where(float.IsFinite).Max();
        for (int i = 0; i < maps.Length; i++)
        {
            Assert.True(float.IsNaN(maps[i]) == float.IsNaN(outputs.Maps[i]), $"{model}/{scoreName}: map value {i} is {outputs.Maps[i]} in ONNX Runtime, {maps[i]} here");
            if (!float.IsNaN(maps[i]))
                Assert.True(Math.Abs(maps[i] - outputs.Maps[i]) <= 1e-4 * top, $"{model}/{scoreName}: map value {i} is {outputs.Maps[i]} in ONNX Runtime, {maps[i]} here");
        }
    }

    [Fact]
    public void The_batch_dimension_is_free_and_the_metadata_describes_the_detector()
    {
        string run = runs.Run("bottleneck");
        string file = runs.File("bottleneck-batch.onnx");
        Assert.Equal(0, Aemnist.Run("export", "--run", run, "--output", file, "--quiet").ExitCode);
        byte[] model = File.ReadAllBytes(file);
        OnnxOutputs all = Runtime.Run(model, runs.Pixels, TrainedRuns.Images, ImageShape.Mnist);
        foreach (int i in new[] { 0, 7, 399 })
        {
            OnnxOutputs one = Runtime.Run(model, runs.Pixels.AsSpan(i * 784, 784).ToArray(), 1, ImageShape.Mnist);
            Assert.True(ExportComparison.Relative(one.Scores[0], all.Scores[i]) <= 1e-5, $"image {i}: {one.Scores[0]} alone, {all.Scores[i]} in a batch");
            Assert.Equal(all.Flags[i], one.Flags[0]);
        }
        IReadOnlyDictionary<string, string> m = all.Metadata;
        Assert.Equal("bottleneck", m["model"]);
        Assert.Equal("combined", m["score"]);  // the bottleneck recipe's score
        Assert.Equal("3", m["normal_class"]);
        Assert.Equal("1x28x28", m["image_shape"]);
        Assert.Equal(ModelMetadata.ToolVersion, m["aemnist_version"]);
        Assert.Matches("^[0-9a-f]{64}$", m["data_sha256"]);
        Assert.Contains("image / 255", m["preprocessing"]);
        Assert.Contains("stored threshold", m["threshold_rule"]);
        Assert.Contains("validation split", m["p_value_calibration"]);
        Assert.Equal(double.Parse(m["threshold"], CultureInfo.InvariantCulture), DetectorFile.Load(Path.Combine(run, "model.safetensors")).Metadata.Threshold);
    }

    [Fact]
    public void Verify_checks_the_export_in_ONNX_Runtime_before_writing()
    {
        string run = runs.Run("conv");
        string file = runs.File("conv-verified.onnx");
        CliResult export = Aemnist.Run("export", "--run", run, "--output", file, "--verify", "--verify-images", "50");
        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.Contains("Verified in ONNX Runtime", export.Stderr);
        Assert.Contains("on 50 images of the test split", export.Stderr);
        Assert.True(File.Exists(file));
    }

    [Fact]
    public void An_alpha_threshold_flags_exactly_the_images_whose_p_value_is_at_most_alpha()
    {
        string run = runs.Run("bottleneck");
        CliResult score = Aemnist.Run("score", "--run", run, "--input", runs.CsvPath, "--alpha", "0.1", "--p-values", "--quiet");
        Assert.True(score.ExitCode == 0, score.Stderr);
        Row[] rows = ParseScores(score.Stdout);
        foreach (Row r in rows) Assert.Equal(r.PValue <= 0.1 + 1e-12, r.Flag);
        Assert.Contains(rows, r => r.Flag);
        string file = runs.File("bottleneck-alpha.onnx");
        Assert.Equal(0, Aemnist.Run("export", "--run", run, "--output", file, "--alpha", "0.1", "--quiet").ExitCode);
        Compare("bottleneck --alpha 0.1", File.ReadAllBytes(file), rows);
    }

    [Fact]
    public void Score_maps_never_writes_among_other_files_and_replaces_its_own_earlier_maps()
    {
        string run = runs.Run("dense");
        string mine = runs.File("user-folder");
        Directory.CreateDirectory(mine);
        File.WriteAllText(Path.Combine(mine, "notes.txt"), "mine");
        CliResult refused = Aemnist.Run("score", "--run", run, "--input", runs.CsvPath, "--maps", mine, "--quiet");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("notes.txt", refused.Stderr);
        Assert.Equal(["notes.txt"], Directory.GetFileSystemEntries(mine).Select(Path.GetFileName));
        // An earlier maps directory is ours: a second run replaces every earlier map, none of a larger run stays.
        string maps = runs.File("maps-again");
        Directory.CreateDirectory(maps);
        File.WriteAllText(Path.Combine(maps, "map-99999.png"), "an earlier map");
        CliResult again = Aemnist.Run("score", "--run", run, "--input", runs.CsvPath, "--maps", maps, "--quiet");
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.False(File.Exists(Path.Combine(maps, "map-99999.png")));
        Assert.Equal(TrainedRuns.Images, Directory.GetFiles(maps, "map-*.png").Length);
    }

    [Fact]
    public void Score_maps_writes_each_images_map_as_png_and_npy_the_same_map_as_the_export()
    {
        string run = runs.Run("bottleneck");
        string directory = runs.File("maps");
        // ssim, whose map has a border and whose mean is the score (the recipe's combined score draws smoothed's map).
        CliResult score = Aemnist.Run("score", "--run", run, "--input", runs.CsvPath, "--score", "ssim", "--threshold", "0.5", "--maps", directory, "--quiet");
        Assert.True(score.ExitCode == 0, score.Stderr);
        Row[] rows = ParseScores(score.Stdout);
        Assert.Equal(TrainedRuns.Images, Directory.GetFiles(directory, "map-*.png").Length);
        Assert.Equal(TrainedRuns.Images, Directory.GetFiles(directory, "map-*.npy").Length);
        string scale = File.ReadAllText(Path.Combine(directory, "scale.txt"));
        Assert.Contains("Inferno", scale);
        Assert.Contains("gray: the 5-pixel border", scale);  // the bottleneck is scored by ssim
        string file = runs.File("bottleneck-maps.onnx");
        Assert.Equal(0, Aemnist.Run("export", "--run", run, "--output", file, "--score", "ssim", "--threshold", "0.5", "--quiet").ExitCode);
        OnnxOutputs outputs = Runtime.Run(File.ReadAllBytes(file), runs.Pixels, TrainedRuns.Images, ImageShape.Mnist);
        foreach (int i in new[] { 0, 1, 250, 399 })
        {
            byte[] npy = File.ReadAllBytes(Path.Combine(directory, $"map-{i:D5}.npy"));
            int header = BitConverter.ToUInt16(npy, 8) + 10;
            Assert.Contains("'shape': (28, 28)", System.Text.Encoding.ASCII.GetString(npy, 10, header - 10));
            float[] map = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(npy.AsSpan(header)).ToArray();
            Assert.Equal(784, map.Length);
            // Its mean over the defined pixels is the image's score.
            Assert.True(ExportComparison.Relative(map.Where(float.IsFinite).Average(v => (double)v), rows[i].Score) <= 1e-5, $"map {i}: mean {map.Where(float.IsFinite).Average()} for a score of {rows[i].Score}");
            float top = map.Where(float.IsFinite).Max();
            for (int p = 0; p < 784; p++)
            {
                float onnx = outputs.Maps[i * 784 + p];
                Assert.True(float.IsNaN(map[p]) ? float.IsNaN(onnx) : Math.Abs(map[p] - onnx) <= 1e-4 * top, $"map {i}, pixel {p}: {map[p]} here, {onnx} in ONNX Runtime");
            }
            Imaging.RgbaImage png = Imaging.ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(directory, $"map-{i:D5}.png")), "map");
            Assert.Equal((28, 28), (png.Width, png.Height));
        }
    }

    [Fact]
    public void A_model_file_copied_out_of_its_run_exports_from_the_split_it_records()
    {
        string run = runs.Run("dense");
        string copy = runs.File("dense-elsewhere.safetensors");
        File.Copy(Path.Combine(run, "model.safetensors"), copy, overwrite: true);
        string file = runs.File("dense-elsewhere.onnx");
        CliResult export = Aemnist.Run("export", "--model-file", copy, "--output", file, "--quiet");
        Assert.True(export.ExitCode == 0, export.Stderr);
        CliResult score = Aemnist.Run("score", "--model-file", copy, "--input", runs.CsvPath, "--p-values", "--quiet");
        Assert.True(score.ExitCode == 0, score.Stderr);
        OnnxOutputs outputs = Compare("dense outside its run", File.ReadAllBytes(file), ParseScores(score.Stdout));
        // Its metadata records its split, so the p-values come from the shipped MNIST's train split, as for the run.
        Assert.NotNull(outputs.PValues);
        Assert.Contains("train split", outputs.Metadata["p_value_calibration"]);
    }

    [Fact]
    public void Evaluate_takes_the_alpha_rule_and_says_what_it_promises()
    {
        CliResult evaluate = Aemnist.Run("evaluate", "--run", runs.Run("bottleneck"), "--alpha", "0.1", "--json", "--quiet");
        Assert.True(evaluate.ExitCode == 0, evaluate.Stderr);
        string rule = (string)System.Text.Json.Nodes.JsonNode.Parse(evaluate.Stdout)!["threshold_rule"]!;
        Assert.Contains("--alpha 0.1: conformal p-value <= 0.1 against the 30 normal digits of the validation split", rule);
        Assert.Contains("at most 10% of new normal digits flagged", rule);
        CliResult both = Aemnist.Run("evaluate", "--run", runs.Run("bottleneck"), "--alpha", "0.1", "--fpr", "0.1");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("at most one of", both.Stderr);
    }

    [Fact]
    public void A_score_without_a_graph_is_refused_with_the_scores_that_have_one()
    {
        var e = Assert.Throws<NotSupportedException>(() => DetectorExport.CheckScore((ScoreKind)999));
        Assert.Contains("no graph for", e.Message);
        Assert.Contains("mse, ssim, smoothed", e.Message);
        foreach (ScoreKind kind in Scores.All) DetectorExport.CheckScore(kind);
    }

    [Theory]
    [InlineData(new[] { "--format", "tflite" }, "is not an export format")]
    [InlineData(new[] { "--output", "-" }, "binary")]
    [InlineData(new[] { "--threshold", "1", "--alpha", "0.1" }, "at most one of")]
    [InlineData(new[] { "--alpha", "1.5" }, "must be in (0, 1)")]
    [InlineData(new[] { "--verify-images", "5" }, "--verify is not given")]
    [InlineData(new[] { "--score", "nope" }, "is not a score")]
    public void Bad_export_options_are_usage_errors(string[] options, string message)
    {
        string[] args = ["export", .. options.Contains("--output") ? [] : new[] { "--output", runs.File("x.onnx") }, .. options, "--runs-dir", runs.File("none")];
        CliResult result = Aemnist.Run(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.False(File.Exists(runs.File("x.onnx")));
    }

    // The calibration scores an exported model holds (its initializer calibration_scores), or null.
    private static float[]? CalibrationScores(byte[] model)
    {
        Proto.TensorProto? t = Proto.ModelProto.Parser.ParseFrom(model).Graph.Initializer.FirstOrDefault(i => i.Name == "calibration_scores");
        return t is null ? null : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
    }

    private sealed record Row(float Score, bool Flag, double PValue);

    // score's CSV: index,source,error,anomaly[,p_value]
    private static Row[] ParseScores(string csv)
    {
        string[] lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] header = lines[0].Split(',');
        int error = Array.IndexOf(header, "error"), anomaly = Array.IndexOf(header, "anomaly"), p = Array.IndexOf(header, "p_value");
        return [.. lines.Skip(1).Select(l => l.Split(',')).Select(f => new Row(
            float.Parse(f[error], CultureInfo.InvariantCulture), f[anomaly] == "1", p < 0 ? double.NaN : double.Parse(f[p], CultureInfo.InvariantCulture)))];
    }

    private OnnxOutputs Compare(string what, byte[] model, Row[] rows)
    {
        Assert.Equal(TrainedRuns.Images, rows.Length);
        OnnxOutputs outputs = Runtime.Run(model, runs.Pixels, TrainedRuns.Images, ImageShape.Mnist);
        float[]? calibration = CalibrationScores(model);
        Assert.Equal(calibration is null, outputs.PValues is null);
        double worst = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            double relative = ExportComparison.Relative(outputs.Scores[i], rows[i].Score);
            worst = Math.Max(worst, relative);
            Assert.True(relative <= ExportComparison.Tolerance, $"{what}: image {i} scores {outputs.Scores[i]:R} in ONNX Runtime and {rows[i].Score:R} in aemnist score");
            Assert.True(outputs.Flags[i] == rows[i].Flag, $"{what}: image {i} is flagged {outputs.Flags[i]} in ONNX Runtime, {rows[i].Flag} in aemnist score");
            // aemnist's p-value of its score; a score a hair from a calibration score may count it or not.
            if (!double.IsNaN(rows[i].PValue)) Assert.True(Math.Abs(rows[i].PValue - outputs.PValues![i]) <= 1.0 / (calibration!.Length + 1) + 1e-12);
        }
        // The graph's p-values are exactly the conformal p-values of its own scores against the calibration scores it holds.
        if (calibration is not null)
            Assert.Equal(Evaluation.Conformal.PValues(calibration, outputs.Scores), outputs.PValues);
        output.WriteLine($"{what}: worst relative difference {worst:G3} on {rows.Length} images; {rows.Count(r => r.Flag)} flagged");
        return outputs;
    }
}
