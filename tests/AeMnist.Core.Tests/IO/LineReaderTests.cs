using AeMnist.IO;

namespace AeMnist.Core.Tests.IO;

public sealed class LineReaderTests
{
    private static List<string> Lines(string text, int max = 1 << 20)
    {
        var reader = new LineReader(new StringReader(text), max);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        Assert.False(reader.Overlong);
        return lines;
    }

    [Theory]
    [InlineData("", new string[0])]
    [InlineData("a", new[] { "a" })]
    [InlineData("a\n", new[] { "a" })]
    [InlineData("a\n\n", new[] { "a", "" })]
    [InlineData("\n", new[] { "" })]
    [InlineData("a\r\nb\rc\n\rd", new[] { "a", "b", "c", "", "d" })]
    [InlineData("\r\r\n\n", new[] { "", "", "" })]
    public void SplitsOnEveryLineEnding(string text, string[] expected)
    {
        Assert.Equal(expected, Lines(text));
    }

    [Fact]
    public void CarriageReturnLineFeed_SplitAcrossBufferBlocks()
    {
        // The buffer holds 65536 characters: put '\r' last in the first block and '\n' first in the next.
        string first = new('x', 65535);
        Assert.Equal([first, "y"], Lines(first + "\r\ny"));
        Assert.Equal([first, "", "y"], Lines(first + "\r\r\ny"));
        string longLine = new('z', 200_000);
        Assert.Equal([longLine, "end"], Lines(longLine + "\r\nend"));
    }

    [Fact]
    public void LineOfExactlyTheLimit_IsAccepted_OneMoreIsOverlong()
    {
        Assert.Equal([new string('a', 10), "b"], Lines(new string('a', 10) + "\nb", max: 10));
        var reader = new LineReader(new StringReader("ok\n" + new string('a', 11)), 10);
        Assert.Equal("ok", reader.ReadLine());
        Assert.Null(reader.ReadLine());
        Assert.True(reader.Overlong);
    }
}
