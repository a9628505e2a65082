using System.Buffers.Binary;
using System.IO.Compression;
using AeMnist.Data;

namespace AeMnist.Core.Tests.Data;

public class IdxReaderTests
{
    // A tiny image file whose pixels are 0, 1, 2, ... so every value is obvious.
    internal static byte[] ImageFile(int count, int rows, int cols, int magic = IdxReader.ImagesMagic, long? pixelBytes = null)
    {
        long n = pixelBytes ?? (long)count * rows * cols;
        var bytes = new byte[16 + n];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), cols);
        for (int i = 0; i < n; i++) bytes[16 + i] = (byte)i;
        return bytes;
    }

    internal static byte[] LabelFile(params byte[] labels)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, IdxReader.LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    internal static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(raw);
        return output.ToArray();
    }

    private static string Write(TempDirectory dir, string name, byte[] bytes)
    {
        string path = dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Reads_pixels_as_bytes_over_255_in_row_major_order()
    {
        using var dir = new TempDirectory();
        ImageSet images = IdxReader.ReadImages(Write(dir, "img", ImageFile(2, 3, 4)));
        Assert.Equal((2, 3, 4), (images.Count, images.Rows, images.Cols));
        Assert.Equal(24, images.Pixels.Length);
        for (int i = 0; i < 24; i++) Assert.Equal(i / 255f, images.Pixels[i]);
        Assert.Equal(12 / 255f, images.Image(1)[0]);
    }

    [Fact]
    public void Detects_gzip_by_magic_bytes_not_by_name()
    {
        using var dir = new TempDirectory();
        ImageSet images = IdxReader.ReadImages(Write(dir, "plain-name", Gzip(ImageFile(1, 2, 2))));
        Assert.Equal(new[] { 0f, 1 / 255f, 2 / 255f, 3 / 255f }, images.Pixels);
        byte[] labels = IdxReader.ReadLabels(Write(dir, "labels.gz-not-really", LabelFile(3, 1, 4)));
        Assert.Equal(new byte[] { 3, 1, 4 }, labels);
    }

    public static TheoryData<string, byte[], string> BadImageFiles()
    {
        var tooShort = ImageFile(2, 3, 3)[..^1];
        var wrongDims = ImageFile(1, 2, 2, magic: 0x00000802);
        var hugeClaim = ImageFile(2_000_000_000, 28, 28, pixelBytes: 10);
        return new TheoryData<string, byte[], string>
        {
            { "empty", [], "img: file is empty" },
            { "truncated header", ImageFile(1, 2, 2)[..10], "img: truncated header (10 bytes, an IDX image header needs 16)" },
            { "wrong magic", ImageFile(1, 2, 2, magic: 0x12345678), "img: bad magic number 0x12345678, expected 0x00000803 (IDX image file); is this the right file?" },
            { "label file given as images", LabelFile(1, 2), "img: IDX file has 1 dimensions, expected 3 for an image file" },
            { "wrong dimension count", wrongDims, "img: IDX file has 2 dimensions, expected 3 for an image file" },
            { "truncated pixels", tooShort, "img: header says 2 images of 3x3 (34 bytes), but the file has 33 bytes; the file is truncated or corrupt" },
            { "billions of items", hugeClaim, "img: header says 2000000000 images of 28x28 (1568000000016 bytes), but the file has 26 bytes; the file is truncated or corrupt" },
            { "zero-size images", ImageFile(3, 0, 28), "img: images of 0x28 pixels have no pixels" },
            { "corrupt gzip", [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF], "img: corrupt gzip data" },
        };
    }

    [Theory]
    [MemberData(nameof(BadImageFiles))]
    public void Bad_image_files_get_one_line_messages_naming_the_file(string kind, byte[] bytes, string message)
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(Write(dir, "img", bytes)));
        Assert.StartsWith(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(string.IsNullOrEmpty(kind));
    }

    [Fact]
    public void Truncated_gzip_is_an_error()
    {
        using var dir = new TempDirectory();
        byte[] gz = Gzip(ImageFile(50, 28, 28));
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages(Write(dir, "img", gz[..(gz.Length / 2)])));
        Assert.StartsWith("img: ", e.Message);
    }

    [Fact]
    public void Missing_file_is_named()
    {
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadImages("/nonexistent/train.idx"));
        Assert.Equal("/nonexistent/train.idx: file not found", e.Message);
    }

    [Fact]
    public void Every_byte_is_a_label()
    {
        // EMNIST's letters are 1-26, its balanced set 0-46: an IDX label is a class number, not only a digit.
        using var dir = new TempDirectory();
        Assert.Equal([1, 2, 10, 26, 255], IdxReader.ReadLabels(Write(dir, "lab", LabelFile(1, 2, 10, 26, 255))));
    }

    [Fact]
    public void Label_count_must_match_file_length()
    {
        using var dir = new TempDirectory();
        byte[] bytes = LabelFile(1, 2, 3)[..^1];
        var e = Assert.Throws<DataFormatException>(() => IdxReader.ReadLabels(Write(dir, "lab", bytes)));
        Assert.Equal("lab: header says 3 labels (11 bytes), but the file has 10 bytes; the file is truncated or corrupt", e.Message);
    }

    [Fact]
    public void Images_and_labels_must_agree_in_count()
    {
        using var dir = new TempDirectory();
        Write(dir, "train-images-idx3-ubyte", ImageFile(3, 28, 28));
        Write(dir, "train-labels-idx1-ubyte", LabelFile(1, 2));
        Write(dir, "t10k-images-idx3-ubyte", ImageFile(1, 28, 28));
        Write(dir, "t10k-labels-idx1-ubyte", LabelFile(7));
        var e = Assert.Throws<DataFormatException>(() => MnistFiles.Load(dir.Path));
        Assert.Equal("train-labels-idx1-ubyte: 2 labels for 3 images in train-images-idx3-ubyte; the files do not belong together", e.Message);
    }

    [Fact]
    public void Dataset_pools_training_file_then_test_file_and_accepts_raw_or_gz()
    {
        using var dir = new TempDirectory();
        Write(dir, "train-images-idx3-ubyte.gz", Gzip(ImageFile(2, 28, 28)));
        Write(dir, "train-labels-idx1-ubyte", LabelFile(1, 2));
        Write(dir, "t10k-images-idx3-ubyte", ImageFile(1, 28, 28));
        Write(dir, "t10k-labels-idx1-ubyte.gz", Gzip(LabelFile(7)));
        Dataset data = MnistFiles.Load(dir.Path);
        Assert.Equal(new byte[] { 1, 2, 7 }, data.Labels);
        Assert.Equal(2, data.TrainCount);
        Assert.Equal(0f, data.Image(2)[0]);
        Assert.Equal(((784 + 5) % 256) / 255f, data.Image(1)[5]);
    }

    [Fact]
    public void Missing_data_directory_says_what_to_do()
    {
        var e = Assert.Throws<DataFormatException>(() => MnistFiles.Load("/nonexistent-dir"));
        Assert.Contains("--data", e.Message);
    }
}
