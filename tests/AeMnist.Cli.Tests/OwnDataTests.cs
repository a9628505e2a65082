// Your own images end to end (issue 19), on small generated data: train on a folder of normal 40x40 RGB images,
// evaluate, score, report and encode on labelled folders; class folders without a test part; NumPy arrays; and every
// mistake a user makes with their data is one line naming the file or the class, exit 1 or 2, nothing written.
using System.Text.Json.Nodes;
using SkiaSharp;

namespace AeMnist.Cli.Tests;

public sealed class OwnDataTests : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    // A product photo: a coloured disc on a dark background, moved a little by its index; "scratch" draws a light line
    // across it, "chunk" cuts a dark square out of it.
    private static void Product(string path, int index, string kind, int size = 40, bool gray = false)
    {
        using var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque);
        double r = size * 0.3, c = size / 2.0 - 0.5 + (index % 5 - 2) * 0.5;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                bool inside = (x - c) * (x - c) + (y - c) * (y - c) < r * r;
                bool defect = kind == "scratch" ? Math.Abs(x - y - index % 7 + 3) < 1.2 && inside : kind == "chunk" && Math.Abs(x - c) < 5 && Math.Abs(y - c) < 5;
                SKColor colour = defect ? (kind == "scratch" ? new SKColor(250, 250, 250) : new SKColor(0, 0, 0))
                    : inside ? new SKColor(210, (byte)(110 + index % 20), 40) : new SKColor(20, 25, 30);
                if (gray) { byte v = (byte)((colour.Red + colour.Green + colour.Blue) / 3); colour = new SKColor(v, v, v); }
                bitmap.SetPixel(x, y, colour);
            }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var file = File.Create(path);
        bitmap.Encode(file, SKEncodedImageFormat.Png, 100);
    }

    private string Folder(string name, IReadOnlyDictionary<string, int> classes, int size = 40, bool gray = false)
    {
        string root = _scratch.CreateDirectory(name);
        foreach (var (kind, count) in classes)
            for (int i = 0; i < count; i++) Product(Path.Combine(root, kind, $"{i:000}.png"), i, kind == "good" || kind == "normal" ? "good" : kind, size, gray);
        return root;
    }

    private static CliResult Ok(params string[] args)
    {
        CliResult result = CliRunner.Run(args);
        Assert.True(result.ExitCode == 0, $"{string.Join(' ', args)}: exit {result.ExitCode}\n{result.Stderr}");
        return result;
    }

    [Fact]
    public void Train_on_a_folder_of_normal_rgb_images_then_evaluate_score_report_and_encode_on_labelled_folders()
    {
        string normals = Folder("my-products", new Dictionary<string, int> { ["good"] = 60 });
        string labelled = Folder("inspection", new Dictionary<string, int> { ["good"] = 12, ["scratch"] = 10, ["chunk"] = 10 });
        string runs = _scratch.File("runs");
        Ok("train", "--input", normals, "--model", "dense", "--hidden", "32,8", "--epochs", "30", "--lr", "0.003", "--runs-dir", runs, "--run-name", "mine", "--quiet");
        string run = Path.Combine(runs, "mine");

        // The model takes the data's own shape and records how its inputs are read; run.json can read the data again.
        JsonObject runJson = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!.AsObject();
        Assert.Equal("3x40x40", (string?)runJson["options"]!["image"]);
        Assert.Equal(Path.GetFullPath(normals), (string?)runJson["split"]!["data"]!["inputs"]![0]);
        Assert.Equal(0, (int)runJson["split"]!["test_count"]!);
        Assert.True((int)runJson["split"]!["validation_count"]! > 0, "--input's images are watched on a validation split");

        // No test split of its own: evaluate says what to give, then evaluates a labelled folder by its class names.
        CliResult noTest = CliRunner.Run("evaluate", "--run", run);
        Assert.Equal(2, noTest.ExitCode);
        Assert.Contains("no test split", noTest.Stderr);
        JsonObject metrics = JsonNode.Parse(Ok("evaluate", "--run", run, "--input", labelled, "--json").Stdout)!.AsObject();
        Assert.Equal("good", (string?)metrics["normal_class"]);
        // A folder without a class called good or normal: the error lists its classes to choose from.
        string other = Folder("other-names", new Dictionary<string, int> { ["ok"] = 3, ["bad"] = 3 });
        CliResult unnamed = CliRunner.Run("evaluate", "--run", run, "--input", other);
        Assert.Equal(2, unnamed.ExitCode);
        Assert.Contains("has no class called good or normal; name its normal class, one of 'bad', 'ok'", unnamed.Stderr);
        Assert.Equal(new[] { "chunk", "good", "scratch" }, metrics["class_flag_rates"]!.AsObject().Select(p => p.Key).ToArray());
        Assert.Equal(12, (int)metrics["test_normal"]!);
        Assert.Equal(20, (int)metrics["test_anomalies"]!);
        Assert.True((double)metrics["auroc"]! > 0.8, $"the defects separate from the good products: AUROC {metrics["auroc"]}");

        // score: one row per image file, named by its path in the folder.
        string[] rows = Ok("score", "--run", run, "--input", Path.Combine(labelled, "scratch")).Stdout.Trim().Split('\n');
        Assert.Equal("index,source,error,anomaly", rows[0]);
        Assert.Equal(11, rows.Length);
        Assert.StartsWith("0,scratch/000.png,", rows[1]);
        // --normal with the stored threshold: refused in the data's words (it spoke of MNIST digits on any data).
        CliResult normal = CliRunner.Run("score", "--run", run, "--input", Path.Combine(labelled, "scratch"), "--normal", "good");
        Assert.Equal(2, normal.ExitCode);
        Assert.Contains("--normal cannot apply: the threshold is given or stored, so no images of the normal class are read", normal.Stderr);
        Assert.DoesNotContain("MNIST", normal.Stderr);

        // report --input: beside the run's own, naming the classes, never digits.
        Ok("report", "--run", run, "--input", labelled, "--quiet");
        string html = File.ReadAllText(Path.Combine(run, "input-inspection", "report.html"));
        Assert.Contains("scratch", html);
        Assert.DoesNotContain("normal digit", html);

        // encode: one code per image.
        string[] codes = Ok("encode", "--run", run, "--input", Path.Combine(labelled, "good"), "--quiet").Stdout.Trim().Split('\n');
        Assert.Equal(13, codes.Length);
        Assert.Equal(2 + 8, codes[0].Split(',').Length);
    }

    [Fact]
    public void Class_folders_without_a_test_part_hold_a_fifth_of_the_normal_images_out_with_every_other_class()
    {
        string data = Folder("parts", new Dictionary<string, int> { ["good"] = 50, ["chunk"] = 7 }, size: 16, gray: true);
        string runs = _scratch.File("runs");
        CliResult data1 = Ok("data", "--data", data, "--json");
        JsonObject info = JsonNode.Parse(data1.Stdout)!.AsObject();
        Assert.Equal("1x16x16", (string?)info["image_shape"]);
        Assert.Equal(new[] { "chunk", "good" }, info["classes"]!.AsArray().Select(c => (string)c!).ToArray());

        Ok("train", "--data", data, "--model", "pca", "--components", "4", "--runs-dir", runs, "--run-name", "p", "--quiet");
        JsonObject runJson = JsonNode.Parse(File.ReadAllText(Path.Combine(runs, "p", "run.json")))!.AsObject();
        Assert.Equal(10 + 7, (int)runJson["split"]!["test_count"]!);  // 20% of 50 good, and the 7 chunks
        JsonObject metrics = JsonNode.Parse(Ok("evaluate", "--run", Path.Combine(runs, "p"), "--json").Stdout)!.AsObject();
        Assert.Equal("good", (string?)metrics["normal_class"]);
        Assert.Equal(7, (int)metrics["test_anomalies"]!);
    }

    [Fact]
    public void Test_images_of_one_kind_only_say_that_AUROC_cannot_be_measured()
    {
        // MVTec AD's layout with a test/ of defects only (no test/good/): no normal test image to rank against.
        string root = _scratch.CreateDirectory("defects-only");
        for (int i = 0; i < 20; i++) Product(Path.Combine(root, "train", "good", $"{i:000}.png"), i, "good", size: 12);
        for (int i = 0; i < 4; i++) Product(Path.Combine(root, "test", "scratch", $"{i:000}.png"), i, "scratch", size: 12);
        string runs = _scratch.File("runs");
        Ok("train", "--data", root, "--model", "dense", "--hidden", "8", "--epochs", "2", "--validation", "0.2", "--runs-dir", runs, "--run-name", "d", "--quiet");
        CliResult evaluated = Ok("evaluate", "--run", Path.Combine(runs, "d"), "--json");
        JsonObject metrics = JsonNode.Parse(evaluated.Stdout)!.AsObject();
        Assert.Null(metrics["auroc"]);
        Assert.Contains("the 4 test images are all anomalies, so AUROC cannot be measured (n/a) and average precision says nothing",
            Assert.Single(metrics["warnings"]!.AsArray(), w => ((string?)w)!.Contains("AUROC", StringComparison.Ordinal))!.GetValue<string>());
        Assert.Contains("warning: the 4 test images are all anomalies", evaluated.Stderr);
    }

    [Fact]
    public void A_run_finds_its_own_images_again_and_notices_when_they_changed()
    {
        string normals = Folder("normals", new Dictionary<string, int> { ["good"] = 40 }, size: 12);
        string labelled = Folder("labelled", new Dictionary<string, int> { ["good"] = 6, ["chunk"] = 6 }, size: 12);
        string runs = _scratch.File("runs"), run = Path.Combine(runs, "r");
        Ok("train", "--input", normals, "--model", "dense", "--hidden", "8", "--epochs", "3", "--runs-dir", runs, "--run-name", "r", "--quiet");
        // Its validation images, read again from the folder, and called images (not "classs", as they once were).
        Assert.Contains("--fpr 0.1: flags 10% of the normal images of the validation split", Ok("evaluate", "--run", run, "--input", labelled, "--fpr", "0.1").Stdout);
        // One training image replaced: the split the run recorded no longer exists, and evaluate says so instead of guessing.
        Product(Path.Combine(normals, "good", "000.png"), 3, "chunk", size: 12);
        CliResult changed = CliRunner.Run("evaluate", "--run", run, "--input", labelled, "--fpr", "0.1");
        Assert.Equal(1, changed.ExitCode);
        Assert.Contains("are not the ones", changed.Stderr);
    }

    [Fact]
    public void NumPy_arrays_train_and_evaluate()
    {
        var rng = new Random(3);
        // 40 normal images (a bright square) and 10 anomalies (a bright square elsewhere), 12x12 gray, uint8.
        byte[] Image(bool anomaly)
        {
            var pixels = new byte[144];
            int o = anomaly ? 7 : 2;
            for (int y = o; y < o + 4; y++) for (int x = o; x < o + 4; x++) pixels[y * 12 + x] = (byte)(200 + rng.Next(40));
            return pixels;
        }
        byte[][] normals = [.. Enumerable.Range(0, 40).Select(_ => Image(false))];
        byte[][] all = [.. normals.Take(10), .. Enumerable.Range(0, 10).Select(_ => Image(true))];
        string npy = _scratch.File("normals.npy");
        File.WriteAllBytes(npy, Npy("|u1", [normals.Length, 12, 12], [.. normals.SelectMany(b => b)]));
        string npz = _scratch.File("test.npz");
        using (var zip = System.IO.Compression.ZipFile.Open(npz, System.IO.Compression.ZipArchiveMode.Create))
        {
            using (Stream x = zip.CreateEntry("x.npy").Open()) x.Write(Npy("|u1", [all.Length, 12, 12], [.. all.SelectMany(b => b)]));
            using (Stream y = zip.CreateEntry("y.npy").Open()) y.Write(Npy("|u1", [all.Length], [.. Enumerable.Range(0, 20).Select(i => (byte)(i < 10 ? 0 : 1))]));
        }
        string runs = _scratch.File("runs");
        Ok("train", "--input", npy, "--model", "pca", "--components", "3", "--runs-dir", runs, "--run-name", "n", "--quiet");
        JsonObject metrics = JsonNode.Parse(Ok("evaluate", "--run", Path.Combine(runs, "n"), "--input", npz, "--normal", "0", "--json").Stdout)!.AsObject();
        Assert.Equal(10, (int)metrics["test_anomalies"]!);
        Assert.True((double)metrics["auroc"]! > 0.9, $"AUROC {metrics["auroc"]}");
    }

    private static byte[] Npy(string dtype, int[] shape, byte[] data)
    {
        string header = $"{{'descr': '{dtype}', 'fortran_order': False, 'shape': ({string.Join(", ", shape)}{(shape.Length == 1 ? "," : "")}), }}";
        int total = (10 + header.Length + 1 + 63) / 64 * 64;
        header = header.PadRight(total - 11) + "\n";
        var bytes = new byte[total + data.Length];
        byte[] magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];
        magic.CopyTo(bytes, 0);
        BitConverter.GetBytes((ushort)header.Length).CopyTo(bytes, 8);
        System.Text.Encoding.ASCII.GetBytes(header).CopyTo(bytes, 10);
        data.CopyTo(bytes, total);
        return bytes;
    }

    public static TheoryData<string, string[], int, string[]> Mistakes => new()
    {
        { "sizes disagree", ["train", "--input", "{mixed}", "--epochs", "1"], 1, ["40x40", "24x24", "--size"] },
        { "no images in the folder", ["train", "--input", "{empty}"], 1, ["no image files"] },
        { "an empty class", ["train", "--data", "{emptyclass}"], 1, ["'scratch' has no image files"] },
        { "a class that is not there", ["train", "--data", "{classes}", "--normal", "shiny"], 2, ["'shiny' is not a class", "good", "scratch"] },
        { "bottleneck strides", ["train", "--input", "{odd}", "--model", "bottleneck"], 2, ["divisible by 4", "--size 36x44"] },
        { "loose images beside class folders", ["train", "--data", "{loose}"], 1, ["belong to no class"] },
        { "a bad --size", ["train", "--input", "{classes}", "--size", "40 by 40"], 2, ["--size", "HEIGHTxWIDTH"] },
        { "--input with --normal", ["train", "--input", "{classes}", "--normal", "good"], 2, ["--normal cannot apply"] },
        // One class folder: no test part, nothing else to test against, and --data's --validation is 0. Trained anyway,
        // the monitored loss was the mean of no images, NaN, and the run was called diverged ("try a lower --lr").
        { "one class and no validation", ["train", "--data", "{oneclass}", "--model", "dense", "--epochs", "1"], 2,
            ["early stopping has nothing to watch", "no class other than 'good'", "--validation 0.1"] },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void A_mistake_with_ones_own_data_is_one_line_naming_it(string name, string[] args, int exitCode, string[] mentions)
    {
        var folders = new Dictionary<string, Func<string>>
        {
            ["{mixed}"] = () => { string d = Folder("mixed", new Dictionary<string, int> { ["good"] = 3 }); Product(Path.Combine(d, "good", "small.png"), 0, "good", size: 24); return d; },
            ["{empty}"] = () => _scratch.CreateDirectory("empty"),
            ["{emptyclass}"] = () => { string d = Folder("emptyclass", new Dictionary<string, int> { ["good"] = 3 }); Directory.CreateDirectory(Path.Combine(d, "scratch")); return d; },
            ["{classes}"] = () => Folder("classes", new Dictionary<string, int> { ["good"] = 4, ["scratch"] = 2 }),
            ["{odd}"] = () => { string d = _scratch.CreateDirectory("odd"); Product(Path.Combine(d, "a.png"), 0, "good", size: 37); return d; },
            ["{oneclass}"] = () => Folder("oneclass", new Dictionary<string, int> { ["good"] = 12 }),
            ["{loose}"] = () => { string d = Folder("loose", new Dictionary<string, int> { ["good"] = 2 }); Product(Path.Combine(d, "stray.png"), 0, "good"); return d; },
        };
        string runs = _scratch.File("runs");
        string[] resolved = [.. args.Select(a => folders.TryGetValue(a, out var make) ? make() : a), "--runs-dir", runs];
        if (name == "bottleneck strides")
        {
            // 37x45 is not divisible by 4: make the folder's image that shape.
            string odd = resolved[2];
            File.Delete(Path.Combine(odd, "a.png"));
            using var bitmap = new SKBitmap(45, 37, SKColorType.Rgba8888, SKAlphaType.Opaque);
            using var file = File.Create(Path.Combine(odd, "a.png"));
            bitmap.Encode(file, SKEncodedImageFormat.Png, 100);
        }
        CliResult result = CliRunner.Run(resolved);
        Assert.True(result.ExitCode == exitCode, $"{name}: exit {result.ExitCode}, expected {exitCode}\n{result.Stderr}");
        string line = result.Stderr.Trim();
        Assert.DoesNotContain('\n', line);
        foreach (string mention in mentions) Assert.Contains(mention, line);
        Assert.False(Directory.Exists(runs) && Directory.EnumerateDirectories(runs).Any(), $"{name}: a run directory was written");
    }
}
