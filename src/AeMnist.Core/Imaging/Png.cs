// PNG writer and reader on the framework's zlib, enough of the format for digits and report images.
// Writes 8-bit gray or RGB. Reads every non-interlaced PNG (all colour types and bit depths) into 8-bit gray.
using System.Buffers.Binary;
using System.IO.Compression;

namespace AeMnist.Imaging;

/// <summary>
/// Encodes and decodes PNG images. Decoding converts any colour type to 8-bit gray: RGB through
/// ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B), and alpha composited on black (a fully
/// transparent pixel reads as 0, the background of an MNIST digit). 16-bit samples are scaled to 8 bits,
/// 1/2/4-bit gray is scaled to 0..255. A tRNS chunk is honoured for palette images and ignored otherwise.
/// Interlaced images are refused with a clear message.
/// </summary>
public static class Png
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The largest image <see cref="Decode"/> accepts, in pixels; protects against absurd headers.</summary>
    public const long MaxPixels = 1L << 27;

    /// <summary>Encodes row-major 8-bit gray pixels (<paramref name="width"/> × <paramref name="height"/> bytes).</summary>
    public static byte[] EncodeGray8(ReadOnlySpan<byte> pixels, int width, int height) =>
        Encode(pixels, width, height, channels: 1, colourType: 0);

    /// <summary>Encodes row-major 8-bit RGB pixels (3 bytes per pixel, R first).</summary>
    public static byte[] EncodeRgb8(ReadOnlySpan<byte> pixels, int width, int height) =>
        Encode(pixels, width, height, channels: 3, colourType: 2);

    private static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels, byte colourType)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"PNG size must be positive, got {width}x{height}.");
        long expected = (long)width * height * channels;
        if (pixels.Length != expected)
            throw new ArgumentException($"pixels has {pixels.Length} bytes, expected {expected} for {width}x{height} with {channels} channel(s).", nameof(pixels));

        int rowBytes = width * channels;
        var filtered = new byte[(long)height * (rowBytes + 1)];
        var candidate = new byte[rowBytes];
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> row = pixels.Slice(y * rowBytes, rowBytes);
            ReadOnlySpan<byte> prior = y == 0 ? default : pixels.Slice((y - 1) * rowBytes, rowBytes);
            Span<byte> dest = filtered.AsSpan(y * (rowBytes + 1), rowBytes + 1);
            ChooseFilter(row, prior, channels, dest, candidate);
        }

        var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Optimal, leaveOpen: true)) z.Write(filtered);

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;          // bit depth
        header[9] = colourType;  // compression, filter method, interlace: all 0

        var file = new MemoryStream();
        file.Write(Signature);
        WriteChunk(file, "IHDR", header);
        WriteChunk(file, "IDAT", idat.GetBuffer().AsSpan(0, (int)idat.Length));
        WriteChunk(file, "IEND", []);
        return file.ToArray();
    }

    // The usual heuristic (libpng's): the filter whose output, read as signed bytes, has the smallest sum of magnitudes.
    private static void ChooseFilter(ReadOnlySpan<byte> row, ReadOnlySpan<byte> prior, int bpp, Span<byte> dest, Span<byte> candidate)
    {
        long best = long.MaxValue;
        for (byte type = 0; type <= 4; type++)
        {
            long cost = 0;
            for (int i = 0; i < row.Length; i++)
            {
                byte a = i >= bpp ? row[i - bpp] : (byte)0;
                byte b = prior.IsEmpty ? (byte)0 : prior[i];
                byte c = i >= bpp && !prior.IsEmpty ? prior[i - bpp] : (byte)0;
                byte v = (byte)(row[i] - Predict(type, a, b, c));
                candidate[i] = v;
                cost += Math.Abs((int)(sbyte)v);
            }
            if (cost < best)
            {
                best = cost;
                dest[0] = type;
                candidate.CopyTo(dest[1..]);
            }
        }
    }

    private static void WriteChunk(Stream stream, string type, ReadOnlySpan<byte> body)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, body.Length);
        stream.Write(word);
        Span<byte> typeBytes = stackalloc byte[4];
        for (int i = 0; i < 4; i++) typeBytes[i] = (byte)type[i];
        stream.Write(typeBytes);
        stream.Write(body);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Append(Crc32.Compute(typeBytes), body));
        stream.Write(word);
    }

    // The predictor of PNG filter types 0-4 from the left (a), above (b) and upper-left (c) bytes.
    private static byte Predict(int type, byte a, byte b, byte c) => type switch
    {
        0 => 0,
        1 => a,
        2 => b,
        3 => (byte)((a + b) >> 1),
        _ => Paeth(a, b, c),
    };

    private static byte Paeth(byte a, byte b, byte c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc) return a;
        return pb <= pc ? b : c;
    }

    /// <summary>
    /// Throws <see cref="DataFormatException"/> ("digit.png: 32x32 image, expected 28x28") unless the
    /// image has the expected size.
    /// </summary>
    public static void RequireSize(string displayName, int width, int height, int expectedWidth, int expectedHeight)
    {
        if (width != expectedWidth || height != expectedHeight)
            throw new DataFormatException($"{displayName}: {width}x{height} image, expected {expectedWidth}x{expectedHeight}");
    }

    /// <summary>
    /// Decodes a PNG file into row-major 8-bit gray pixels (see the class summary for the colour rules).
    /// Throws <see cref="DataFormatException"/> whose one-line message starts with <paramref name="displayName"/>.
    /// </summary>
    public static (byte[] Gray, int Width, int Height) Decode(ReadOnlySpan<byte> data, string displayName)
    {
        DataFormatException Fail(string problem) => new($"{displayName}: {problem}");

        if (data.Length < Signature.Length || !data[..Signature.Length].SequenceEqual(Signature))
            throw Fail("not a PNG file (bad signature)");

        Header? header = null;
        byte[]? palette = null, paletteAlpha = null;
        var idat = new MemoryStream();
        bool ended = false;
        int pos = Signature.Length;
        while (!ended)
        {
            if (data.Length - pos < 8) throw Fail("truncated file (no IEND chunk)");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[pos..]);
            ReadOnlySpan<byte> typeBytes = data.Slice(pos + 4, 4);
            foreach (byte t in typeBytes)
                if (!char.IsAsciiLetter((char)t)) throw Fail("corrupt chunk header (chunk type is not 4 letters)");
            string type = System.Text.Encoding.ASCII.GetString(typeBytes);
            if (length > int.MaxValue || data.Length - pos - 12 < length) throw Fail($"truncated file (in {type} chunk)");
            ReadOnlySpan<byte> body = data.Slice(pos + 8, (int)length);
            uint storedCrc = BinaryPrimitives.ReadUInt32BigEndian(data[(pos + 8 + (int)length)..]);
            if (Crc32.Compute(data.Slice(pos + 4, 4 + (int)length)) != storedCrc) throw Fail($"CRC mismatch in {type} chunk");
            pos += 12 + (int)length;

            if (header is null && type != "IHDR") throw Fail($"first chunk is {type}, expected IHDR");
            switch (type)
            {
                case "IHDR":
                    if (header is not null) throw Fail("more than one IHDR chunk");
                    header = ReadHeader(body, Fail);
                    break;
                case "PLTE":
                    if (length % 3 != 0 || length == 0 || length > 768) throw Fail($"PLTE chunk of {length} bytes (must be 3 to 768, a multiple of 3)");
                    palette = body.ToArray();
                    break;
                case "tRNS":
                    paletteAlpha = body.ToArray();
                    break;
                case "IDAT":
                    idat.Write(body);
                    break;
                case "IEND":
                    ended = true;
                    break;
                default:
                    // Ancillary chunks (lowercase first letter) may be skipped; critical ones may not.
                    if (char.IsAsciiLetterUpper(type[0])) throw Fail($"unsupported critical chunk {type}");
                    break;
            }
        }

        Header h = header!;
        if (h.ColourType == 3 && palette is null) throw Fail("palette image without a PLTE chunk");
        if (idat.Length == 0) throw Fail("no image data (IDAT chunk missing)");

        int bitsPerPixel = h.Channels * h.BitDepth;
        int bpp = Math.Max(1, bitsPerPixel / 8);
        int rowBytes = (int)(((long)h.Width * bitsPerPixel + 7) / 8);
        var raw = new byte[(long)h.Height * (rowBytes + 1)];
        int read;
        try
        {
            idat.Position = 0;
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            read = z.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException)
        {
            throw Fail("corrupt compressed image data");
        }
        if (read < raw.Length) throw Fail($"image data too short ({read} of {raw.Length} bytes)");

        Unfilter(raw, h.Height, rowBytes, bpp, Fail);
        return (ToGray(raw, h, rowBytes, palette, paletteAlpha, Fail), h.Width, h.Height);
    }

    private sealed record Header(int Width, int Height, int BitDepth, int ColourType, int Channels);

    private static Header ReadHeader(ReadOnlySpan<byte> body, Func<string, DataFormatException> fail)
    {
        if (body.Length != 13) throw fail($"IHDR chunk of {body.Length} bytes, expected 13");
        uint width = BinaryPrimitives.ReadUInt32BigEndian(body);
        uint height = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
        int bitDepth = body[8], colourType = body[9];
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
            throw fail($"invalid image size {width}x{height}");
        if ((long)width * height > MaxPixels) throw fail($"image too large ({width}x{height})");
        int[] depths = colourType switch
        {
            0 => [1, 2, 4, 8, 16],
            3 => [1, 2, 4, 8],
            2 or 4 or 6 => [8, 16],
            _ => throw fail($"unknown colour type {colourType}"),
        };
        if (Array.IndexOf(depths, bitDepth) < 0) throw fail($"bit depth {bitDepth} is not allowed with colour type {colourType}");
        if (body[10] != 0) throw fail($"unknown compression method {body[10]}");
        if (body[11] != 0) throw fail($"unknown filter method {body[11]}");
        if (body[12] == 1) throw fail("interlaced PNG is not supported (save it without interlacing)");
        if (body[12] != 0) throw fail($"unknown interlace method {body[12]}");
        int channels = colourType switch { 2 => 3, 4 => 2, 6 => 4, _ => 1 };
        return new Header((int)width, (int)height, bitDepth, colourType, channels);
    }

    // Undoes the per-row filters in place; each row keeps its leading filter-type byte.
    private static void Unfilter(byte[] raw, int height, int rowBytes, int bpp, Func<string, DataFormatException> fail)
    {
        int stride = rowBytes + 1;
        for (int y = 0; y < height; y++)
        {
            int start = y * stride;
            int type = raw[start];
            if (type > 4) throw fail($"bad filter type {type} in row {y}");
            Span<byte> row = raw.AsSpan(start + 1, rowBytes);
            ReadOnlySpan<byte> prior = y == 0 ? default : raw.AsSpan(start - stride + 1, rowBytes);
            if (type == 0) continue;
            for (int i = 0; i < rowBytes; i++)
            {
                byte a = i >= bpp ? row[i - bpp] : (byte)0;
                byte b = prior.IsEmpty ? (byte)0 : prior[i];
                byte c = i >= bpp && !prior.IsEmpty ? prior[i - bpp] : (byte)0;
                row[i] = (byte)(row[i] + Predict(type, a, b, c));
            }
        }
    }

    private static byte[] ToGray(byte[] raw, Header h, int rowBytes, byte[]? palette, byte[]? paletteAlpha,
        Func<string, DataFormatException> fail)
    {
        var gray = new byte[(long)h.Width * h.Height];
        int stride = rowBytes + 1;
        if (h.ColourType == 0 && h.BitDepth == 8)
        {
            for (int y = 0; y < h.Height; y++) raw.AsSpan(y * stride + 1, h.Width).CopyTo(gray.AsSpan(y * h.Width));
            return gray;
        }

        double max = (1 << h.BitDepth) - 1;
        Span<int> s = stackalloc int[4];
        for (int y = 0; y < h.Height; y++)
        {
            ReadOnlySpan<byte> row = raw.AsSpan(y * stride + 1, rowBytes);
            for (int x = 0; x < h.Width; x++)
            {
                for (int k = 0; k < h.Channels; k++) s[k] = Sample(row, x * h.Channels + k, h.BitDepth);
                double value; // in [0, 1]
                switch (h.ColourType)
                {
                    case 0: value = s[0] / max; break;
                    case 2: value = Luma(s[0], s[1], s[2]) / max; break;
                    case 4: value = s[0] / max * (s[1] / max); break;
                    case 6: value = Luma(s[0], s[1], s[2]) / max * (s[3] / max); break;
                    default:
                        int index = s[0];
                        if (index * 3 >= palette!.Length) throw fail($"palette index {index} out of range in row {y}");
                        double alpha = paletteAlpha is not null && index < paletteAlpha.Length ? paletteAlpha[index] / 255.0 : 1.0;
                        value = Luma(palette[3 * index], palette[3 * index + 1], palette[3 * index + 2]) / 255.0 * alpha;
                        break;
                }
                gray[(long)y * h.Width + x] = (byte)Math.Round(value * 255.0);
            }
        }
        return gray;
    }

    private static double Luma(int r, int g, int b) => 0.299 * r + 0.587 * g + 0.114 * b;

    // The index-th sample of a row, samples packed big-endian (most significant bits first below 8 bits).
    private static int Sample(ReadOnlySpan<byte> row, int index, int bitDepth)
    {
        switch (bitDepth)
        {
            case 8: return row[index];
            case 16: return (row[2 * index] << 8) | row[2 * index + 1];
            default:
                int bit = index * bitDepth;
                int shift = 8 - bitDepth - (bit & 7);
                return (row[bit >> 3] >> shift) & ((1 << bitDepth) - 1);
        }
    }
}
