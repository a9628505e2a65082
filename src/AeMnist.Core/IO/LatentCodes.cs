// Latent codes on disk, as `aemnist encode` writes them: CSV (index,source,z0,z1,...) or NumPy's .npy format
// (version 1.0, little-endian float32, C order), which numpy.load reads directly: shape (N, F) for a vector latent,
// (N, C, H, W) for a convolutional one.
using System.Globalization;
using System.Text;

namespace AeMnist.IO;

public static class LatentCodes
{
    /// <summary>CSV with a header, as <see cref="WriteCsv"/> writes it (for small outputs and tests).</summary>
    public static string Csv(ReadOnlySpan<float> codes, int n, int length, IReadOnlyList<string> sources)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        WriteCsv(text, codes, n, length, sources);
        return text.ToString();
    }

    /// <summary>
    /// Writes CSV with a header, row by row (never the whole file in memory); sources are safe CSV cells
    /// (<see cref="CsvText.Cell"/>: quoted when they hold a comma, a quote or a line break, and never a formula).
    /// </summary>
    public static void WriteCsv(TextWriter csv, ReadOnlySpan<float> codes, int n, int length, IReadOnlyList<string> sources)
    {
        if ((long)n * length != codes.Length) throw new ArgumentException($"{n} codes of {length} values are not {codes.Length} values.", nameof(codes));
        var line = new StringBuilder("index,source");
        for (int j = 0; j < length; j++) line.Append(CultureInfo.InvariantCulture, $",z{j}");
        csv.Write(line.Append('\n'));
        for (int i = 0; i < n; i++)
        {
            line.Clear().Append(CultureInfo.InvariantCulture, $"{i},{CsvText.Cell(sources[i])}");
            for (int j = 0; j < length; j++) line.Append(',').Append(codes[(int)((long)i * length + j)].ToString("R", CultureInfo.InvariantCulture));
            csv.Write(line.Append('\n'));
        }
        csv.Flush();
    }

    /// <summary>The bytes of a .npy file holding <paramref name="codes"/> with <paramref name="shape"/>.</summary>
    public static byte[] Npy(ReadOnlySpan<float> codes, int[] shape)
    {
        var bytes = new MemoryStream();
        WriteNpy(bytes, codes, shape);
        return bytes.ToArray();
    }

    /// <summary>Writes a .npy file (version 1.0, little-endian float32, C order) holding <paramref name="codes"/> with <paramref name="shape"/>, in blocks.</summary>
    public static void WriteNpy(Stream stream, ReadOnlySpan<float> codes, int[] shape)
    {
        long count = shape.Aggregate(1L, (p, d) => p * d);
        if (count != codes.Length) throw new ArgumentException($"shape ({string.Join(", ", shape)}) holds {count} values, not {codes.Length}.");
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        // Magic (6) + version (2) + header length (2) + header, padded with spaces and a newline to a multiple of 64.
        int total = (10 + header.Length + 1 + 63) / 64 * 64;
        header = header.PadRight(total - 10 - 1) + "\n";
        var head = new byte[total];
        byte[] magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];
        magic.CopyTo(head, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, head.AsSpan(10));
        stream.Write(head);
        var block = new byte[1 << 16];
        for (int start = 0; start < codes.Length; start += block.Length / 4)
        {
            int take = Math.Min(block.Length / 4, codes.Length - start);
            for (int i = 0; i < take; i++)
                System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(block.AsSpan(4 * i), codes[start + i]);
            stream.Write(block, 0, 4 * take);
        }
    }
}
