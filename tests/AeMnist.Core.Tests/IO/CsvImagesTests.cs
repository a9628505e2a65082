using System.Text;
using AeMnist.IO;

namespace AeMnist.Core.Tests.IO;

public sealed class CsvImagesTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A row whose pixel i is (i + offset) % 256, so every value is obvious.</summary>
    private static string Row(int offset, string? label = null) =>
        (label is null ? "" : label + ",") + string.Join(",", Enumerable.Range(0, 784).Select(i => (i + offset) % 256));

    private static float Expected(int i, int offset) => (byte)((i + offset) % 256) / 255f;

    private string Write(string name, string text)
    {
        string path = _dir.File(name);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    private static string Error(string text) =>
        Assert.Throws<DataFormatException>(() => CsvImages.Read(new StringReader(text), "digits.csv")).Message;

    [Fact]
    public void Reads784ColumnRows_ScaledLikeTheIdxReader()
    {
        string path = Write("digits.csv", Row(0) + "\n" + Row(7) + "\n");
        var (pixels, count, sources) = CsvImages.Read(path);
        Assert.Equal(2, count);
        Assert.Equal(2 * 784, pixels.Length);
        for (int i = 0; i < 784; i++)
        {
            Assert.Equal(Expected(i, 0), pixels[i]);
            Assert.Equal(Expected(i, 7), pixels[784 + i]);
        }
        Assert.Equal(["digits.csv:1", "digits.csv:2"], sources);
    }

    [Fact]
    public void KaggleLayout_HeaderAndLeadingLabelColumn()
    {
        string header = "label," + string.Join(",", Enumerable.Range(0, 784).Select(i => $"pixel{i}"));
        var (pixels, count, sources) = CsvImages.Read(new StringReader(header + "\r\n" + Row(3, "7") + "\r\n" + Row(5, "2")), "mnist_test.csv");
        Assert.Equal(2, count);
        Assert.Equal(Expected(0, 3), pixels[0]);
        Assert.Equal(Expected(783, 5), pixels[^1]);
        Assert.Equal(["mnist_test.csv:2", "mnist_test.csv:3"], sources);
    }

    [Fact]
    public void PandasDefaultHeaders_AreSkipped()
    {
        // df.to_csv(index=False) with integer column names, and df.to_csv() with the index column.
        string numbered = string.Join(",", Enumerable.Range(0, 784));
        Assert.Equal(1, CsvImages.Read(new StringReader(numbered + "\n" + Row(0)), "a.csv").Count);
        var (_, count, sources) = CsvImages.Read(new StringReader("," + numbered + "\n" + Row(0, "0") + "\n" + Row(1, "1")), "b.csv");
        Assert.Equal(2, count);
        Assert.Equal("b.csv:3", sources[1]);
    }

    [Fact]
    public void DecimalsSpacesBlankLinesBomAndMissingFinalNewline()
    {
        string row = string.Join(", ", Enumerable.Repeat("127.5", 783).Append(" 2.55e2 "));
        string text = "\n  \n" + row + "\n\n" + Row(0) + "\r";
        string path = _dir.File("d.csv");
        File.WriteAllText(path, text, new UTF8Encoding(true));
        var (pixels, count, sources) = CsvImages.Read(path);
        Assert.Equal(2, count);
        Assert.Equal(127.5f / 255f, pixels[0]);
        Assert.Equal(1f, pixels[783]);
        Assert.Equal(["d.csv:3", "d.csv:5"], sources);
    }

    [Fact]
    public void ParsingIgnoresTheCurrentCulture()
    {
        var saved = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
            string row = string.Join(",", Enumerable.Repeat("0.5", 784));
            Assert.Equal(0.5f / 255f, CsvImages.Read(new StringReader(row), "x.csv").Pixels[0]);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void WrongColumnCount()
    {
        string short780 = string.Join(",", Enumerable.Repeat("0", 780));
        Assert.Equal("digits.csv line 3: 780 values, expected 784 pixels (or 785 with a leading label)",
            Error(Row(0) + "\n" + Row(1) + "\n" + short780 + "\n"));
        Assert.Equal("digits.csv line 1: 786 values, expected 784 pixels (or 785 with a leading label)", Error(Row(0) + ",1,2"));
        Assert.Equal("digits.csv line 1: 1 values, expected 784 pixels (or 785 with a leading label); values must be separated by commas",
            Error(string.Join(";", Enumerable.Repeat("0", 784))));
    }

    [Fact]
    public void BadValues()
    {
        string With(string cell, int index) => string.Join(",", Enumerable.Range(0, 784).Select(i => i == index ? cell : "0"));
        Assert.Equal("digits.csv line 2, column 12: 'abc' is not a number; expected a pixel value 0-255", Error(Row(0) + "\n" + With("abc", 11)));
        Assert.Equal("digits.csv line 2, column 1: 'x' is not a number; expected a pixel value 0-255", Error(Row(0) + "\n" + With("x", 0)));
        // Every row has the columns of the first (issue 20: a row with a label among rows without would shift nothing
        // silently), and a 785th value is a digit label.
        Assert.Equal("digits.csv line 2: 785 values, but line 1 has 784; every row must have the same columns (784 pixels)", Error(Row(0) + "\n" + Row(1, "x")));
        Assert.Equal("digits.csv line 2, column 1: 'x' is not a label; a row of 785 values is a digit label 0-9 then 784 pixel values (an index column? write the CSV without it)",
            Error(Row(0, "1") + "\n" + Row(1, "x")));
        Assert.Equal("digits.csv line 1, column 784: NaN is not a pixel value; expected 0-255", Error(With("NaN", 783)));
        Assert.Equal("digits.csv line 1, column 5: '256' is outside the pixel range 0-255", Error(With("256", 4)));
        Assert.Equal("digits.csv line 1, column 5: '-1' is outside the pixel range 0-255", Error(With("-1", 4)));
        Assert.Equal("digits.csv line 1, column 5: 'Infinity' is outside the pixel range 0-255", Error(With("Infinity", 4)));
        Assert.Equal("digits.csv line 1, column 5: empty value; expected a pixel value 0-255", Error(With(" ", 4)));
        Assert.Equal("digits.csv line 1, column 785: empty value; expected a pixel value 0-255", Error(Row(0) + ","));
        // The quote is cut at its printed length (20): an escape counts as the six characters it prints as.
        Assert.Equal("digits.csv line 1, column 3: '1\\u0007xxxxxxxxxxxxx...' is not a number; expected a pixel value 0-255",
            Error(With("1\u0007" + new string('x', 40), 2)));
    }

    [Fact]
    public void RowsNeverShift_LabelsAreDigits_QuotedNumbersRead_AndAFirstRowOfDataIsNotAHeader()
    {
        // Widths that differ, either way round, name the line and the first row's width.
        Assert.Equal("digits.csv line 3: 784 values, but line 1 has 785; every row must have the same columns (a label then 784 pixels)",
            Error(Row(0, "1") + "\n" + Row(1, "2") + "\n" + Row(2)));
        // A missing label (an empty first cell of a 785-value row) or one that is not a digit is an error, never -1.
        Assert.Equal("digits.csv line 2, column 1: no label; a row of 785 values is a digit label 0-9 then 784 pixel values", Error(Row(0, "1") + "\n" + Row(1, "")));
        Assert.StartsWith("digits.csv line 1, column 1: '12' is not a label", Error(Row(0, "12")));
        Assert.StartsWith("digits.csv line 1, column 1: '7.5' is not a label", Error(Row(0, "7.5")));
        // Numbers in double quotes (a spreadsheet's export) are read as the numbers.
        string quoted = "\"3\"," + string.Join(",", Enumerable.Range(0, 784).Select(i => $"\"{i % 256}\""));
        CsvImageSet set = CsvImages.Read(new StringReader(quoted), "q.csv");
        Assert.Equal([3], set.Labels);
        for (int i = 0; i < 784; i++) Assert.Equal(Expected(i, 0), set.Pixels[i]);
        // A first row with one unparsable cell among numbers is data with an error, not a header skipped in silence.
        string With(string cell, int index) => string.Join(",", Enumerable.Range(0, 784).Select(i => i == index ? cell : "0"));
        Assert.Equal("digits.csv line 1, column 1: 'x' is not a number; expected a pixel value 0-255", Error(With("x", 0) + "\n" + Row(1)));
        Assert.Equal("digits.csv line 1, column 300: 'oops' is not a number; expected a pixel value 0-255", Error(With("oops", 299) + "\n" + Row(1)));
    }

    [Fact]
    public void A_row_past_the_budget_is_refused_before_it_is_held()
    {
        string text = string.Join("\n", Enumerable.Range(0, 5).Select(i => Row(i)));
        Assert.Equal(5, CsvImages.Read(new StringReader(text), "d.csv", maxImages: 5).Count);
        var e = Assert.Throws<DataFormatException>(() => CsvImages.Read(new StringReader(text), "d.csv", maxImages: 4));
        Assert.Equal("d.csv line 5: more than 4 images; aemnist reads at most 4 from one CSV", e.Message);
        e = Assert.Throws<DataFormatException>(() => CsvImages.Read(new StringReader(text), "d.csv", maxImages: 2, tooMany: "shared budget"));
        Assert.Equal("shared budget", e.Message);
    }

    [Fact]
    public void HeaderOnlyOnTheFirstLine()
    {
        string header = "label," + string.Join(",", Enumerable.Range(0, 784).Select(i => $"pixel{i}"));
        // After the first line a header is an ordinary row: its first cell is taken as a label, the second must be a pixel.
        Assert.Equal("digits.csv line 2, column 2: 'pixel0' is not a number; expected a pixel value 0-255", Error(Row(0) + "\n" + header));
    }

    [Fact]
    public void NoImages()
    {
        Assert.Equal("digits.csv: file is empty; expected rows of 784 comma-separated pixel values 0-255", Error(""));
        Assert.Equal("digits.csv: has only blank lines; expected rows of 784 comma-separated pixel values 0-255", Error("\n \r\n\n"));
        Assert.Equal("digits.csv: has only blank lines; expected rows of 784 comma-separated pixel values 0-255", Error("\n"));
        Assert.Equal("digits.csv: has a header but no images; expected rows of 784 comma-separated pixel values 0-255", Error("label," + string.Join(",", Enumerable.Range(0, 784).Select(i => $"pixel{i}")) + "\n\n"));
        Assert.Equal("digits.csv line 1: 2 values, expected 784 pixels (or 785 with a leading label)", Error("label,pixel0\n"));
    }

    [Fact]
    public void OverlongLine_IsRefused()
    {
        var reader = new StringReader(new string('1', CsvImages.MaxLineChars + 1));
        Assert.Equal($"digits.csv line 1: longer than {CsvImages.MaxLineChars} characters; expected rows of 784 comma-separated pixel values 0-255",
            Assert.Throws<DataFormatException>(() => CsvImages.Read(reader, "digits.csv")).Message);
    }

    [Fact]
    public void MissingFileAndDirectory()
    {
        string missing = _dir.File("none.csv");
        Assert.Equal($"{missing}: file not found", Assert.Throws<DataFormatException>(() => CsvImages.Read(missing)).Message);
        Assert.Equal($"{_dir.Path}: is a directory, not a CSV file", Assert.Throws<DataFormatException>(() => CsvImages.Read(_dir.Path)).Message);
    }

    [Fact]
    public void BinaryJunk_GivesAOneLineDataFormatError()
    {
        var rng = new Rng(3);
        for (int trial = 0; trial < 50; trial++)
        {
            var bytes = new byte[1 + rng.NextInt(5000)];
            for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)rng.NextInt(256);
            string path = _dir.File($"junk{trial}.bin");
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<DataFormatException>(() => CsvImages.Read(path));
            Assert.StartsWith($"junk{trial}.bin", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.DoesNotContain('\r', e.Message);
        }
    }
}
