// Image files of any size to planar bytes of one or three channels, through SkiaSharp: decoded to RGBA once, resized
// when asked (SkiaSharp's linear filter with linear mipmaps, so a large image shrinks without aliasing; the aspect ratio
// is not kept: the target is exactly H x W), composited on black by their alpha (or, inverted, on white and then
// inverted), and stored channel by channel. One channel is ITU-R BT.601 luma, as ImageFiles.Decode computes it.
using System.Runtime.InteropServices;
using SkiaSharp;

namespace AeMnist.Imaging;

/// <summary>A decoded image: RGBA bytes (unpremultiplied, row-major) and its size.</summary>
public sealed record RgbaImage(byte[] Rgba, int Width, int Height)
{
    /// <summary>The file holds several frames (an animated GIF or WebP), of which only the first was decoded.</summary>
    public bool Animated { get; init; }

    /// <summary>True when every pixel's red, green and blue are equal (a gray image, whatever its file's colour type).</summary>
    public bool IsGray
    {
        get
        {
            for (int i = 0; i < Width * Height; i++)
                if (Rgba[4 * i] != Rgba[4 * i + 1] || Rgba[4 * i] != Rgba[4 * i + 2]) return false;
            return true;
        }
    }
}

public static class ImageDecoder
{
    /// <summary>The largest image decoded: 8192 pixels a side, 64 megapixels.</summary>
    public const int MaxSide = 8192;

    private const long MaxPixels = 64L << 20;

    /// <summary>
    /// Decodes <paramref name="bytes"/> (PNG, JPEG, BMP, WebP, GIF: its first frame, see <see cref="RgbaImage.Animated"/>) to RGBA at the file's own size. The
    /// header's size is checked (at most <see cref="MaxSide"/> a side) before anything is decoded.
    /// </summary>
    /// <exception cref="DataFormatException">Not an image of a known format, too large, or truncated or corrupt data; the message starts with <paramref name="name"/>.</exception>
    public static RgbaImage Decode(byte[] bytes, string name)
    {
        if (bytes.Length == 0) throw new DataFormatException($"{name}: file is empty; expected a {ImageFiles.Formats} image");
        var stream = new SKMemoryStream(bytes);
        using SKCodec? codec = SKCodec.Create(stream, out SKCodecResult created);
        if (codec is null)
        {
            stream.Dispose();
            throw new DataFormatException($"{name}: {(created == SKCodecResult.IncompleteInput ? "the file is truncated" : $"not a {ImageFiles.Formats} image")}");
        }
        SKImageInfo declared = codec.Info;
        if (declared.Width < 1 || declared.Height < 1 || declared.Width > MaxSide || declared.Height > MaxSide || (long)declared.Width * declared.Height > MaxPixels)
            throw new DataFormatException($"{name}: image is {declared.Width}x{declared.Height}; aemnist reads images of at most {MaxSide}x{MaxSide} ({MaxPixels >> 20} megapixels)");
        var info = new SKImageInfo(declared.Width, declared.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[declared.Width * declared.Height * 4];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        SKCodecResult result;
        try { result = codec.GetPixels(info, handle.AddrOfPinnedObject()); }
        finally { handle.Free(); }
        if (result == SKCodecResult.IncompleteInput) throw new DataFormatException($"{name}: the image data is truncated");
        if (result != SKCodecResult.Success) throw new DataFormatException($"{name}: the {codec.EncodedFormat} data cannot be decoded ({result})");
        return new RgbaImage(rgba, declared.Width, declared.Height) { Animated = codec.FrameCount > 1 };
    }

    /// <summary><paramref name="image"/> resized to exactly <paramref name="width"/> x <paramref name="height"/> (itself when it already is).</summary>
    public static RgbaImage Resize(RgbaImage image, int width, int height)
    {
        if (image.Width == width && image.Height == height) return image;
        var from = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var source = new SKBitmap(from);
        Marshal.Copy(image.Rgba, 0, source.GetPixels(), image.Rgba.Length);
        var to = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var target = new SKBitmap(to);
        if (!source.ScalePixels(target, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)))
            throw new InvalidOperationException($"SkiaSharp could not resize a {image.Width}x{image.Height} image to {width}x{height}.");
        var rgba = new byte[width * height * 4];
        Marshal.Copy(target.GetPixels(), rgba, 0, rgba.Length);
        return new RgbaImage(rgba, width, height);
    }

    /// <summary>
    /// The image as planar bytes of <paramref name="channels"/> (1: luma; 3: red, green, blue), composited on black by its
    /// alpha; with <paramref name="invert"/>, composited on white and then inverted (255 - v), which turns dark ink on a
    /// white or transparent background into light ink on black.
    /// </summary>
    public static void ToPlanar(RgbaImage image, int channels, bool invert, Span<byte> destination)
    {
        int plane = image.Width * image.Height;
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Images have 1 or 3 channels.");
        if (destination.Length != channels * plane) throw new ArgumentException($"destination has {destination.Length} bytes, expected {channels} x {plane}.", nameof(destination));
        byte[] rgba = image.Rgba;
        for (int i = 0; i < plane; i++)
        {
            int a = rgba[4 * i + 3];
            if (channels == 1)
            {
                destination[i] = Composite(Luma(rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]), a, invert);
            }
            else
            {
                for (int c = 0; c < 3; c++) destination[c * plane + i] = Composite(rgba[4 * i + c], a, invert);
            }
        }
    }

    /// <summary>ITU-R BT.601 luma, 0.299 R + 0.587 G + 0.114 B; exactly the value of a gray pixel (R = G = B).</summary>
    public static double Luma(byte r, byte g, byte b) => r == g && g == b ? r : 0.299 * r + 0.587 * g + 0.114 * b;

    private static byte Composite(double value, int alpha, bool invert)
    {
        double onBlack = value * alpha / 255;
        double v = invert ? 255 - (onBlack + 255.0 * (255 - alpha) / 255) : onBlack;
        return (byte)Math.Clamp(Math.Round(v), 0, 255);
    }
}
