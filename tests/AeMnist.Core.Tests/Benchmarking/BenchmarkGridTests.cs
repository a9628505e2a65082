using AeMnist.Benchmarking;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Scoring;
using AeMnist.Tensors;
using AeMnist.Training;

namespace AeMnist.Core.Tests.Benchmarking;

public class BenchmarkGridTests
{
    [Fact]
    public void AModelConfigurationTakesArchitectureAndTrainingOptionsOverItsRecipe()
    {
        BenchmarkModel m = BenchmarkModel.Parse("bottleneck:latent=32:channels=16,32:epochs=3:lr=0.002:noise=0.2:validation=0.2");
        Assert.Equal([32], m.Train.ResolvedSettings[BottleneckAutoEncoder.Latent]);
        Assert.Equal([16, 32], m.Train.ResolvedSettings[BottleneckAutoEncoder.Channels]);
        Assert.Equal(3, m.Train.Epochs);
        Assert.Equal(0.002, m.Train.LearningRate);
        Assert.Equal(0.2, m.Train.Noise);
        Assert.Equal(0.2, m.Validation);
        Assert.Equal(128, m.Train.BatchSize);  // from the bottleneck recipe
        Assert.Equal("bottleneck-latent=32-channels=16,32-epochs=3-lr=0.002-noise=0.2-validation=0.2", m.Slug);
        BenchmarkModel dense = BenchmarkModel.Parse("dense");
        Assert.Equal(new TrainOptions(Model: "dense", Settings: dense.Train.Settings), dense.Train);  // the tutorial's defaults
        Assert.Equal(0.1, dense.Validation);  // but early stopping watches a validation split, never the test split
        Assert.Equal(0.0, BenchmarkModel.Parse("dense:validation=0").Validation);
    }

