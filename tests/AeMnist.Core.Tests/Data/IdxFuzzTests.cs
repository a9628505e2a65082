using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.RegularExpressions;
using AeMnist.Data;
using Xunit.Abstractions;

namespace AeMnist.Core.Tests.Data;

/// <summary>
/// Seeded mutation fuzzing of the IDX reader, raw and gzip: thousands of damaged image and label files. The
/// only thing allowed to escape is a one-line <see cref="DataFormatException"/> naming the file; no case may
/// take long, and none may allocate more than the file could hold (no header claim is trusted).
/// </summary>
public sealed class IdxFuzzTests(ITestOutputHelper output)
{
    private const string Name = "fuzz-idx";
    private const int Cases = 6000;

    /// <summary>Deflate expands at most about 1032:1, so a gzip file of n bytes holds at most that many times n.</summary>
    private const long GzipRatio = 1100;

    /// <summary>Managed allocation any case may make regardless of size: the exception, its message, stream buffers.</summary>
    private const long Slack = 256 * 1024;

    // Values that header fields are rewritten to: off by one, zero, MNIST's, and claims of billions.
    private static readonly uint[] HeaderValues =
    [
        0, 1, 2, 3, 4, 5, 27, 28, 29, 255, 256, 10_000, 60_000, 1 << 20, 1 << 30, 1u << 31,
        int.MaxValue, uint.MaxValue, 2_000_000_000, 0x0803, 0x0801, 0x0802, 0x0804,
    ];

    private static byte[] Images() => IdxReaderTests.ImageFile(3, 4, 5);

    private static byte[] Labels() => IdxReaderTests.LabelFile(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 5);

