// The data seam: a labelled image dataset, whatever file it came from. N images of one shape (C, H, W) with pixel
// bytes 0-255 (gathered as float32 in [0, 1]), a class per image, the classes' names, which images form the data's
// training part (the first TrainCount; MNIST's training file, then its test file, as torch's ConcatDataset orders
// them) and where it came from with a checksum of its contents. Pixels stay bytes (55 MB for MNIST rather than 220 MB
// of floats); Gather converts just the images a split needs. MNIST's IDX files are one source (MnistFiles).
using System.Security.Cryptography;
using AeMnist.Tensors;

namespace AeMnist.Data;

/// <summary>Where a dataset came from: its kind ("MNIST"), its path, and how its checksum is tagged.</summary>
public sealed record DataSource(string Kind, string Path)
{
    /// <summary>True for MNIST (its classes are digits, and the published one-class results are about it).</summary>
    public bool IsMnist => Kind == MnistFiles.Kind;
}

public sealed class Dataset
{
    private string? _sha256;

    public Dataset(byte[] bytes, byte[] labels, IReadOnlyList<string> classNames, ImageShape shape, int trainCount, DataSource source,
        IReadOnlyList<string>? names = null)
    {
        if (bytes.Length != (long)labels.Length * shape.Length)
            throw new ArgumentException($"bytes has {bytes.Length} values, expected {labels.Length} x {shape.Length}.", nameof(bytes));
        if (trainCount < 0 || trainCount > labels.Length)
            throw new ArgumentOutOfRangeException(nameof(trainCount), trainCount, "Must be within the label count.");
        foreach (byte label in labels)
            if (label >= classNames.Count) throw new ArgumentException($"label {label} names no class; there are {classNames.Count}.", nameof(labels));
        Bytes = bytes;
        Labels = labels;
        ClassNames = classNames;
        Shape = shape;
        TrainCount = trainCount;
        Source = source;
        if (names is not null && names.Count != labels.Length) throw new ArgumentException($"{names.Count} names for {labels.Length} images.", nameof(names));
        Names = names;
    }

    /// <summary>What reading the data found probably wrong but not fatal (animated images read from their first frame), for the user; one line each.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Each image's name where it came from a file of its own (a path relative to the data's folder), else null.</summary>
    public IReadOnlyList<string>? Names { get; }

    /// <summary>How image <paramref name="index"/> is named in messages: its file, or "image N" ("MNIST image N").</summary>
    public string Describe(int index) => Names is { } names ? names[index] : Source.IsMnist ? $"MNIST image {index}" : $"image {index}";

    /// <summary>All images' pixel bytes 0-255, training part first: image i is <c>Bytes[i*L .. (i+1)*L)</c>, L = <see cref="Shape"/>.Length.</summary>
    public byte[] Bytes { get; }

    /// <summary>The class (an index into <see cref="ClassNames"/>) of each image.</summary>
    public byte[] Labels { get; }

    /// <summary>The classes' names: "0"-"9" for MNIST's digits.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    public ImageShape Shape { get; }

    /// <summary>How many of the images come from the data's training part (the rest are its test part).</summary>
    public int TrainCount { get; }

    public int Count => Labels.Length;

    public DataSource Source { get; }

    /// <summary>The directory or file the data was read from.</summary>
    public string Directory => Source.Path;

    /// <summary>What one class is called in messages: "digit" for MNIST, else "class".</summary>
    public string ClassNoun => Source.IsMnist ? "digit" : "class";

    /// <summary>What one image is called in messages: "digit" for MNIST, else "image" ("the 20 normal images").</summary>
    public string ItemNoun => Source.IsMnist ? "digit" : "image";

    /// <summary>
    /// SHA-256 of the contents (counts, shape, pixel bytes, labels, class names): equal for the same images however they
    /// were stored (raw or gzip), different for any other data. Runs record it, and evaluate and resume check it. MNIST's
    /// is computed as before data other than MNIST could be read, so runs recorded then still match.
    /// </summary>
    public string Sha256 => _sha256 ??= ComputeSha256();

    private string ComputeSha256()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> ints = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(ints, TrainCount);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(ints[4..], Count - TrainCount);
        if (Source.IsMnist && Shape == ImageShape.Mnist)
        {
            hash.AppendData("aemnist-mnist-1\n"u8);
            hash.AppendData(ints);
        }
        else
        {
            hash.AppendData("aemnist-images-1\n"u8);
            hash.AppendData(ints);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(ints, Shape.Channels);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(ints[4..], Shape.Height);
            hash.AppendData(ints);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(ints, Shape.Width);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(ints[4..], ClassNames.Count);
            hash.AppendData(ints);
            foreach (string name in ClassNames) hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name + "\n"));
        }
        hash.AppendData(Bytes);
        hash.AppendData(Labels);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// The class <paramref name="text"/> names: a class name (exactly, else ignoring case) or a class number; anything else
    /// is an <see cref="ArgumentException"/> naming <paramref name="option"/> and the classes there are.
    /// </summary>
    public int ResolveClass(string text, string option = "--normal")
    {
        string t = text.Trim();
        for (int i = 0; i < ClassNames.Count; i++)
            if (ClassNames[i] == t) return i;
        int[] loose = [.. Enumerable.Range(0, ClassNames.Count).Where(i => string.Equals(ClassNames[i], t, StringComparison.OrdinalIgnoreCase))];
        if (loose.Length == 1) return loose[0];
        if (!Source.IsMnist && t.Length is > 0 and <= 3 && t.All(char.IsAsciiDigit) && int.Parse(t, System.Globalization.CultureInfo.InvariantCulture) is var n && n < ClassNames.Count)
            return n;
        string shown = t.Length is > 0 and <= 12 && t.All(c => char.IsAsciiDigit(c) || c is '-' or '+') ? t : IO.MessageText.Quote(text, 40);
        if (Source.IsMnist) throw new ArgumentException($"{option} {shown} is not a digit; use 0-9");
        string classes = string.Join(", ", ClassNames.Take(12).Select(c => IO.MessageText.Quote(c, 30))) + (ClassNames.Count > 12 ? ", ..." : "");
        throw new ArgumentException($"{option} {shown} is not a class of {Source.Path}; its classes are {classes}");
    }

    /// <summary>The class a normal class is called by convention ("good", "normal"), when the data has exactly one such; else null.</summary>
    public int? ConventionalNormal()
    {
        int[] found = [.. Enumerable.Range(0, ClassNames.Count).Where(i => DataSources.NormalNames.Contains(ClassNames[i].ToLowerInvariant()))];
        return found.Length == 1 ? found[0] : null;
    }

    /// <summary>Image <paramref name="index"/> as floats in [0, 1] (a new array).</summary>
    public float[] Image(int index) => Gather([index]);

    /// <summary>The images at <paramref name="indices"/>, as pixel / 255 floats in one contiguous buffer.</summary>
    public float[] Gather(ReadOnlySpan<int> indices)
    {
        int length = Shape.Length;
        var result = new float[(long)indices.Length * length];
        for (int i = 0; i < indices.Length; i++)
            IdxReader.ToFloats(Bytes.AsSpan(indices[i] * length, length), result.AsSpan(i * length, length));
        return result;
    }

    public byte[] GatherLabels(ReadOnlySpan<int> indices)
    {
        var result = new byte[indices.Length];
        for (int i = 0; i < indices.Length; i++) result[i] = Labels[indices[i]];
        return result;
    }
}
