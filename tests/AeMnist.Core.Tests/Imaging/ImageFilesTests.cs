// Image decoding through SkiaSharp: hand-made PNG files of every filter, colour type and bit depth (built without
// the code under test), interlaced PNG, JPEG, BMP and WebP, the alpha rule, the size checked before decoding, and
// one test per kind of bad file.
using System.Buffers.Binary;
using AeMnist.Imaging;
using SkiaSharp;
using static AeMnist.Core.Tests.Imaging.PngTestFiles;

namespace AeMnist.Core.Tests.Imaging;

public class ImageFilesTests
{
    private static byte[] Ramp(int count, int step = 37) => Enumerable.Range(0, count).Select(i => (byte)(i * step + i / 5)).ToArray();

    private static byte[] Gray(byte[] file, int width, int height, bool invert = false) => ImageFiles.Decode(file, "x.png", width, height, invert).Pixels;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(28, 28)]
    [InlineData(7, 3)]
    public void EncodeGrayPng_DecodesBackToTheSamePixels(int width, int height)
    {
        byte[] pixels = Ramp(width * height);
        byte[] png = ImageFiles.EncodeGrayPng(pixels, width, height);
        Assert.Equal(Signature, png[..8]);
        Assert.Equal(pixels, Gray(png, width, height));
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
        byte[] png = Build(Header(width, height, 8, colourType), Filter(samples, width * channels, channels, filter));

        GrayImage image = ImageFiles.Decode(png, "hand.png", width, height);

        Assert.Equal(colourType is 4 or 6, image.HasAlpha);
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
            Assert.InRange(image.Pixels[i], Math.Round(expected) - 1, Math.Round(expected) + 1);
        }
    }

    [Fact]
    public void Decode_LowBitDepthGray_ScalesTo255()
    {
        byte[] oneBit = Build(Header(10, 1, 1, 0), [0, 0b1010_0000, 0b0100_0000]);
        Assert.Equal(new byte[] { 255, 0, 255, 0, 0, 0, 0, 0, 0, 255 }, Gray(oneBit, 10, 1));
        byte[] twoBit = Build(Header(4, 1, 2, 0), [0, 0b00_01_10_11]);
        Assert.Equal(new byte[] { 0, 85, 170, 255 }, Gray(twoBit, 4, 1));
        byte[] fourBit = Build(Header(4, 1, 4, 0), Filter([0x0F, 0x8F], 2, 1, 1));
        Assert.Equal(new byte[] { 0, 255, 136, 255 }, Gray(fourBit, 4, 1));
    }

    [Fact]
    public void Decode_SixteenBitAndPaletteWithTransparency()
    {
        byte[] gray16 = Build(Header(3, 1, 16, 0), [0, 0x00, 0x00, 0x80, 0x00, 0xFF, 0xFF]);
        Assert.Equal(new byte[] { 0, 128, 255 }, Gray(gray16, 3, 1));
        // RGBA 16-bit: white at half alpha composites on black to 128.
        byte[] rgba16 = Build(Header(1, 1, 16, 6), [0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x00]);
        Assert.InRange(Gray(rgba16, 1, 1)[0], 127, 129);
        byte[] png = Build(Header(3, 1, 8, 3), [0, 0, 1, 2], ("PLTE", [0, 0, 0, 255, 255, 255, 255, 0, 0]), ("tRNS", [255, 255, 0]));
        Assert.Equal(new byte[] { 0, 255, 0 }, Gray(png, 3, 1));
        byte[] ancillary = Build(Header(2, 1, 8, 0), [0, 9, 99], ("tEXt", "Comment\0hello"u8.ToArray()));
        Assert.Equal(new byte[] { 9, 99 }, Gray(ancillary, 2, 1));
    }

    /// <summary>Adam7 interlacing written out from the PNG spec: seven passes of sub-images, each row with filter 0.</summary>
    private static byte[] Interlace(byte[] gray, int width, int height)
    {
        (int X0, int Y0, int Dx, int Dy)[] passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];
        var output = new List<byte>();
        foreach (var (x0, y0, dx, dy) in passes)
            for (int y = y0; y < height; y += dy)
            {
                if (x0 >= width) continue;
                output.Add(0);
                for (int x = x0; x < width; x += dx) output.Add(gray[y * width + x]);
            }
        return [.. output];
    }

    [Fact]
    public void Decode_InterlacedPng()
    {
        byte[] pixels = Ramp(28 * 28, 11);
        byte[] png = Build(Header(28, 28, 8, 0, interlace: 1), Interlace(pixels, 28, 28));
        Assert.Equal(pixels, Gray(png, 28, 28));
    }

    private static byte[] Rgba(byte[] gray)
    {
        var rgba = new byte[gray.Length * 4];
        for (int i = 0; i < gray.Length; i++) { rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = gray[i]; rgba[4 * i + 3] = 255; }
        return rgba;
    }

    /// <summary>A 24-bit bottom-up BMP written out from the format (SkiaSharp has no BMP encoder).</summary>
    private static byte[] Bmp(byte[] gray, int width, int height)
    {
        int row = (width * 3 + 3) / 4 * 4;
        var file = new byte[54 + row * height];
        "BM"u8.CopyTo(file);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(2), file.Length);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(file.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(file.AsSpan(28), 24);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                file.AsSpan(54 + (height - 1 - y) * row + 3 * x, 3).Fill(gray[y * width + x]);
        return file;
    }

    [Fact]
    public void Decode_JpegBmpAndWebp()
    {
        // A smooth digit-like image: lossy formats keep it within a few levels.
        byte[] pixels = [.. Enumerable.Range(0, 784).Select(i => (byte)(Math.Abs(i % 28 - 14) < 5 ? 230 : 10))];
        Assert.Equal(pixels, ImageFiles.Decode(Bmp(pixels, 28, 28), "d.bmp", 28, 28).Pixels);
        foreach (var format in new[] { SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Webp })
        {
            byte[] file = ImageFiles.EncodeRgba(Rgba(pixels), 28, 28, format, 100);
            Assert.True(ImageFiles.HasImageSignature(file), $"{format} signature");
            byte[] decoded = ImageFiles.Decode(file, "d." + format, 28, 28).Pixels;
            Assert.True(decoded.Zip(pixels).Max(p => Math.Abs(p.First - p.Second)) <= 24, $"{format} decodes far from the original");
        }
    }

    [Fact]
    public void AlphaRule_CompositesOnBlack_AndOnWhiteThenInvertsWithInvert()
    {
        // Ink in the left column only, the rest transparent.
        byte[] Ink(byte value)
        {
            var rgba = new byte[4 * 28 * 28];
            for (int i = 0; i < 784; i++)
                if (i % 28 < 3) { rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = value; rgba[4 * i + 3] = 255; }
            return ImageFiles.EncodeRgba(rgba, 28, 28, SKEncodedImageFormat.Png, 100);
        }
        GrayImage white = ImageFiles.Decode(Ink(255), "white.png", 28, 28);
        Assert.Equal(255, white.Pixels[0]);
        Assert.Equal(0, white.Pixels[5]);
        Assert.False(white.InkInAlphaOnly);

        GrayImage black = ImageFiles.Decode(Ink(0), "black.png", 28, 28);
        Assert.All(black.Pixels, p => Assert.Equal(0, p)); // the digit vanishes on black ...
        Assert.True(black.InkInAlphaOnly);                 // ... and that is reported
        GrayImage inverted = ImageFiles.Decode(Ink(0), "black.png", 28, 28, invert: true);
        Assert.Equal(255, inverted.Pixels[0]);
        Assert.Equal(0, inverted.Pixels[5]);
        Assert.False(inverted.InkInAlphaOnly);
    }

    [Fact]
    public void DeclaredSize_IsCheckedBeforeAnythingIsDecoded()
    {
        // A 1 MB file whose header claims 11585x11585 (134 million pixels, 1.2 GB of floats).
        byte[] header = Build(Header(11585, 11585, 8, 0), new byte[16]);
        byte[] file = [.. header, .. new byte[1 << 20]];
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DataFormatException>(() => ImageFiles.Decode(file, "huge.png", 28, 28));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("huge.png: image is 11585x11585, expected 28x28 (an MNIST digit); resize it first", e.Message);
        Assert.True(allocated < 4 << 20, $"allocated {allocated} bytes");
    }

    private static string DecodeError(byte[] file) =>
        Assert.Throws<DataFormatException>(() => ImageFiles.Decode(file, "digit.png", 2, 2)).Message;

    private static byte[] Valid() => Build(Header(2, 2, 8, 0), [0, 1, 2, 0, 3, 4]);

    [Fact]
    public void BadFiles()
    {
        Assert.Equal("digit.png: not a PNG, JPEG, BMP, WebP or GIF image", DecodeError("this is not an image at all"u8.ToArray()));
        Assert.Equal("digit.png: file is empty; expected a PNG, JPEG, BMP, WebP or GIF image", DecodeError([]));
        Assert.Contains("truncated", DecodeError(Valid()[..40]));
        var chunks = ParseChunks(Valid());
        Assert.Contains("truncated", DecodeError(Valid()[..(chunks.First(c => c.Type == "IDAT").Offset + 9)]));
        Assert.Equal("digit.png: image is 3x2, expected 2x2 (an MNIST digit); resize it first", DecodeError(Build(Header(3, 2, 8, 0), [0, 1, 2, 3, 0, 3, 4, 5])));
    }

    [Fact]
    public void Signatures()
    {
        Assert.True(ImageFiles.HasImageSignature(Valid()));
        Assert.True(ImageFiles.HasImageSignature([0xFF, 0xD8, 0xFF, 0xE0]));
        Assert.True(ImageFiles.HasImageSignature("RIFF\0\0\0\0WEBPVP8 "u8));
        Assert.True(ImageFiles.HasImageSignature("GIF89a"u8));
        Assert.False(ImageFiles.HasImageSignature("0,0,0,0"u8));
        Assert.False(ImageFiles.HasImageSignature([0, 0, 8, 3]));
        Assert.True(ImageFiles.HasImageExtension("a/B.JPEG"));
        Assert.False(ImageFiles.HasImageExtension("digits.csv"));
    }
}
