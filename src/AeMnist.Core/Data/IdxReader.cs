// Reads MNIST's IDX files (raw or gzip-compressed, detected by magic bytes) into float32 images in
// [0, 1] and byte labels. Validates every header field against the bytes actually present and never
// allocates from a header's claim alone.
using System.Buffers.Binary;

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

    /// <summary>True when the file starts like an IDX file (raw) or a gzip stream (which IDX files often are).</summary>
    public static bool LooksLikeIdx(string path)
    {
        Span<byte> head = stackalloc byte[4];
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            int n = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
            return (n >= 2 && head[0] == 0x1F && head[1] == 0x8B) || (n == 4 && BinaryPrimitives.ReadInt32BigEndian(head) is ImagesMagic or LabelsMagic);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{path}: cannot read file ({IO.FileErrors.Reason(e)})", e);
        }
    }

    /// <summary>Reads an IDX3 image file: pixel bytes become pixel / 255, as torchvision's ToTensor does.</summary>
    public static ImageSet ReadImages(string path, ReadBudget? budget = null)
    {
        var (bytes, length) = ReadFileBytes(path, budget);
        return ParseImages(bytes, length, Path.GetFileName(path));
    }

    /// <summary>Reads an IDX1 label file: one class number 0-255 per image.</summary>
    public static byte[] ReadLabels(string path)
    {
        var (bytes, length) = ReadFileBytes(path);
        return ParseLabels(bytes, length, Path.GetFileName(path));
    }

    internal static ImageSet ParseImages(byte[] bytes, string name) => ParseImages(bytes, bytes.Length, name);

    /// <summary>Images from a file's first <paramref name="length"/> bytes (<paramref name="bytes"/> may hold only the header when the header does not match the length).</summary>
    internal static ImageSet ParseImages(byte[] bytes, long length, string name)
    {
        IdxImageHeader header = ParseImageHeader(bytes, length, name);
        var pixels = new float[(long)header.Count * header.Rows * header.Cols];
        ToFloats(bytes.AsSpan(16, pixels.Length), pixels);
        return new ImageSet(pixels, header.Count, header.Rows, header.Cols);
    }

    /// <summary>Validates an image file's header against its length; pixels start at byte 16.</summary>
    internal static IdxImageHeader ParseImageHeader(byte[] bytes, long length, string name)
    {
        CheckMagic(bytes, length, name, ImagesMagic, 3, "image");
        if (length < 16 || bytes.Length < 16)
            throw new DataFormatException($"{name}: truncated header ({length} bytes, an IDX image header needs 16)");
        long count = ReadDim(bytes, 4, name, "image count");
        long rows = ReadDim(bytes, 8, name, "row count");
        long cols = ReadDim(bytes, 12, name, "column count");
        if (rows == 0 || cols == 0)
            throw new DataFormatException($"{name}: images of {rows}x{cols} pixels have no pixels");
        // Three 31-bit dimensions can multiply past 64 bits (2^30 x 2^30 x 16 wraps to 0), so count in 128.
        Int128 expected = 16 + (Int128)count * rows * cols;
        if (expected != length)
            throw new DataFormatException(
                $"{name}: header says {count} images of {rows}x{cols} ({expected} bytes), but the file has {length} bytes; the file is truncated or corrupt");
        if (bytes.Length < length) throw new DataFormatException($"{name}: the file changed while it was read");
        return new IdxImageHeader((int)count, (int)rows, (int)cols);
    }

    /// <summary>pixel / 255 for each byte: a true division, so the floats equal torch's img.float().div(255).</summary>
    internal static void ToFloats(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = source[i] / 255f;
    }

    internal static byte[] ParseLabels(byte[] bytes, string name) => ParseLabels(bytes, bytes.Length, name);

    internal static byte[] ParseLabels(byte[] bytes, long length, string name)
    {
        CheckMagic(bytes, length, name, LabelsMagic, 1, "label");
        if (length < 8 || bytes.Length < 8)
            throw new DataFormatException($"{name}: truncated header ({length} bytes, an IDX label header needs 8)");
        long count = ReadDim(bytes, 4, name, "label count");
        if (8 + count != length)
            throw new DataFormatException(
                $"{name}: header says {count} labels ({8 + count} bytes), but the file has {length} bytes; the file is truncated or corrupt");
        if (bytes.Length < length) throw new DataFormatException($"{name}: the file changed while it was read");
        // Any byte is a class: MNIST's labels are 0-9, EMNIST's letters 1-26, another set's up to 255.
        return bytes.AsSpan(8, (int)count).ToArray();
    }

    private static void CheckMagic(byte[] bytes, long length, string name, int magic, int dims, string kind)
    {
        if (length == 0) throw new DataFormatException($"{name}: file is empty");
        if (length < 4 || bytes.Length < 4)
            throw new DataFormatException($"{name}: truncated header ({length} bytes)");
        int found = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (found == magic) return;
        if ((found & ~0xFF) == (magic & ~0xFF) && (found & 0xFF) != dims)
            throw new DataFormatException(
                $"{name}: IDX file has {found & 0xFF} dimensions, expected {dims} for {(kind == "image" ? "an" : "a")} {kind} file");
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

    /// <summary>
    /// Reads a file whole, inflating it if it starts with the gzip magic (1F 8B). Returns a buffer and the file's
    /// length (see <see cref="IdxFile"/>: the buffer holds only the header when the header does not fit the length).
    /// </summary>
    internal static (byte[] Bytes, long Length) ReadFileBytes(string path, ReadBudget? budget = null)
    {
        using IdxFile file = IdxFile.Open(path);
        file.Reserve(budget ?? new ReadBudget(MaxDecompressedBytes));
        return file.ReadAll();
    }

    /// <summary>A file's bytes as read, or inflated if they start with the gzip magic (1F 8B); <paramref name="name"/> starts error messages.</summary>
    internal static (byte[] Bytes, long Length) Inflate(byte[] raw, string name, ReadBudget? budget = null)
    {
        using IdxFile file = IdxFile.Open(new MemoryStream(raw), raw.Length, name);
        file.Reserve(budget ?? new ReadBudget(MaxDecompressedBytes));
        return file.ReadAll();
    }
}

/// <summary>An IDX image file's validated header.</summary>
internal readonly record struct IdxImageHeader(int Count, int Rows, int Cols);
