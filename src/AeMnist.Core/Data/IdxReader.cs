// Reads MNIST's IDX files (raw or gzip-compressed, detected by magic bytes) into float32 images in
// [0, 1] and byte labels. Validates every header field against the bytes actually present and never
// allocates from a header's claim alone.
using System.Buffers.Binary;
using System.IO.Compression;

namespace AeMnist.Data;

/// <summary>Images as one flat row-major buffer: image i is <c>Pixels[i*Rows*Cols .. (i+1)*Rows*Cols)</c>.</summary>
public sealed record ImageSet(float[] Pixels, int Count, int Rows, int Cols)
{
    public int PixelsPerImage => Rows * Cols;

    public ReadOnlySpan<float> Image(int index) => Pixels.AsSpan(index * PixelsPerImage, PixelsPerImage);
}

public static class IdxReader
{
    public const int ImagesMagic = 0x00000803;
    public const int LabelsMagic = 0x00000801;

    /// <summary>Largest decompressed file accepted: MNIST's training images are 47 MB; 1 GiB leaves room.</summary>
    public const long MaxDecompressedBytes = 1L << 30;

    /// <summary>Reads an IDX3 image file: pixel bytes become pixel / 255, as torchvision's ToTensor does.</summary>
    public static ImageSet ReadImages(string path)
    {
        byte[] bytes = ReadFileBytes(path);
        string name = Path.GetFileName(path);
        return ParseImages(bytes, name);
    }

    /// <summary>Reads an IDX1 label file; every label must be a digit 0-9.</summary>
    public static byte[] ReadLabels(string path)
    {
        byte[] bytes = ReadFileBytes(path);
        return ParseLabels(bytes, Path.GetFileName(path));
    }

    internal static ImageSet ParseImages(byte[] bytes, string name)
    {
        CheckMagic(bytes, name, ImagesMagic, 3, "image");
        if (bytes.Length < 16)
            throw new DataFormatException($"{name}: truncated header ({bytes.Length} bytes, an IDX image header needs 16)");
        long count = ReadDim(bytes, 4, name, "image count");
        long rows = ReadDim(bytes, 8, name, "row count");
        long cols = ReadDim(bytes, 12, name, "column count");
        if (rows == 0 || cols == 0)
            throw new DataFormatException($"{name}: images of {rows}x{cols} pixels have no pixels");
        long expected = 16 + count * rows * cols;
        if (expected != bytes.Length)
            throw new DataFormatException(
                $"{name}: header says {count} images of {rows}x{cols} ({expected} bytes), but the file has {bytes.Length} bytes; the file is truncated or corrupt");
        int n = (int)count, pixelsPerImage = (int)(rows * cols);
        var pixels = new float[(long)n * pixelsPerImage];
        ReadOnlySpan<byte> source = bytes.AsSpan(16);
        // A true division, not a multiply by 1/255: the float results equal torch's img.float().div(255).
        for (int i = 0; i < pixels.Length; i++) pixels[i] = source[i] / 255f;
        return new ImageSet(pixels, n, (int)rows, (int)cols);
    }

    internal static byte[] ParseLabels(byte[] bytes, string name)
    {
        CheckMagic(bytes, name, LabelsMagic, 1, "label");
        if (bytes.Length < 8)
            throw new DataFormatException($"{name}: truncated header ({bytes.Length} bytes, an IDX label header needs 8)");
        long count = ReadDim(bytes, 4, name, "label count");
        if (8 + count != bytes.Length)
            throw new DataFormatException(
                $"{name}: header says {count} labels ({8 + count} bytes), but the file has {bytes.Length} bytes; the file is truncated or corrupt");
        byte[] labels = bytes.AsSpan(8).ToArray();
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] > 9)
                throw new DataFormatException($"{name}: label {i} is {labels[i]}, expected a digit 0-9");
        return labels;
    }

    private static void CheckMagic(byte[] bytes, string name, int magic, int dims, string kind)
    {
        if (bytes.Length == 0) throw new DataFormatException($"{name}: file is empty");
        if (bytes.Length < 4)
            throw new DataFormatException($"{name}: truncated header ({bytes.Length} bytes)");
        int found = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (found == magic) return;
        if ((found & ~0xFF) == (magic & ~0xFF) && (found & 0xFF) != dims)
            throw new DataFormatException(
                $"{name}: IDX file has {found & 0xFF} dimensions, expected {dims} for an {kind} file");
        throw new DataFormatException(
            $"{name}: bad magic number 0x{found:X8}, expected 0x{magic:X8} (IDX {kind} file); is this the right file?");
    }

    private static long ReadDim(byte[] bytes, int offset, string name, string what)
    {
        uint value = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset));
        if (value > int.MaxValue)
            throw new DataFormatException($"{name}: {what} {value} in the header is impossibly large");
        return value;
    }

    /// <summary>Reads a file whole, inflating it if it starts with the gzip magic (1F 8B).</summary>
    internal static byte[] ReadFileBytes(string path)
    {
        string name = Path.GetFileName(path);
        if (!File.Exists(path))
            throw new DataFormatException($"{path}: file not found");
        byte[] raw;
        try { raw = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{path}: cannot read file ({e.Message})", e);
        }
        if (raw.Length < 2 || raw[0] != 0x1F || raw[1] != 0x8B) return raw;
        try
        {
            using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var output = new MemoryStream(raw.Length * 5);
            var buffer = new byte[81920];
            int read;
            while ((read = gzip.Read(buffer)) > 0)
            {
                if (output.Length + read > MaxDecompressedBytes)
                    throw new DataFormatException($"{name}: decompresses to more than {MaxDecompressedBytes >> 20} MiB; not an MNIST file");
                output.Write(buffer, 0, read);
            }
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException($"{name}: corrupt gzip data ({e.Message.TrimEnd('.')})", e);
        }
        catch (EndOfStreamException e)
        {
            throw new DataFormatException($"{name}: gzip data ends early; the file is truncated", e);
        }
    }
}
