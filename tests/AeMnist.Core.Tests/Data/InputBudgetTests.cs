using AeMnist.Data;
using AeMnist.Imaging;
using AeMnist.IO;
using CsCheck;

namespace AeMnist.Core.Tests.Data;

/// <summary>
/// One memory budget across all the inputs of a command (issue 20): for any mix of CSV files, raw and gzip IDX files,
/// image files and folders, the read succeeds exactly when all the images together fit the budget, and otherwise fails
/// with one line naming an input, however each input alone compares with the budget.
/// </summary>
public sealed class InputBudgetTests
{
    private const int Pixels = 784;

    private static string Row(int value) => string.Join(",", Enumerable.Repeat(value.ToString(System.Globalization.CultureInfo.InvariantCulture), Pixels)) + "\n";

    private static byte[] Idx(int count)
    {
        var bytes = new byte[16 + count * Pixels];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes, IdxReader.ImagesMagic);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), 28);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), 28);
        for (int i = 16; i < bytes.Length; i++) bytes[i] = (byte)(i * 7);
        return bytes;
    }

    // Kind 0: CSV of n rows; 1: raw IDX of n images; 2: gzip IDX; 3: a folder of n PNG files; 4: one PNG file (n ignored).
    private static string Make(TempDirectory scratch, int index, int kind, int n, out int images)
    {
        images = kind == 4 ? 1 : n;
        byte[] png = ImageFiles.EncodeGrayPng([.. Enumerable.Range(0, Pixels).Select(i => (byte)(i % 200))], 28, 28);
        switch (kind)
        {
            case 0:
                string csv = scratch.File($"in{index}.csv");
                File.WriteAllText(csv, string.Concat(Enumerable.Range(0, n).Select(Row)));
                return csv;
            case 1:
                string idx = scratch.File($"in{index}.idx");
                File.WriteAllBytes(idx, Idx(n));
                return idx;
            case 2:
                string gz = scratch.File($"in{index}-images.gz");
                File.WriteAllBytes(gz, IdxReaderTests.Gzip(Idx(n)));
                return gz;
            case 3:
                string folder = Directory.CreateDirectory(scratch.File($"in{index}")).FullName;
                for (int i = 0; i < n; i++) File.WriteAllBytes(Path.Combine(folder, $"{i}.png"), png);
                return folder;
            default:
                string file = scratch.File($"in{index}.png");
                File.WriteAllBytes(file, png);
                return file;
        }
    }

    [Fact]
    public void All_inputs_together_fit_the_budget_or_the_read_fails_naming_one()
    {
        Gen.Select(Gen.Select(Gen.Int[0, 4], Gen.Int[1, 6]).Array[1, 5], Gen.Int[1, 20]).Sample((inputs, budget) =>
        {
            using var scratch = new TempDirectory();
            var paths = new List<string>();
            int total = 0;
            for (int i = 0; i < inputs.Length; i++)
            {
                paths.Add(Make(scratch, i, inputs[i].Item1, inputs[i].Item2, out int images));
                total += images;
            }
            var options = new ImageReadOptions { MaxPixelBytes = (long)budget * Pixels * sizeof(float) };
            if (total <= budget)
            {
                ImageBatch batch = ImageInputs.Read(paths, options);
                Assert.Equal(total, batch.Count);
                Assert.Equal((long)total * Pixels, batch.Pixels.LongLength);
            }
            else
            {
                var e = Assert.Throws<DataFormatException>(() => ImageInputs.Read(paths, options));
                Assert.DoesNotContain('\n', e.Message);
                // "NAME: the inputs together hold more than the B images of 28x28 (...) aemnist reads at once; ..."
                Assert.Matches($"^[^:]+: the inputs together hold more than the {budget} images of 28x28 ", e.Message);
            }
        }, seed: "0N0XIzNsQ0O2", iter: 80, threads: 1);
    }

    [Fact]
    public void The_default_budget_is_one_GiB_of_float_pixels()
    {
        Assert.Equal(1L << 30, ImageInputs.MaxPixelBytes);
        Assert.Equal(ImageInputs.MaxPixelBytes, new ImageReadOptions().MaxPixelBytes);
    }
}
