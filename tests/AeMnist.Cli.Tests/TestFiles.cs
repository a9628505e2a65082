// Small, obvious input files for the process tests: a scratch directory per test, a tiny valid MNIST
// directory (20 + 10 images), and safetensors files written by hand so that any part can be broken.
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Models;

namespace AeMnist.Cli.Tests;

/// <summary>A fresh directory under the system temp folder, deleted when disposed.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("aemnist-cli-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, byte[] bytes)
    {
        string path = File(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    public string Write(string name, string text) => Write(name, Encoding.UTF8.GetBytes(text));

    public string CreateDirectory(string name) => Directory.CreateDirectory(File(name)).FullName;

    /// <summary>Every file and directory under the scratch directory, relative to it, sorted.</summary>
    public string[] Listing() =>
        Directory.EnumerateFileSystemEntries(Path, "*", SearchOption.AllDirectories)
            .Select(p => System.IO.Path.GetRelativePath(Path, p)).Order(StringComparer.Ordinal).ToArray();

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

internal static class Idx
{
    public static byte[] Images(int count, int rows = 28, int cols = 28, int magic = IdxReader.ImagesMagic)
    {
        var bytes = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), cols);
        for (int i = 16; i < bytes.Length; i++) bytes[i] = (byte)(i * 7);
        return bytes;
    }

    public static byte[] Labels(int count)
    {
        var bytes = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(bytes, IdxReader.LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        for (int i = 0; i < count; i++) bytes[8 + i] = (byte)(i % 10);
        return bytes;
    }

    public static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(raw);
        return output.ToArray();
    }

    /// <summary>
    /// A valid MNIST directory of 20 training and 10 test images (digits 0-9 in turn), with
    /// <paramref name="change"/> applied to the file map first (file name to bytes; remove one to leave it out).
    /// </summary>
    public static string DataDirectory(TempDirectory scratch, Action<Dictionary<string, byte[]>>? change = null)
    {
        var files = new Dictionary<string, byte[]>
        {
            ["train-images-idx3-ubyte"] = Images(20),
            ["train-labels-idx1-ubyte"] = Labels(20),
            ["t10k-images-idx3-ubyte"] = Images(10),
            ["t10k-labels-idx1-ubyte"] = Labels(10),
        };
        change?.Invoke(files);
        string dir = scratch.CreateDirectory("mnist");
        foreach (var (name, bytes) in files) scratch.Write(System.IO.Path.Combine("mnist", name), bytes);
        return dir;
    }
}

/// <summary>
/// The first 2,000 training and 1,000 test images of the shipped MNIST as raw IDX files: real digits
/// (about 270 fives) that load in milliseconds, for tests that train.
/// </summary>
internal static class SmallMnist
{
    private static readonly Lazy<Dataset> Shipped = new(() => MnistFiles.Load(ShippedDirectory));

    /// <summary>The shipped MNIST beside the program.</summary>
    public static string ShippedDirectory => MnistFiles.FindDefaultDirectory(AppContext.BaseDirectory)!;

    public static string Write(TempDirectory scratch, int train = 2000, int test = 1000)
    {
        Dataset data = Shipped.Value;
        const int pixels = MnistFiles.PixelsPerImage;
        byte[] Images(int start, int count)
        {
            byte[] bytes = Idx.Images(count);
            data.Bytes.AsSpan(start * pixels, count * pixels).CopyTo(bytes.AsSpan(16));
            return bytes;
        }
        byte[] Labels(int start, int count)
        {
            byte[] bytes = Idx.Labels(count);
            data.Labels.AsSpan(start, count).CopyTo(bytes.AsSpan(8));
            return bytes;
        }
        string dir = scratch.CreateDirectory("small-mnist");
        scratch.Write("small-mnist/train-images-idx3-ubyte", Images(0, train));
        scratch.Write("small-mnist/train-labels-idx1-ubyte", Labels(0, train));
        scratch.Write("small-mnist/t10k-images-idx3-ubyte", Images(data.TrainCount, test));
        scratch.Write("small-mnist/t10k-labels-idx1-ubyte", Labels(data.TrainCount, test));
        return dir;
    }
}

/// <summary>One tensor of a hand-written safetensors file: every field can be set to something wrong.</summary>
internal sealed record StEntry(string Name, string DType, long[] Shape, long Begin, long End);

internal static class SafetensorsFiles
{
    /// <summary>A small dense model (784 -> 16 -> 8 -> 16 -> 784) as aemnist saves it, with a stored threshold.</summary>
    public static (List<StEntry> Entries, byte[] Data, Dictionary<string, string> Metadata) DenseModel()
    {
        Architecture dense = Architectures.Get("dense");
        StateDict model = dense.Spec(dense.Settings((DenseAutoEncoder.Hidden, [16, 8]))).InitialWeights(new Rng(7));
        var entries = new List<StEntry>();
        var data = new MemoryStream();
        var le = new byte[4];
        foreach (var e in model.Tensors)
        {
            long begin = data.Length;
            foreach (float v in e.Data)
            {
                BinaryPrimitives.WriteSingleLittleEndian(le, v);
                data.Write(le);
            }
            entries.Add(new StEntry(e.Name, "F32", e.Shape.Select(d => (long)d).ToArray(), begin, data.Length));
        }
        var metadata = new ModelMetadata(dense, dense.Settings((DenseAutoEncoder.Hidden, [16, 8])), 5, "seed", 42, 0.05, new SplitOptions()).ToDictionary();
        return (entries, data.ToArray(), metadata);
    }

    public static string Header(IEnumerable<StEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new StringBuilder("{");
        if (metadata is { Count: > 0 })
            json.Append("\"__metadata__\":{").AppendJoin(',', metadata.Select(p => $"\"{p.Key}\":\"{p.Value}\"")).Append("},");
        foreach (StEntry e in entries)
            json.Append(CultureInfo.InvariantCulture,
                $"\"{e.Name}\":{{\"dtype\":\"{e.DType}\",\"shape\":[{string.Join(",", e.Shape)}],\"data_offsets\":[{e.Begin},{e.End}]}},");
        json.Length--;
        return json.Append('}').ToString();
    }

    /// <summary>The file: 8-byte header length (or <paramref name="headerLength"/>), the header text, the data.</summary>
    public static byte[] Bytes(string header, byte[] data, ulong? headerLength = null)
    {
        byte[] text = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + text.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)text.Length);
        text.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + text.Length);
        return bytes;
    }

    /// <summary>The dense model with <paramref name="change"/> applied to its tensors, data and metadata.</summary>
    public static byte[] Dense(Func<List<StEntry>, List<StEntry>>? change = null, Action<Dictionary<string, string>>? meta = null,
        Func<byte[], byte[]>? data = null)
    {
        var (entries, bytes, metadata) = DenseModel();
        meta?.Invoke(metadata);
        return Bytes(Header(change?.Invoke(entries) ?? entries, metadata), data?.Invoke(bytes) ?? bytes);
    }
}
