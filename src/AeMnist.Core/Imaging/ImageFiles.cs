// Image files in, through SkiaSharp (the library ScottPlot draws with): PNG of every kind (any colour type and bit
// depth, palette, 16-bit, interlaced), JPEG, BMP, WebP and GIF, decoded to 8-bit gray by one rule. The declared size
// is read from the header and checked before a single pixel is decoded, so a small file claiming a huge image
// costs nothing.
using System.Runtime.InteropServices;
using SkiaSharp;

namespace AeMnist.Imaging;

/// <summary>
/// A decoded image as 8-bit gray, row-major. <see cref="HasAlpha"/>: the file has transparency.
/// <see cref="InkInAlphaOnly"/>: composited on black the image is (nearly) blank although its alpha channel draws a
/// shape — dark ink on a transparent background, which needs --invert.
/// </summary>
public sealed record GrayImage(byte[] Pixels, int Width, int Height, bool HasAlpha, bool InkInAlphaOnly)
{
    /// <summary>The file holds several frames (an animated GIF or WebP), of which only the first was decoded.</summary>
    public bool Animated { get; init; }
}

public static class ImageFiles
{
    /// <summary>The formats <see cref="Decode"/> reads, for messages.</summary>
    public const string Formats = "PNG, JPEG, BMP, WebP or GIF";

    /// <summary>File extensions taken as images (in a directory of inputs), lowercase, with the dot.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"];

    /// <summary>The largest image file read, in bytes: a 28x28 digit needs a few kilobytes in any format.</summary>
    public const int MaxFileBytes = 64 << 20;

    /// <summary>True when the first bytes are those of a PNG, JPEG, BMP, WebP or GIF file.</summary>
    public static bool HasImageSignature(ReadOnlySpan<byte> head) =>
        head.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        || head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])
        || head.StartsWith("BM"u8)
        || head.StartsWith("GIF8"u8)
        || (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8));

    /// <summary>True when the name ends in one of <see cref="Extensions"/>.</summary>
    public static bool HasImageExtension(string path) =>
        Extensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Decodes <paramref name="bytes"/> to gray by the alpha rule: luma = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601)
    /// composited on black with the pixel's alpha (transparent reads as 0, MNIST's background), or, with
    /// <paramref name="invert"/>, composited on white and then inverted (255 - v), which turns dark ink on a white
    /// or transparent background into MNIST's light ink on black. The header's size must be
    /// <paramref name="width"/> x <paramref name="height"/>; it is checked before anything is decoded.
    /// </summary>
    /// <exception cref="DataFormatException">Not an image of a known format, the wrong size, or truncated or corrupt data; the message starts with <paramref name="name"/>.</exception>
    public static GrayImage Decode(byte[] bytes, string name, int width, int height, bool invert = false)
    {
        if (bytes.Length == 0) throw new DataFormatException($"{name}: file is empty; expected a {Formats} image");
        // The codec owns the stream it is given; only the header is parsed here.
        var stream = new SKMemoryStream(bytes);
        using SKCodec? codec = SKCodec.Create(stream, out SKCodecResult created);
        if (codec is null)
        {
            stream.Dispose();
            string why = created == SKCodecResult.IncompleteInput ? "the file is truncated" : $"not a {Formats} image";
            throw new DataFormatException($"{name}: {why}");
        }
        SKImageInfo declared = codec.Info;
        if (declared.Width != width || declared.Height != height)
            throw new DataFormatException($"{name}: image is {declared.Width}x{declared.Height}, expected {width}x{height} (an MNIST digit); resize it first");
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[width * height * 4];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        SKCodecResult result;
        try { result = codec.GetPixels(info, handle.AddrOfPinnedObject()); }
        finally { handle.Free(); }
        if (result == SKCodecResult.IncompleteInput)
            throw new DataFormatException($"{name}: the image data is truncated");
        if (result != SKCodecResult.Success)
            throw new DataFormatException($"{name}: the {codec.EncodedFormat} data cannot be decoded ({result})");

        bool hasAlpha = declared.AlphaType != SKAlphaType.Opaque;
        var gray = new byte[width * height];
        int alphaMin = 255, alphaMax = 0, blackMax = 0;
        for (int i = 0; i < gray.Length; i++)
        {
            double luma = ImageDecoder.Luma(rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]);
            int a = rgba[4 * i + 3];
            double onBlack = luma * a / 255;
            double v = invert ? 255 - (onBlack + 255.0 * (255 - a) / 255) : onBlack;
            gray[i] = (byte)Math.Clamp(Math.Round(v), 0, 255);
            alphaMin = Math.Min(alphaMin, a);
            alphaMax = Math.Max(alphaMax, a);
            blackMax = Math.Max(blackMax, (int)Math.Round(onBlack));
        }
        bool inkInAlpha = hasAlpha && !invert && blackMax <= 25 && alphaMax - alphaMin >= 128;
        return new GrayImage(gray, width, height, hasAlpha, inkInAlpha) { Animated = codec.FrameCount > 1 };
    }

    /// <summary>Encodes 8-bit gray pixels (row-major) as a PNG, e.g. for tests and example inputs.</summary>
    public static byte[] EncodeGrayPng(ReadOnlySpan<byte> pixels, int width, int height)
    {
        if (pixels.Length != width * height) throw new ArgumentException($"pixels has {pixels.Length} bytes, expected {width}x{height}.", nameof(pixels));
        var rgba = new byte[pixels.Length * 4];
        for (int i = 0; i < pixels.Length; i++) { rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = pixels[i]; rgba[4 * i + 3] = 255; }
        return EncodeRgba(rgba, width, height, SKEncodedImageFormat.Png, 100);
    }

    /// <summary>Encodes RGBA pixels (unpremultiplied, row-major) as PNG, JPEG, WebP, ... through SkiaSharp.</summary>
    public static byte[] EncodeRgba(byte[] rgba, int width, int height, SKEncodedImageFormat format, int quality)
    {
        if (rgba.Length != width * height * 4) throw new ArgumentException($"rgba has {rgba.Length} bytes, expected {width}x{height}x4.", nameof(rgba));
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using SKData encoded = bitmap.Encode(format, quality) ?? throw new InvalidOperationException($"SkiaSharp cannot encode {format}.");
        return encoded.ToArray();
    }
}