    [Theory]
    [InlineData("resnet", "--model 'resnet' is not a model")]
    [InlineData("dense:latent=3", "'latent' is neither an option of dense (hidden)")]
    [InlineData("bottleneck:epochs=x", "epochs 'x' is not an integer")]
    [InlineData("bottleneck:epochs", "'epochs' is not KEY=VALUE")]
    [InlineData("bottleneck:keep=worst", "keep 'worst' is not best or last")]
    [InlineData("bottleneck:epochs=0", "--epochs must be positive")]
    [InlineData("bottleneck:validation=1", "validation 1 must be a fraction")]
    [InlineData("bottleneck:lr=1:lr=2", "'lr' is given twice")]
    public void BadConfigurationsAreNamed(string text, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => BenchmarkModel.Parse(text)).Message);

    [Theory]
    [InlineData("0-9", new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 })]
    [InlineData("2,5,8", new[] { 2, 5, 8 })]
    [InlineData("7,0-2,1", new[] { 7, 0, 1, 2 })]
    public void DigitsParse(string text, int[] expected) => Assert.Equal(expected, BenchmarkGrid.ParseDigits(text));

    [Theory]
    [InlineData("10")]
    [InlineData("5-3")]
    [InlineData("a")]
    [InlineData("")]
    public void BadDigitsAreRejected(string text) => Assert.Throws<ArgumentException>(() => BenchmarkGrid.ParseDigits(text));

    [Fact]
    public void SeedsParse()
    {
        Assert.Equal([1UL, 2, 3], BenchmarkGrid.ParseSeeds("1-3"));
        Assert.Equal([4UL, 1], BenchmarkGrid.ParseSeeds("4,1,4"));
        Assert.Throws<ArgumentException>(() => BenchmarkGrid.ParseSeeds("-1"));
    }

    [Theory]
    [InlineData("18446744073709551614-18446744073709551615", new[] { 18446744073709551614UL, 18446744073709551615UL })]
    [InlineData("18446744073709551615", new[] { 18446744073709551615UL })]
    [InlineData("18446744073709551615-18446744073709551615,0", new[] { 18446744073709551615UL, 0UL })]
    [InlineData("0-999", null)]
    public void SeedRangesEndAtTheEndOfTheirType(string text, ulong[]? expected)
    {
        ulong[] seeds = BenchmarkGrid.ParseSeeds(text);  // a loop that compared s <= last never ended here
        if (expected is not null) Assert.Equal(expected, seeds);
        else Assert.Equal(BenchmarkGrid.MaxSeeds, seeds.Length);
    }

    [Theory]
    [InlineData("18446744073709551616", "must be whole numbers")]
    [InlineData("18446744073709551615-18446744073709551616", "must be whole numbers")]
    [InlineData("0-18446744073709551615", "holds more than 1000 seeds")]
    [InlineData("0-1000", "holds more than 1000 seeds")]
    [InlineData("1-600,400-1100", "holds more than 1000 seeds")]
    [InlineData("5-3", "runs backwards")]
    [InlineData("1,,2", "must be whole numbers")]
    public void BadSeedsAreRefused(string text, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => BenchmarkGrid.ParseSeeds(text)).Message);

    private static BenchmarkData Data(params string[] classes) =>
        new("image folder", "/data/parts", new string('a', 64), classes, IsMnist: false, HasTestPart: false, new ImageShape(1, 16, 16), new ImageRules());

    private static BenchmarkData Mnist() =>
        new(MnistFiles.Kind, "/data/mnist", BenchmarkGrid.MnistSha256, [.. Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture))], IsMnist: true, HasTestPart: true, ImageShape.Mnist, new ImageRules());

    [Theory]
    [InlineData("all", new[] { 0, 1, 2 })]
    [InlineData("good,0", new[] { 1, 0 })]
    [InlineData("GOOD", new[] { 1 })]
    [InlineData("0-2,1", new[] { 0, 1, 2 })]
    [InlineData("scratch-2", new[] { 2 })]
    [InlineData(" 2 , bad ", new[] { 2, 0 })]
    public void ClassesParseByNameNumberAndRange(string text, int[] expected) =>
        Assert.Equal(expected, Data("bad", "good", "scratch-2").ParseClasses(text));

    [Theory]
    [InlineData("7", "--classes '7' is not a class of /data/parts; its classes are 'bad', 'good', 'scratch-2'")]
    [InlineData("0-3", "goes past the last class, 2")]
    [InlineData("2-1", "runs backwards")]
    [InlineData("good,", "has an empty entry")]
    [InlineData("18446744073709551616", "is not a class of")]
    [InlineData("254-255", "goes past the last class")]
    public void BadClassesAreNamed(string text, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => Data("bad", "good", "scratch-2").ParseClasses(text)).Message);

    [Fact]
    public void NumbersThatAreClassNamesNameThoseClasses()
    {
        // A CSV's labels 0, 1, 2 and 10 are classes "0", "1", "10", "2" (sorted as text): "2" and "0-2" mean the labels.
        BenchmarkData labels = Data("0", "1", "10", "2");
        Assert.Equal([3], labels.ParseClasses("2"));
        Assert.Equal([0, 1, 3], labels.ParseClasses("0-2"));
        Assert.Equal([2], labels.ParseClasses("10"));
        Assert.Equal([1, 2, 3], labels.ParseClasses("1-3"));  // "3" names no class: class numbers
    }

    [Fact]
    public void MnistClassesAreItsDigits()
    {
        Assert.Equal([.. Enumerable.Range(0, 10)], Mnist().ParseClasses("all"));
        Assert.Equal([2, 5, 8], Mnist().ParseClasses("2,5,8"));
        Assert.Equal([0, 1, 2, 3, 7], Mnist().ParseClasses("0-3,7"));
        Assert.Contains("--classes '12' is not a digit; use 0-9", Assert.Throws<ArgumentException>(() => Mnist().ParseClasses("12")).Message);
    }

    private static BenchmarkGrid Grid(BenchmarkData data, string[] models, int[] classes, SplitProtocol protocol = SplitProtocol.OneClass) =>
        new([.. models.Select(BenchmarkModel.Parse)], classes, [1UL], [ScoreKind.Mse], protocol, "/out", data, new ComputeOptions());

    [Fact]
    public void NoTwoConfigurationsShareADirectory()
    {
        // Both texts make the same readable part; the configurations differ, and so do their directories.
        BenchmarkGrid grid = Grid(Data("a", "b"), ["dense:lr=1e-3", "dense:lr=1e+3"], [0]);
        Assert.Equal(grid.Models[0].Slug, grid.Models[1].Slug);
        Assert.NotEqual(grid.ModelDirectoryName(grid.Models[0]), grid.ModelDirectoryName(grid.Models[1]));
        Assert.StartsWith("dense-lr=1e-3-", grid.ModelDirectoryName(grid.Models[0]));
        // The same configuration, however written, is one directory; another protocol is another.
        BenchmarkGrid same = Grid(Data("a", "b"), ["dense:lr=0.001:epochs=5", "dense:epochs=5:lr=1e-3"], [0]);
        string Hash(BenchmarkGrid g, int i) => g.ModelDirectoryName(g.Models[i])[^16..];
        Assert.Equal(Hash(same, 0), Hash(same, 1));
        Assert.NotEqual(Hash(same, 0), Hash(same with { Protocol = SplitProtocol.Seed }, 0));
        // A long configuration stays a short name.
        BenchmarkGrid longer = Grid(Data("a", "b"), ["bottleneck:latent=32:channels=16,32:epochs=3:lr=0.002:noise=0.2:validation=0.2:batch-size=64:weight-decay=0.0001:patience=5"], [0]);
        Assert.True(longer.ModelDirectoryName(longer.Models[0]).Length <= 77);
    }

    [Fact]
    public void CellsOfOtherDataAreNamedByTheirClasses()
    {
        BenchmarkGrid grid = Grid(Data("bad", "good/ok", ""), ["dense"], [0, 1, 2]);
        Assert.Equal(["c0-bad-s1", "c1-good_ok-s1", "c2-class-s1"], grid.Cells.Select(c => c.Name).ToArray());
        Assert.Equal("dense class 'good/ok' seed 1", grid.Cells.ElementAt(1).ToString());
        Assert.Equal("d7-s1", Grid(Mnist(), ["dense"], [7]).Cells.Single().Name);
    }

    [Fact]
    public void TheShippedMnistIsTheDataThePublishedRowsWereMeasuredOn() =>
        Assert.Equal(BenchmarkGrid.MnistSha256, MnistFiles.Load(RepoPaths.MnistDirectory).Sha256);

    [Fact]
    public void PublishedRowsOnlyForMnistsOneClassProtocolAndTheirMeansOverTheSameDigits()
    {
        Assert.Empty(BenchmarkReport.References(Grid(Data("a", "b"), ["dense"], [0, 1])));
        Assert.Empty(BenchmarkReport.References(Grid(Mnist(), ["dense"], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], SplitProtocol.Seed)));
        // Other images in MNIST's format (Fashion-MNIST, a part of MNIST) are not what the rows were measured on.
        BenchmarkGrid fashion = Grid(Mnist() with { Sha256 = new string('c', 64) }, ["dense"], [0, 1]);
        Assert.Empty(BenchmarkReport.References(fashion));
        Assert.Contains(BenchmarkReport.Description(fashion), l => l.Contains("other images in its format", StringComparison.Ordinal));
        IReadOnlyList<BenchmarkRow> all = BenchmarkReport.References(Grid(Mnist(), ["dense"], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
        BenchmarkRow svdd = all.Single(r => r.Kind == "published");
        Assert.Equal(94.80, svdd.Mean, 9);
        BenchmarkGrid two = Grid(Mnist(), ["dense"], [1, 7]);
        BenchmarkRow partial = BenchmarkReport.References(two).Single(r => r.Kind == "published");
        Assert.Equal((99.7 + 94.6) / 2, partial.Mean, 9);
        Assert.Equal("97.15 (2 of 10 digits)", BenchmarkReport.MeanText(two, partial));
        Assert.Equal("94.80", BenchmarkReport.MeanText(Grid(Mnist(), ["dense"], [.. Enumerable.Range(0, 10)]), svdd));
    }

    [Fact]
    public void RowsCountOnlyFinishedCellsAndSayWhenTheirMeanIsOverFewerClasses()
    {
        BenchmarkGrid grid = Grid(Data("a", "b", "c"), ["dense:validation=0"], [0, 1, 2]);
        BenchmarkCell[] cells = [.. grid.Cells];
        CellResult Finished(BenchmarkCell c, double auroc) =>
            new(c, new Dictionary<ScoreKind, double> { [ScoreKind.Mse] = auroc }, new Dictionary<ScoreKind, double[]> { [ScoreKind.Mse] = [double.NaN, 0.9, 0.9] }, 1, 1, 1, false, false);
        CellResult[] results =
        [
            Finished(cells[0], 0.9),
            Finished(cells[1], 0.8),
            new(cells[2], new Dictionary<ScoreKind, double>(), new Dictionary<ScoreKind, double[]>(), 1, 1, 1, true, false) { Status = CellStatus.Collapsed, Message = "constant" },
        ];
        BenchmarkRow row = Assert.Single(BenchmarkReport.Rows(grid, results));
        Assert.Equal(85, row.Mean, 9);
        Assert.Equal(2, row.ClassesInMean);
        Assert.Equal(2, row.Cells);
        Assert.Equal(1, row.Collapsed);
        Assert.True(row.WatchesTest);
        Assert.Equal("85.00 (2 of 3 classes) [watched test]", BenchmarkReport.MeanText(grid, row));
        Assert.Contains(BenchmarkReport.Description(grid), l => l.Contains("watched the TEST split", StringComparison.Ordinal));
        Assert.Contains(BenchmarkReport.Description(grid), l => l.Contains("sha256 " + new string('a', 64), StringComparison.Ordinal));
        Assert.Contains(BenchmarkReport.Description(grid), l => l.Contains("held out", StringComparison.Ordinal));
        Assert.DoesNotContain("Deep SVDD", BenchmarkReport.Markdown(grid, [row]));
        Assert.Contains("| model | score | a | b | c |", BenchmarkReport.Markdown(grid, [row]));
        Assert.Equal("dense:validation=0 class 'c' seed 1: collapsed (constant)", Assert.Single(BenchmarkReport.NotCounted(results)));
        string csv = BenchmarkReport.Csv(grid, results);
        Assert.StartsWith("model,score,class,class_name,seed,auroc,", csv);
        Assert.Contains(",,2,\"c\",1,,", csv);
        Assert.EndsWith(",collapsed\n", csv);
    }

    [Theory]
    [InlineData(85, 2)]   // MNIST's usual range: 86, 88, ..., 100
    [InlineData(95, 1)]
    [InlineData(70, 5)]
    [InlineData(0, 10)]   // an AUROC near 0 on a user's data: not fifty labels on top of each other
    public void TheHtmlChartsAurocAxisDrawsAtMostTenLines(double lo, double step)
    {
        Assert.Equal(step, BenchmarkReport.AxisStep(lo));
        Assert.True((100 - lo) / step <= 10);
    }

    [Theory]
    [InlineData("digit", "3", 104, "digit 3")]       // MNIST's ten groups of the 1,100 px chart
    [InlineData("class", "scratch", 520, "class scratch")]
    [InlineData("class", "A", 40, "A")]              // 26 classes: 'class A' would run into 'class B'
    [InlineData("class", "Ankle boot", 40, "Ankl…")]
    public void TheHtmlChartsGroupLabelsFitTheirGroups(string noun, string head, double width, string label)
    {
        Assert.Equal(label, BenchmarkReport.GroupLabel(noun, head, width));
        Assert.True(label.Length * 7 <= width - 4 || label.Length <= 2);
    }

    [Fact]
    public void NpyFilesHaveNumPysHeader()
    {
        byte[] bytes = LatentCodes.Npy([1f, 2f, 3f, 4f, 5f, 6f], [2, 3]);
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        int headerLength = bytes[8] | bytes[9] << 8;
        Assert.Equal(0, (10 + headerLength) % 64);
        string header = System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header);
        Assert.EndsWith("\n", header);
        Assert.Equal(6f, BitConverter.ToSingle(bytes, bytes.Length - 4));
        Assert.Equal(10 + headerLength + 24, bytes.Length);
    }
}
