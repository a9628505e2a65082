// The PNG codec: round trips, the encoder's chunks checked by an independent parser, hand-made files
// of every filter, colour type and bit depth, and one test per kind of bad file.
using System.Buffers.Binary;
using System.IO.Compression;
using AeMnist.Imaging;
using static AeMnist.Core.Tests.Imaging.PngTestFiles;

namespace AeMnist.Core.Tests.Imaging;

public class PngTests
{
    private static byte[] Ramp(int count, int step = 37) => Enumerable.Range(0, count).Select(i => (byte)(i * step + i / 5)).ToArray();

    [Fact]
    public void Crc32_MatchesTheCheckValueAndTheBitwiseReference()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
        byte[] data = Ramp(1000);
        Assert.Equal(BitwiseCrc(data), Crc32.Compute(data));
        Assert.Equal(Crc32.Compute(data), Crc32.Append(Crc32.Compute(data.AsSpan(0, 300)), data.AsSpan(300)));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(28, 28)]
    [InlineData(7, 3)]
    [InlineData(300, 2)]
    public void EncodeGray8_DecodesBackToTheSamePixels(int width, int height)
    {
        byte[] pixels = Ramp(width * height);
        byte[] png = Png.EncodeGray8(pixels, width, height);
        var (gray, w, h) = Png.Decode(png, "x.png");
        Assert.Equal((width, height), (w, h));
        Assert.Equal(pixels, gray);
    }

    [Fact]
    public void EncodeRgb8_DecodesToLuma()
    {
        byte[] rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30];
        var (gray, w, h) = Png.Decode(Png.EncodeRgb8(rgb, 2, 2), "x.png");
        Assert.Equal((2, 2), (w, h));
        Assert.Equal(new byte[] { 76, 150, 29, 124 }, gray); // round(0.299 * 255), round(0.587 * 255), ...
    }

    [Fact]
    public void Encoder_WritesValidChunksWithCorrectCrcs()
    {
        byte[] pixels = Ramp(28 * 28);
        byte[] png = Png.EncodeGray8(pixels, 28, 28);
        var chunks = ParseChunks(png);
        Assert.Equal("IHDR", chunks[0].Type);
        Assert.Equal("IEND", chunks[^1].Type);
        Assert.Contains(chunks, c => c.Type == "IDAT");
        foreach (var c in chunks)
        {
            byte[] typeAndBody = [.. System.Text.Encoding.ASCII.GetBytes(c.Type), .. c.Body];
            Assert.Equal(BitwiseCrc(typeAndBody), c.StoredCrc);
        }
        Assert.Equal(0xAE426082u, chunks[^1].StoredCrc); // the well-known CRC of an empty IEND

        byte[] ihdr = chunks[0].Body;
        Assert.Equal(28, BinaryPrimitives.ReadInt32BigEndian(ihdr));
        Assert.Equal(28, BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4)));
        Assert.Equal(new byte[] { 8, 0, 0, 0, 0 }, ihdr[8..]);

        // Inflate and unfilter with the test's own code path: each row's filter byte is valid.
        byte[] z = [.. chunks.Where(c => c.Type == "IDAT").SelectMany(c => c.Body)];
        using var inflate = new ZLibStream(new MemoryStream(z), CompressionMode.Decompress);
        var raw = new MemoryStream();
        inflate.CopyTo(raw);
        Assert.Equal(28 * 29, raw.Length);
        for (int y = 0; y < 28; y++) Assert.InRange(raw.GetBuffer()[y * 29], 0, 4);
    }

    [Fact]
    public void Encoder_IsDeterministic()
    {
        byte[] pixels = Ramp(50 * 40);
        Assert.Equal(Png.EncodeGray8(pixels, 50, 40), Png.EncodeGray8(pixels, 50, 40));
    }

    [Fact]
    public void Encoder_RejectsWrongLength()
    {
        var e = Assert.Throws<ArgumentException>(() => Png.EncodeGray8(new byte[10], 3, 3));
        Assert.Contains("expected 9", e.Message);
    }

    public static TheoryData<int, int> FiltersAndColourTypes()
    {
        var data = new TheoryData<int, int>();
        foreach (int colourType in new[] { 0, 2, 4, 6 })
            for (int filter = 0; filter <= 4; filter++) data.Add(colourType, filter);
        return data;
    }

    [Theory]
    [MemberData(nameof(FiltersAndColourTypes))]
    public void Decode_HandMadeFiles_EveryFilterAndColourType(int colourType, int filter)
    {
        const int width = 5, height = 4;
        int channels = colourType switch { 0 => 1, 2 => 3, 4 => 2, _ => 4 };
        byte[] samples = Ramp(width * height * channels, 53);
        byte[] scanlines = Filter(samples, width * channels, channels, filter);
        byte[] png = Build(Header(width, height, 8, colourType), scanlines);

        var (gray, w, h) = Png.Decode(png, "hand.png");

        Assert.Equal((width, height), (w, h));
        for (int i = 0; i < width * height; i++)
        {
            ReadOnlySpan<byte> p = samples.AsSpan(i * channels, channels);
            double expected = colourType switch
            {
                0 => p[0],
                2 => 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2],
                4 => p[0] * (p[1] / 255.0),
                _ => (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) * (p[3] / 255.0),
            };
            Assert.Equal((byte)Math.Round(expected), gray[i]);
        }
    }

    [Fact]
    public void Decode_LowBitDepthGray_ScalesTo255()
    {
        // 1-bit: a 10-pixel row packs into 2 bytes, the last 6 bits padding.
        byte[] oneBit = Build(Header(10, 1, 1, 0), [0, 0b1010_0000, 0b0100_0000]);
        Assert.Equal(new byte[] { 255, 0, 255, 0, 0, 0, 0, 0, 0, 255 }, Png.Decode(oneBit, "1.png").Gray);

        byte[] twoBit = Build(Header(4, 1, 2, 0), [0, 0b00_01_10_11]);
        Assert.Equal(new byte[] { 0, 85, 170, 255 }, Png.Decode(twoBit, "2.png").Gray);

        // 4-bit with the Sub filter, whose byte distance is 1 below 8 bits per pixel.
        byte[] rows = [0x0F, 0x8F];
        byte[] fourBit = Build(Header(4, 1, 4, 0), Filter(rows, 2, 1, 1));
        Assert.Equal(new byte[] { 0, 255, 136, 255 }, Png.Decode(fourBit, "4.png").Gray);
    }

    [Fact]
    public void Decode_SixteenBit_UsesTheWholeSample()
    {
        byte[] gray16 = Build(Header(3, 1, 16, 0), [0, 0x00, 0x00, 0x80, 0x00, 0xFF, 0xFF]);
        Assert.Equal(new byte[] { 0, 128, 255 }, Png.Decode(gray16, "g16.png").Gray);

        // RGBA 16-bit: white at half alpha composites on black to 128.
        byte[] rgba16 = Build(Header(1, 1, 16, 6), [0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x00]);
        Assert.Equal(new byte[] { 128 }, Png.Decode(rgba16, "rgba16.png").Gray);
    }

    [Fact]
    public void Decode_Palette_WithTransparency()
    {
        byte[] palette = [0, 0, 0, 255, 255, 255, 255, 0, 0];
        byte[] alpha = [255, 255, 0];
        byte[] png = Build(Header(3, 1, 8, 3), [0, 0, 1, 2], ("PLTE", palette), ("tRNS", alpha));
        Assert.Equal(new byte[] { 0, 255, 0 }, Png.Decode(png, "p.png").Gray);
    }

    [Fact]
    public void Decode_SkipsAncillaryChunks()
    {
        byte[] png = Build(Header(2, 1, 8, 0), [0, 9, 99], ("tEXt", "Comment\0hello"u8.ToArray()), ("gAMA", new byte[4]));
        Assert.Equal(new byte[] { 9, 99 }, Png.Decode(png, "a.png").Gray);
    }

    private static string DecodeError(byte[] file) =>
        Assert.Throws<DataFormatException>(() => Png.Decode(file, "digit.png")).Message;

    private static byte[] Valid() => Build(Header(2, 2, 8, 0), [0, 1, 2, 0, 3, 4]);

    [Fact]
    public void BadSignature()
    {
        Assert.Equal("digit.png: not a PNG file (bad signature)", DecodeError("GIF89a.........."u8.ToArray()));
        Assert.Equal("digit.png: not a PNG file (bad signature)", DecodeError([]));
    }

    [Fact]
    public void CrcMismatch()
    {
        byte[] file = Valid();
        file[8 + 8 + 3] ^= 1; // inside IHDR's width
        Assert.Equal("digit.png: CRC mismatch in IHDR chunk", DecodeError(file));
    }

    [Fact]
    public void Truncated()
    {
        byte[] file = Valid();
        var chunks = ParseChunks(file);
        int idat = chunks.First(c => c.Type == "IDAT").Offset;
        Assert.Equal("digit.png: truncated file (in IDAT chunk)", DecodeError(file[..(idat + 9)]));
        Assert.Equal("digit.png: truncated file (no IEND chunk)", DecodeError(file[..chunks[^1].Offset]));
    }

    [Fact]
    public void Interlaced()
    {
        byte[] file = Build(Header(2, 2, 8, 0, interlace: 1), new byte[8]);
        Assert.Equal("digit.png: interlaced PNG is not supported (save it without interlacing)", DecodeError(file));
    }

    [Fact]
    public void BadFilterType()
    {
        Assert.Equal("digit.png: bad filter type 5 in row 1", DecodeError(Build(Header(2, 2, 8, 0), [0, 1, 2, 5, 3, 4])));
    }

    [Fact]
    public void ImageDataTooShort()
    {
        Assert.Equal("digit.png: image data too short (3 of 6 bytes)", DecodeError(Build(Header(2, 2, 8, 0), [0, 1, 2])));
    }

    [Fact]
    public void CorruptCompressedData()
    {
        var ms = new MemoryStream();
        ms.Write(Signature);
        ms.Write(ChunkBytes("IHDR", Header(2, 2, 8, 0)));
        ms.Write(ChunkBytes("IDAT", [0x78, 0x9C, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]));
        ms.Write(ChunkBytes("IEND", []));
        Assert.Equal("digit.png: corrupt compressed image data", DecodeError(ms.ToArray()));
    }

    [Fact]
    public void MissingImageData()
    {
        var ms = new MemoryStream();
        ms.Write(Signature);
        ms.Write(ChunkBytes("IHDR", Header(2, 2, 8, 0)));
        ms.Write(ChunkBytes("IEND", []));
        Assert.Equal("digit.png: no image data (IDAT chunk missing)", DecodeError(ms.ToArray()));
    }

    [Fact]
    public void HeaderProblems()
    {
        Assert.Equal("digit.png: bit depth 4 is not allowed with colour type 2", DecodeError(Build(Header(2, 2, 4, 2), [0])));
        Assert.Equal("digit.png: unknown colour type 5", DecodeError(Build(Header(2, 2, 8, 5), [0])));
        Assert.Equal("digit.png: invalid image size 0x2", DecodeError(Build(Header(0, 2, 8, 0), [0])));
        Assert.Equal("digit.png: image too large (100000x100000)", DecodeError(Build(Header(100000, 100000, 8, 0), [0])));
        Assert.Equal("digit.png: palette image without a PLTE chunk", DecodeError(Build(Header(1, 1, 8, 3), [0, 0])));
    }

    [Fact]
    public void ChunkOrderProblems()
    {
        var ms = new MemoryStream();
        ms.Write(Signature);
        ms.Write(ChunkBytes("IDAT", [1, 2, 3]));
        Assert.Equal("digit.png: first chunk is IDAT, expected IHDR", DecodeError(ms.ToArray()));

        byte[] critical = Build(Header(1, 1, 8, 0), [0, 0], ("ZZZZ", [1]));
        Assert.Equal("digit.png: unsupported critical chunk ZZZZ", DecodeError(critical));
    }

    [Fact]
    public void PaletteIndexOutOfRange()
    {
        byte[] png = Build(Header(2, 1, 8, 3), [0, 0, 1], ("PLTE", [1, 2, 3]));
        Assert.Equal("digit.png: palette index 1 out of range in row 0", DecodeError(png));
    }

    [Fact]
    public void RequireSize_NamesTheFileAndBothSizes()
    {
        Png.RequireSize("digit.png", 28, 28, 28, 28);
        var e = Assert.Throws<DataFormatException>(() => Png.RequireSize("digit.png", 32, 32, 28, 28));
        Assert.Equal("digit.png: 32x32 image, expected 28x28", e.Message);
    }
}
