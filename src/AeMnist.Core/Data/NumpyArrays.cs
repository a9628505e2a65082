// NumPy arrays in, for PyOD-style data: a .npy file (format 1.0-3.0, little-endian, C order) of uint8, float32 or
// float64, and a .npz archive (numpy.savez) of them. The header is checked against the file's length before the data is
// read, so a header cannot make this reader hold more than the file has.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace AeMnist.Data;

/// <summary>An array: its shape and its values as doubles (uint8 stays 0-255, floats as they are).</summary>
public sealed record NumpyArray(int[] Shape, double[] Values, string DType)
{
    public long Count => Values.LongLength;
}

public static partial class NumpyArrays
{
    /// <summary>The largest array read: 256 M values.</summary>
    public const long MaxValues = 256L << 20;

    /// <summary>Reads a .npy file.</summary>
    public static NumpyArray ReadNpy(string path, long maxValues = MaxValues)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            return ReadNpy(stream, stream.Length, Path.GetFileName(path), maxValues);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{path}: cannot read file ({IO.FileErrors.Reason(e)})", e);
        }
    }

    /// <summary>The arrays of a .npz archive by name ("x", "y", ...), each checked as a .npy file.</summary>
    public static IReadOnlyDictionary<string, NumpyArray> ReadNpz(string path, long maxValues = MaxValues)
    {
        try
        {
            using ZipArchive zip = ZipFile.OpenRead(path);
            var arrays = new Dictionary<string, NumpyArray>(StringComparer.Ordinal);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                if (!entry.FullName.EndsWith(".npy", StringComparison.Ordinal)) continue;
                using Stream stream = entry.Open();
                // One budget for all the arrays of the archive: what one takes, the next may not.
                NumpyArray array = ReadNpy(stream, entry.Length, $"{Path.GetFileName(path)}:{entry.FullName}", maxValues);
                maxValues -= array.Values.LongLength;
                arrays[entry.FullName[..^4]] = array;
            }
            return arrays;
        }
        catch (InvalidDataException e) { throw new DataFormatException($"{path}: not a .npz archive ({e.Message.TrimEnd('.')})", e); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DataFormatException($"{path}: cannot read file ({IO.FileErrors.Reason(e)})", e); }
    }

    private static NumpyArray ReadNpy(Stream stream, long length, string name, long maxValues)
    {
        Span<byte> start = stackalloc byte[12];
        // Exactly the 10 bytes of a version-1 preamble (a version 2 or 3 header length has 2 more): not a byte of the header.
        if (stream.ReadAtLeast(start[..10], 10, throwOnEndOfStream: false) < 10 || start[0] != 0x93 || !start[1..6].SequenceEqual("NUMPY"u8))
            throw new DataFormatException($"{name}: not a NumPy .npy array (no \\x93NUMPY magic)");
        int major = start[6];
        int headerLength, prefix;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(start[8..]); prefix = 10; }
        else if (major is 2 or 3)
        {
            if (stream.ReadAtLeast(start[10..12], 2, throwOnEndOfStream: false) < 2) throw new DataFormatException($"{name}: truncated .npy header");
            uint value = BinaryPrimitives.ReadUInt32LittleEndian(start[8..]);
            if (value > 1 << 20) throw new DataFormatException($"{name}: .npy header of {value} bytes; not a NumPy array");
            headerLength = (int)value; prefix = 12;
        }
        else throw new DataFormatException($"{name}: .npy format version {major}.{start[7]} is not 1, 2 or 3");
        byte[] headerBytes = new byte[headerLength];
        if (stream.ReadAtLeast(headerBytes, headerLength, throwOnEndOfStream: false) < headerLength) throw new DataFormatException($"{name}: truncated .npy header");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        Match descr = Descr().Match(header), order = FortranOrder().Match(header), shapeMatch = ShapeField().Match(header);
        if (!descr.Success || !order.Success || !shapeMatch.Success)
            throw new DataFormatException($"{name}: .npy header {IO.MessageText.Quote(header.Trim(), 80)} lacks descr, fortran_order or shape");
        if (order.Groups[1].Value != "False") throw new DataFormatException($"{name}: the array is in Fortran order; save it with numpy.ascontiguousarray first");
        string dtype = descr.Groups[1].Value;
        int size = dtype switch { "|u1" or "<u1" => 1, "<f4" => 4, "<f8" => 8, _ => 0 };
        if (size == 0) throw new DataFormatException($"{name}: arrays of dtype '{dtype}' are not read; save uint8 (0-255) or float32/float64 (0-1) images");
        int[] shape;
        try { shape = [.. shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(d => checked(int.Parse(d, System.Globalization.CultureInfo.InvariantCulture)))]; }
        catch (Exception e) when (e is FormatException or OverflowException) { throw new DataFormatException($"{name}: .npy shape ({shapeMatch.Groups[1].Value}) is not a list of sizes"); }
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new DataFormatException($"{name}: .npy shape has a negative size");
            // Saturating: a product of large sizes must not wrap around to a small (or negative) count.
            count = d == 0 || count == 0 ? 0 : count > long.MaxValue / 16 / d ? long.MaxValue / 16 : count * d;
        }
        if (count > maxValues)
            throw new DataFormatException(maxValues == MaxValues
                ? $"{name}: the array holds {count} values, more than the {MaxValues} aemnist reads"
                : $"{name}: the array holds {count} values, more than the {Math.Max(0, maxValues)} left of what aemnist reads from all the inputs together");
        if (length >= 0 && prefix + headerLength + count * size > length)
            throw new DataFormatException($"{name}: the header says {count} values of {size} bytes, but the file holds {Math.Max(0, length - prefix - headerLength)} bytes of data; it is truncated");
        var raw = new byte[count * size];
        if (stream.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false) < raw.Length) throw new DataFormatException($"{name}: truncated .npy data");
        var values = new double[count];
        for (long i = 0; i < count; i++)
            values[i] = size switch
            {
                1 => raw[i],
                4 => BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan((int)(4 * i))),
                _ => BinaryPrimitives.ReadDoubleLittleEndian(raw.AsSpan((int)(8 * i))),
            };
        return new NumpyArray(shape, values, dtype);
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranOrder();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeField();
}
