using AeMnist.IO;

namespace AeMnist.Core.Tests.IO;

/// <summary>Text cells aemnist writes into CSV are never formulas (OWASP's rule) and never split a row.</summary>
public sealed class CsvTextTests
{
    [Theory]
    [InlineData("a/1.png", "a/1.png")]
    [InlineData("digits.csv:12", "digits.csv:12")]
    [InlineData("=HYPERLINK(\"x\").png", "\"'=HYPERLINK(\"\"x\"\").png\"")]
    [InlineData("+1.png", "\"'+1.png\"")]
    [InlineData("-2+3.png", "\"'-2+3.png\"")]
    [InlineData("@SUM(A1).png", "\"'@SUM(A1).png\"")]
    [InlineData("\tx.png", "\"'\tx.png\"")]
    [InlineData("\rx.png", "\"'\rx.png\"")]
    [InlineData("a,b.png", "\"a,b.png\"")]
    [InlineData("say \"hi\".png", "\"say \"\"hi\"\".png\"")]
    [InlineData("x=1.png", "x=1.png")]
    [InlineData("", "")]
    public void Cells_that_a_spreadsheet_would_run_are_quoted_text(string value, string cell) => Assert.Equal(cell, CsvText.Cell(value));

    [Fact]
    public void Encode_writes_sources_as_safe_cells_and_streams_the_same_bytes()
    {
        string csv = LatentCodes.Csv([1f, 2f, 3f, 4f], 2, 2, ["=cmd|' /C calc'!A0.png", "ok.png"]);
        Assert.Equal("index,source,z0,z1\n0,\"'=cmd|' /C calc'!A0.png\",1,2\n1,ok.png,3,4\n", csv);
        var npy = new MemoryStream();
        float[] codes = [.. Enumerable.Range(0, 70_000).Select(i => i * 0.5f)];
        LatentCodes.WriteNpy(npy, codes, [35_000, 2]);
        byte[] bytes = npy.ToArray();
        // Written in blocks: the header padded to 64 bytes, then every value in order, across block boundaries.
        int header = bytes.Length - 4 * codes.Length;
        Assert.Equal(0, header % 64);
        Assert.Equal(0x93, bytes[0]);
        Assert.Contains("'shape': (35000, 2)", System.Text.Encoding.ASCII.GetString(bytes, 10, header - 10));
        foreach (int i in new[] { 0, 16383, 16384, 16385, 69_999 }) Assert.Equal(codes[i], BitConverter.ToSingle(bytes, header + 4 * i));
    }
}
