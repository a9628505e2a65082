// Hand-made PNG files for the decoder tests, built without SkiaSharp: their own bitwise CRC,
// its own naive filters, and a chunk parser used to check what the encoder writes.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace AeMnist.Core.Tests.Imaging;

internal static class PngTestFiles
{
    public static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public sealed record Chunk(string Type, byte[] Body, uint StoredCrc, int Offset);

    /// <summary>Bit-at-a-time CRC-32, independent of the table-driven one in the product.</summary>
    public static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (uint)-(int)(c & 1));
        }
        return ~c;
    }

    public static byte[] ChunkBytes(string type, ReadOnlySpan<byte> body)
    {
        var bytes = new byte[12 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, body.Length);
        Encoding.ASCII.GetBytes(type, bytes.AsSpan(4));
        body.CopyTo(bytes.AsSpan(8));
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8 + body.Length), BitwiseCrc(bytes.AsSpan(4, 4 + body.Length)));
        return bytes;
    }

    public static byte[] Header(int width, int height, int bitDepth, int colourType, int interlace = 0)
    {
        var h = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(h, width);
        BinaryPrimitives.WriteInt32BigEndian(h.AsSpan(4), height);
        h[8] = (byte)bitDepth;
        h[9] = (byte)colourType;
        h[12] = (byte)interlace;
        return h;
    }

    public static byte[] Deflate(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(raw);
        return ms.ToArray();
    }

    /// <summary>A PNG from already-filtered scanlines (each starting with its filter byte) and optional extra chunks before IDAT.</summary>
    public static byte[] Build(byte[] header, byte[] scanlines, params (string Type, byte[] Body)[] before)
    {
        var ms = new MemoryStream();
        ms.Write(Signature);
        ms.Write(ChunkBytes("IHDR", header));
        foreach (var (type, body) in before) ms.Write(ChunkBytes(type, body));
        byte[] z = Deflate(scanlines);
        // Split the data over two IDAT chunks so that concatenation is exercised.
        int half = z.Length / 2;
        ms.Write(ChunkBytes("IDAT", z.AsSpan(0, half)));
        ms.Write(ChunkBytes("IDAT", z.AsSpan(half)));
        ms.Write(ChunkBytes("IEND", []));
        return ms.ToArray();
    }

    /// <summary>Filters unfiltered rows with one filter type for every row, written out naively from the PNG spec.</summary>
    public static byte[] Filter(byte[] rows, int rowBytes, int bpp, int type)
    {
        int height = rows.Length / rowBytes;
        var output = new byte[height * (rowBytes + 1)];
        for (int y = 0; y < height; y++)
        {
            output[y * (rowBytes + 1)] = (byte)type;
            for (int i = 0; i < rowBytes; i++)
            {
                int x = rows[y * rowBytes + i];
                int a = i >= bpp ? rows[y * rowBytes + i - bpp] : 0;
                int b = y > 0 ? rows[(y - 1) * rowBytes + i] : 0;
                int c = i >= bpp && y > 0 ? rows[(y - 1) * rowBytes + i - bpp] : 0;
                int predicted = type switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    _ => PaethNaive(a, b, c),
                };
                output[y * (rowBytes + 1) + 1 + i] = (byte)(x - predicted);
            }
        }
        return output;
    }

    private static int PaethNaive(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc) return a;
        if (pb <= pc) return b;
        return c;
    }

    /// <summary>Splits a PNG into its chunks, checking lengths but not CRCs.</summary>
    public static List<Chunk> ParseChunks(byte[] file)
    {
        Assert.Equal(Signature, file.AsSpan(0, 8).ToArray());
        var chunks = new List<Chunk>();
        int pos = 8;
        while (pos < file.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(pos));
            string type = Encoding.ASCII.GetString(file, pos + 4, 4);
            byte[] body = file.AsSpan(pos + 8, length).ToArray();
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos + 8 + length));
            chunks.Add(new Chunk(type, body, crc, pos));
            pos += 12 + length;
        }
        Assert.Equal(file.Length, pos);
        return chunks;
    }
}