    private static byte[] Mutate(byte[] raw, Rng rng, out bool gzip)
    {
        var bytes = new List<byte>(raw);
        int edits = 1 + rng.NextInt(3);
        for (int e = 0; e < edits; e++)
        {
            int at = bytes.Count == 0 ? 0 : rng.NextInt(bytes.Count);
            switch (rng.NextInt(8))
            {
                case 0: if (bytes.Count > 0) bytes[at] ^= (byte)(1 << rng.NextInt(8)); break;
                case 1: if (bytes.Count > 0) bytes[at] = (byte)rng.NextInt(256); break;
                case 2: bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + rng.NextInt(8))); break;
                case 3: bytes.RemoveRange(at, bytes.Count - at); break;
                case 4: bytes.InsertRange(at, Enumerable.Range(0, 1 + rng.NextInt(8)).Select(_ => (byte)rng.NextInt(256))); break;
                default:
                    // A header field (magic, count, rows or cols) rewritten to a listed or random value.
                    int field = 4 * rng.NextInt(4);
                    if (field + 4 > bytes.Count) break;
                    uint value = rng.NextInt(3) == 0 ? (uint)rng.NextUInt64() : HeaderValues[rng.NextInt(HeaderValues.Length)];
                    byte[] be = new byte[4];
                    BinaryPrimitives.WriteUInt32BigEndian(be, value);
                    for (int i = 0; i < 4; i++) bytes[field + i] = be[i];
                    break;
            }
        }
        byte[] result = bytes.ToArray();
        gzip = rng.NextInt(2) == 0;
        if (!gzip) return result;
        byte[] gz = IdxReaderTests.Gzip(result);
        if (gz.Length < 3) return gz; // an empty input may give an empty stream
        // Damage the compressed stream too, sometimes: its body, its length, or the size in its trailer.
        switch (rng.NextInt(6))
        {
            case 0: gz[2 + rng.NextInt(gz.Length - 2)] ^= (byte)(1 << rng.NextInt(8)); break;
            case 1: gz = gz[..(2 + rng.NextInt(gz.Length - 2))]; break;
            case 2: BinaryPrimitives.WriteUInt32LittleEndian(gz.AsSpan(gz.Length - 4), (uint)rng.NextUInt64()); break;
        }
        return gz;
    }

    [Fact]
    public void MutatedFiles_OnlyThrowOneLineDataFormatException_QuicklyAndWithinTheFileSize()
    {
        byte[][] seeds = [Images(), Labels()];
        Assert.Equal(3, IdxReader.ParseImages(seeds[0], Name).Count);
        Assert.Equal(11, IdxReader.ParseLabels(seeds[1], Name).Length);
        var rng = new Rng(20251122);
        var total = Stopwatch.StartNew();
        TimeSpan slowest = TimeSpan.Zero;
        long mostAllocated = 0;
        int accepted = 0;
        var messages = new HashSet<string>();
        for (int run = 0; run < Cases; run++)
        {
            bool images = run % 2 == 0;
            byte[] file = Mutate(seeds[images ? 0 : 1], rng, out bool gzip);
            var clock = Stopwatch.StartNew();
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                var (bytes, length) = IdxReader.Inflate(file, Name);
                if (images)
                {
                    ImageSet set = IdxReader.ParseImages(bytes, length, Name);
                    Assert.Equal((long)set.Count * set.Rows * set.Cols, set.Pixels.LongLength);
                    Assert.True(16 + set.Pixels.LongLength == length, $"case {run}: {set.Count} images of {set.Rows}x{set.Cols} from {length} bytes");
                    Assert.All(set.Pixels, p => Assert.InRange(p, 0f, 1f));
                }
                else
                {
                    byte[] labels = IdxReader.ParseLabels(bytes, length, Name);
                    Assert.Equal(8 + labels.Length, length);
                    Assert.Equal(bytes.AsSpan(8, labels.Length).ToArray(), labels);  // every byte a label (MnistFiles asks 0-9 of MNIST)
                }
                accepted++;
            }
            catch (DataFormatException e)
            {
                Assert.StartsWith(Name + ": ", e.Message);
                Assert.DoesNotContain('\n', e.Message);
                Assert.DoesNotContain('\r', e.Message);
                messages.Add(Regex.Replace(e.Message, @"0x[0-9A-F]+|\(.*\)|\d+", "#"));
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            long couldHold = Math.Max(1, gzip ? GzipRatio * file.Length : file.Length);
            // The file's bytes, the inflated buffer (grown by doubling), and 4-byte floats of the pixels.
            long allowed = Slack + 12 * couldHold;
            Assert.True(allocated <= allowed, $"case {run}: {allocated} bytes allocated for a {file.Length}-byte {(gzip ? "gzip" : "raw")} file (allowed {allowed})");
            mostAllocated = Math.Max(mostAllocated, allocated);
            slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;
        }
        output.WriteLine($"{Cases} files in {total.ElapsedMilliseconds} ms, {accepted} accepted, slowest {slowest.TotalMilliseconds:F1} ms, " +
                         $"most allocated by one file {mostAllocated} bytes; {messages.Count} kinds of error:");
        foreach (string m in messages.Order()) output.WriteLine(m);
        // The allocation bound above is what proves no file costs more than its size; time only guards against a hang
        // (generous: the test must pass on a busy machine).
        Assert.True(slowest < TimeSpan.FromSeconds(30), $"one file took {slowest.TotalMilliseconds:F0} ms");
        Assert.True(accepted > 0 && accepted < Cases, $"{accepted} of {Cases} mutated files were accepted");
        Assert.True(messages.Count >= 10, $"the mutations reached only {messages.Count} kinds of error");
    }

    public static TheoryData<string, byte[]> HugeClaims()
    {
        static byte[] Header(uint magic, params uint[] fields)
        {
            var bytes = new byte[4 + 4 * fields.Length];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, magic);
            for (int i = 0; i < fields.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + 4 * i), fields[i]);
            return bytes;
        }
        return new TheoryData<string, byte[]>
        {
            // 2^30 x 2^30 x 16 = 2^64: the byte count wraps to 0 in 64 bits and must not equal the 16-byte file.
            { "image count x rows x cols wraps to zero", Header(0x803, 1 << 30, 1 << 30, 16) },
            // 2147418113 x 1718039348 x 5 = 2^64 + 4: wraps to exactly the 4 pixel bytes present.
            { "wraps to the pixel bytes present", [.. Header(0x803, 2147418113, 1718039348, 5), 1, 2, 3, 4] },
            { "largest dimensions", Header(0x803, int.MaxValue, int.MaxValue, int.MaxValue) },
            { "dimensions over int.MaxValue", Header(0x803, uint.MaxValue, 28, 28) },
            { "billions of labels", Header(0x801, 2_000_000_000) },
            { "billions of images, gzip", IdxReaderTests.Gzip(Header(0x803, 2_000_000_000, 28, 28)) },
        };
    }

    [Theory]
    [MemberData(nameof(HugeClaims))]
    public void Headers_claiming_more_than_the_file_holds_are_refused_without_allocating_it(string kind, byte[] file)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DataFormatException>(() =>
        {
            var (bytes, length) = IdxReader.Inflate(file, Name);
            if (BinaryPrimitives.ReadInt32BigEndian(bytes) == IdxReader.LabelsMagic) IdxReader.ParseLabels(bytes, length, Name);
            else IdxReader.ParseImages(bytes, length, Name);
        });
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < Slack, kind);
        Assert.StartsWith(Name + ": ", e.Message);
    }
}
