// The images `aemnist score` accepts, recognised by content rather than by file name: IDX image files
// (raw or gzip), 28x28 PNG files (or a directory of them), and CSV files of 784 pixel values per row.
using System.Buffers.Binary;
using AeMnist.Imaging;
using AeMnist.IO;

namespace AeMnist.Data;

/// <summary>Images to score, each with a source label for the output CSV (file name, and row or index).</summary>
public sealed record ImageBatch(float[] Pixels, int Count, string[] Sources);

public static class ImageInputs
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Reads every input path in order into one batch of 28x28 images scaled to [0, 1].</summary>
    public static ImageBatch Read(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) throw new ArgumentException("--input needs at least one file");
        var pixels = new List<float[]>();
        var sources = new List<string>();
        foreach (string path in paths)
        {
            if (Directory.Exists(path))
            {
                string[] pngs = Directory.GetFiles(path, "*.png").Order(StringComparer.Ordinal).ToArray();
                if (pngs.Length == 0) throw new DataFormatException($"{path}: directory has no .png files");
                foreach (string png in pngs) AddPng(png, pixels, sources);
                continue;
            }
            if (!File.Exists(path)) throw new DataFormatException($"{path}: file not found");
            switch (Sniff(path))
            {
                case Kind.Png:
                    AddPng(path, pixels, sources);
                    break;
                case Kind.Idx:
                    ImageSet images = IdxReader.ReadImages(path);
                    if (images.Rows != MnistDataset.ImageSize || images.Cols != MnistDataset.ImageSize)
                        throw new DataFormatException($"{Path.GetFileName(path)}: images are {images.Rows}x{images.Cols}, expected 28x28");
                    pixels.Add(images.Pixels);
                    for (int i = 0; i < images.Count; i++) sources.Add($"{Path.GetFileName(path)}#{i}");
                    break;
                default:
                    var csv = CsvImages.Read(path);
                    pixels.Add(csv.Pixels);
                    sources.AddRange(csv.Sources);
                    break;
            }
        }
        float[] all = new float[pixels.Sum(p => (long)p.Length)];
        long offset = 0;
        foreach (float[] p in pixels) { p.CopyTo(all, offset); offset += p.Length; }
        return new ImageBatch(all, sources.Count, sources.ToArray());
    }

    private enum Kind { Png, Idx, Csv }

    private static Kind Sniff(string path)
    {
        Span<byte> head = stackalloc byte[8];
        int n;
        using (var stream = File.OpenRead(path)) n = stream.ReadAtLeast(head, 8, throwOnEndOfStream: false);
        head = head[..n];
        // A .png name goes to the PNG decoder even when its bytes disagree, so the error says "not a PNG".
        if (head.StartsWith(PngSignature) || path.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) return Kind.Png;
        if (n >= 2 && head[0] == 0x1F && head[1] == 0x8B) return Kind.Idx;
        if (n >= 4 && BinaryPrimitives.ReadInt32BigEndian(head) is IdxReader.ImagesMagic or IdxReader.LabelsMagic) return Kind.Idx;
        return Kind.Csv;
    }

    private static void AddPng(string path, List<float[]> pixels, List<string> sources)
    {
        string name = Path.GetFileName(path);
        var (gray, width, height) = Png.Decode(File.ReadAllBytes(path), name);
        Png.RequireSize(name, width, height, MnistDataset.ImageSize, MnistDataset.ImageSize);
        var image = new float[gray.Length];
        for (int i = 0; i < gray.Length; i++) image[i] = gray[i] / 255f;
        pixels.Add(image);
        sources.Add(name);
    }
}
