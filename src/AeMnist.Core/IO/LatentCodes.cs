// Latent codes on disk, as `aemnist encode` writes them: CSV (index,source,z0,z1,...) or NumPy's .npy format
// (version 1.0, little-endian float32, C order), which numpy.load reads directly: shape (N, F) for a vector latent,
// (N, C, H, W) for a convolutional one.
using System.Globalization;
using System.Text;

namespace AeMnist.IO;

public static class LatentCodes
{
    /// <summary>CSV with a header; sources are quoted when they hold a comma, a quote or a line break.</summary>
    public static string Csv(ReadOnlySpan<float> codes, int n, int length, IReadOnlyList<string> sources)
    {
        var csv = new StringBuilder("index,source");
        for (int j = 0; j < length; j++) csv.Append(CultureInfo.InvariantCulture, $",z{j}");
        csv.Append('\n');
        for (int i = 0; i < n; i++)
        {
            string source = sources[i];
            if (source.IndexOfAny([',', '"', '\n', '\r']) >= 0) source = "\"" + source.Replace("\"", "\"\"") + "\"";
            csv.Append(CultureInfo.InvariantCulture, $"{i},{source}");
            for (int j = 0; j < length; j++) csv.Append(',').Append(codes[i * length + j].ToString("R", CultureInfo.InvariantCulture));
            csv.Append('\n');
        }
        return csv.ToString();
    }

    /// <summary>The bytes of a .npy file holding <paramref name="codes"/> with <paramref name="shape"/>.</summary>
    public static byte[] Npy(ReadOnlySpan<float> codes, int[] shape)
    {
        long count = shape.Aggregate(1L, (p, d) => p * d);
        if (count != codes.Length) throw new ArgumentException($"shape ({string.Join(", ", shape)}) holds {count} values, not {codes.Length}.");
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        // Magic (6) + version (2) + header length (2) + header, padded with spaces and a newline to a multiple of 64.
        int total = (10 + header.Length + 1 + 63) / 64 * 64;
        header = header.PadRight(total - 10 - 1) + "\n";
        var bytes = new byte[total + 4L * codes.Length];
        byte[] magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];
        magic.CopyTo(bytes, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, bytes.AsSpan(10));
        for (int i = 0; i < codes.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(total + 4 * i), codes[i]);
        return bytes;
    }
}
