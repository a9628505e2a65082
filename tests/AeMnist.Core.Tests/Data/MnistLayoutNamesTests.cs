// Data in MNIST's four-file IDX layout that is not MNIST is named as what it is: a classes.txt beside the files names its
// classes (any labels past 9 need one), and Fashion-MNIST is known by its labels; MNIST itself (and any other such files)
// keeps its digits.
using AeMnist.Data;

namespace AeMnist.Core.Tests.Data;

public class MnistLayoutNamesTests
{
    // Four IDX files of 28x28 images: the training labels, then the test labels.
    private static string Layout(TempDirectory dir, byte[] train, byte[] test)
    {
        File.WriteAllBytes(dir.File("train-images-idx3-ubyte"), IdxReaderTests.ImageFile(train.Length, 28, 28));
        File.WriteAllBytes(dir.File("train-labels-idx1-ubyte"), IdxReaderTests.LabelFile(train));
        File.WriteAllBytes(dir.File("t10k-images-idx3-ubyte"), IdxReaderTests.ImageFile(test.Length, 28, 28));
        File.WriteAllBytes(dir.File("t10k-labels-idx1-ubyte"), IdxReaderTests.LabelFile(test));
        return dir.Path;
    }

    [Fact]
    public void WithoutAClassNamesFileTheClassesAreMnistsDigits()
    {
        using var dir = new TempDirectory();
        Dataset data = MnistFiles.Load(Layout(dir, [0, 1, 2, 9], [3, 4]));
        Assert.True(data.Source.IsMnist);
        Assert.Equal(MnistFiles.ClassNames, data.ClassNames);
    }

    [Fact]
    public void AClassNamesFileNamesTheClassesAndTheDataIsNotMnist()
    {
        using var dir = new TempDirectory();
        string path = Layout(dir, [0, 1, 2, 1], [2, 0]);
        File.WriteAllText(dir.File(MnistFiles.ClassNamesFile), "cat\n dog \nbird\n\n");
        Dataset data = MnistFiles.Load(path);
        Assert.False(data.Source.IsMnist);
        Assert.Equal(MnistFiles.IdxKind, data.Source.Kind);
        Assert.Equal(["cat", "dog", "bird"], data.ClassNames);
        Assert.Equal("class", data.ClassNoun);
        Assert.Equal(1, data.ResolveClass("dog"));
        Assert.Equal(2, data.ResolveClass("2"));
        // Another checksum than the same bytes read as MNIST: the names are part of what the data is.
        Assert.NotEqual(MnistFiles.Create(data.Bytes.ToArray(), data.Labels.ToArray(), data.TrainCount, path).Sha256, data.Sha256);
    }

    [Fact]
    public void LabelsPastNineWithoutAClassNamesFileAreAnErrorThatSaysHowToNameThem()
    {
        // EMNIST's letters in MNIST's layout (labels 1-26), or a corrupt MNIST label file: the test file's label 1.
        using var dir = new TempDirectory();
        var e = Assert.Throws<DataFormatException>(() => MnistFiles.Load(Layout(dir, [1, 9, 5, 9], [3, 26])));
        Assert.Equal($"t10k-labels-idx1-ubyte: label 1 is 26, expected a digit 0-9 (MNIST's); if these files hold other classes, name them in a {MnistFiles.ClassNamesFile} beside them (one name a line, class 0 first)", e.Message);
    }

    [Fact]
    public void AClassNamesFileNamesMoreThanTenClasses()
    {
        using var dir = new TempDirectory();
        string path = Layout(dir, [0, 25, 7], [12]);
        File.WriteAllLines(dir.File(MnistFiles.ClassNamesFile), Enumerable.Range(0, 26).Select(c => ((char)('A' + c)).ToString()));
        Dataset data = MnistFiles.Load(path);
        Assert.Equal(MnistFiles.IdxKind, data.Source.Kind);
        Assert.Equal(26, data.ClassNames.Count);
        Assert.Equal(25, data.ResolveClass("Z"));
        Assert.Equal("M", data.ClassNames[data.Labels[3]]);
    }

    [Theory]
    [InlineData("cat\ndog\n", "2 class names, but the labels go up to 2")]
    [InlineData("cat\n\nbird\n", "line 2 is empty")]
    [InlineData("cat\ndog\ncat\n", "line 3 repeats the name 'cat' of line 1")]
    [InlineData(null, "257 class names, but IDX labels are bytes")]
    public void ABadClassNamesFileIsAnErrorNamingTheFileAndTheLine(string? text, string expected)
    {
        using var dir = new TempDirectory();
        string path = Layout(dir, [0, 1, 2], [2]);
        File.WriteAllText(dir.File(MnistFiles.ClassNamesFile), text ?? string.Join("\n", Enumerable.Range(0, 257).Select(i => $"c{i}")));
        var e = Assert.Throws<DataFormatException>(() => MnistFiles.Load(path));
        Assert.Contains(MnistFiles.ClassNamesFile, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void AClassNamesFileThatIsNotARegularFileIsRefusedUnread()
    {
        using var dir = new TempDirectory();
        string path = Layout(dir, [0, 1], [1]);
        Directory.CreateDirectory(dir.File(MnistFiles.ClassNamesFile));
        var e = Assert.Throws<DataFormatException>(() => MnistFiles.Load(path));
        Assert.Contains("not a file of class names", e.Message);
        Directory.Delete(dir.File(MnistFiles.ClassNamesFile));
        if (!OperatingSystem.IsLinux()) return;
        // A FIFO: reading it would wait for a writer forever.
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [dir.File(MnistFiles.ClassNamesFile)])) mkfifo.WaitForExit();
        e = Assert.Throws<DataFormatException>(() => MnistFiles.Load(path));
        Assert.Contains("FIFO", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [FashionMnistFact]
    public void FashionMnistIsKnownByItsLabels()
    {
        Dataset data = MnistFiles.Load(FashionMnistFactAttribute.Installed);
        Assert.Equal(MnistFiles.FashionKind, data.Source.Kind);
        Assert.False(data.Source.IsMnist);
        Assert.Equal("Ankle boot", data.ClassNames[9]);
        Assert.Equal(60_000, data.TrainCount);
    }
}

/// <summary>A fact that needs Debian's dataset-fashion-mnist package; elsewhere it says it was skipped.</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public const string Installed = "/usr/share/datasets/fashion-mnist";

    public FashionMnistFactAttribute()
    {
        if (!Directory.Exists(Installed)) Skip = $"skipped: Fashion-MNIST is not installed at {Installed} (apt-get install dataset-fashion-mnist)";
    }
}
