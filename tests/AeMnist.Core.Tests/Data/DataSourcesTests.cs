// Datasets from users' files: the layouts (class folders, MVTec AD, normal images), the shape rules (one size, --size,
// gray or RGB), class names, and NumPy arrays, each on tiny files whose content is obvious.
using AeMnist.Data;
using AeMnist.Imaging;
using AeMnist.Tensors;
using SkiaSharp;

namespace AeMnist.Core.Tests.Data;

public sealed class DataSourcesTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // An image whose every pixel is (r, g, b).
    private string Png(string relative, int width, int height, byte r, byte g, byte b)
    {
        string path = _dir.File(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var rgba = new byte[width * height * 4];
        for (int i = 0; i < width * height; i++) (rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]) = (r, g, b, 255);
        File.WriteAllBytes(path, ImageFiles.EncodeRgba(rgba, width, height, SKEncodedImageFormat.Png, 100));
        return path;
    }

    [Theory]
    [InlineData("48x64", 48, 64)]
    [InlineData("32", 32, 32)]  // N: a square, as --help says
    [InlineData(" 7x4096 ", 7, 4096)]
    public void Size_is_height_by_width_or_one_number_for_a_square(string text, int height, int width) =>
        Assert.Equal((height, width), ImageRules.ParseSize(text));

    [Theory]
    [InlineData("0x10")]
    [InlineData("32x")]
    [InlineData("4097")]
    [InlineData("3x4x5")]
    [InlineData("-3")]
    public void A_size_that_is_not_one_is_an_error_naming_the_option(string text) =>
        Assert.StartsWith("--size ", Assert.Throws<ArgumentException>(() => ImageRules.ParseSize(text)).Message);

    [Fact]
    public void Class_folders_are_classes_in_ordinal_order_with_their_images_bytes()
    {
        Png("d/good/a.png", 3, 2, 10, 10, 10);
        Png("d/good/b.png", 3, 2, 20, 20, 20);
        Png("d/bent/a.png", 3, 2, 200, 200, 200);
        Dataset data = DataSources.OpenLabelled(_dir.File("d"), new ImageRules());
        Assert.Equal(["bent", "good"], data.ClassNames);
        Assert.Equal(new ImageShape(1, 2, 3), data.Shape);  // every pixel gray: one channel
        Assert.Equal(3, data.TrainCount);  // no test part
        Assert.Equal(["bent/a.png", "good/a.png", "good/b.png"], data.Names);
        Assert.Equal([0, 1, 1], data.Labels);
        Assert.All(data.Bytes[6..12], v => Assert.Equal(10, v));
        Assert.Equal(1, data.ResolveClass("good"));
        Assert.Equal(1, data.ResolveClass("GOOD"));
        Assert.Equal(0, data.ResolveClass("0"));
        Assert.Equal(1, data.ConventionalNormal());
        ArgumentException e = Assert.Throws<ArgumentException>(() => data.ResolveClass("shiny"));
        Assert.Contains("'bent', 'good'", e.Message);
    }

    [Fact]
    public void Mvtec_layout_puts_train_first_and_test_after_with_one_class_list()
    {
        Png("m/train/good/0.png", 4, 4, 5, 5, 5);
        Png("m/test/good/0.png", 4, 4, 6, 6, 6);
        Png("m/test/crack/0.png", 4, 4, 250, 0, 0);
        Png("m/ground_truth/crack/0_mask.png", 4, 4, 255, 255, 255);  // masks are not images to learn from
        Dataset data = DataSources.OpenLabelled(_dir.File("m"), new ImageRules());
        Assert.Equal(["crack", "good"], data.ClassNames);
        Assert.Equal(1, data.TrainCount);
        Assert.Equal(["train/good/0.png", "test/crack/0.png", "test/good/0.png"], data.Names);
        Assert.Equal(new ImageShape(3, 4, 4), data.Shape);  // a red pixel: three channels
        Assert.Equal([0, 0, 0, 0], data.Bytes[64..68]);  // the crack image (the second) has a green plane of 0
        Assert.Equal(250, data.Bytes[48]);  // its red plane
    }

    [Fact]
    public void Sizes_must_agree_unless_size_resizes_them_and_color_forces_the_channels()
    {
        Png("s/a.png", 8, 8, 100, 100, 100);
        Png("s/b.png", 6, 4, 100, 100, 100);
        DataFormatException e = Assert.Throws<DataFormatException>(() => DataSources.OpenImages([_dir.File("s")], new ImageRules()));
        // Height x width, as --size takes them (b.png is 6 wide and 4 high).
        Assert.Contains("b.png is 4x6 but s/a.png is 8x8 (height x width, as --size takes them)", e.Message.Replace(_dir.Path + "/", ""));
        Dataset resized = DataSources.OpenImages([_dir.File("s")], new ImageRules { Size = (5, 7), Channels = 3 });
        Assert.Equal(new ImageShape(3, 5, 7), resized.Shape);
        Assert.All(resized.Bytes, v => Assert.InRange(v, 99, 101));  // a flat image stays flat when resized
        Assert.Equal(["normal"], resized.ClassNames);
    }

    [Fact]
    public void Inverting_composites_on_white_and_inverts()
    {
        Png("i/a.png", 2, 2, 255, 255, 255);
        Dataset data = DataSources.OpenImages([_dir.File("i")], new ImageRules { Invert = true });
        Assert.All(data.Bytes, v => Assert.Equal(0, v));
    }

    [Fact]
    public void Npy_files_of_every_version_and_dtype_read_and_a_short_one_is_refused()
    {
        string path = _dir.File("a.npy");
        float[] values = [0f, 0.5f, 1f, 0.25f];
        byte[] data = [.. values.SelectMany(BitConverter.GetBytes)];
        foreach (int version in new[] { 1, 2 })
        {
            File.WriteAllBytes(path, Npy(version, "<f4", "(1, 2, 2)", data));
            NumpyArray array = NumpyArrays.ReadNpy(path);
            Assert.Equal([1, 2, 2], array.Shape);
            Assert.Equal(values.Select(v => (double)v), array.Values);
        }
        File.WriteAllBytes(path, Npy(1, "<f4", "(2, 2, 2)", data));
        Assert.Contains("truncated", Assert.Throws<DataFormatException>(() => NumpyArrays.ReadNpy(path)).Message);
        File.WriteAllBytes(path, Npy(1, "<i8", "(4,)", [.. data, .. data]));
        Assert.Contains("dtype '<i8'", Assert.Throws<DataFormatException>(() => NumpyArrays.ReadNpy(path)).Message);
    }

    private static byte[] Npy(int version, string dtype, string shape, byte[] data)
    {
        int preamble = version == 1 ? 10 : 12;
        string header = $"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}";
        int total = (preamble + header.Length + 1 + 63) / 64 * 64;
        header = header.PadRight(total - preamble - 1) + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)version, 0 };
        bytes.AddRange(version == 1 ? BitConverter.GetBytes((ushort)header.Length) : BitConverter.GetBytes((uint)header.Length));
        bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(header));
        bytes.AddRange(data);
        return [.. bytes];
    }
}
