using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.RegularExpressions;
using AeMnist.Serialization;
using Xunit.Abstractions;

namespace AeMnist.Core.Tests.Serialization;

/// <summary>
/// Seeded mutation fuzzing of the reader: thousands of damaged versions of a valid file, and the only thing
/// allowed to escape is a one-line <see cref="DataFormatException"/> naming the file. No file may take
/// long, and none may make the reader allocate more than a small multiple of its own size.
/// </summary>
public sealed class SafeTensorsFuzzTests(ITestOutputHelper output)
{
    private const string Name = "fuzz.safetensors";

    private const int Cases = 5000;

    /// <summary>Managed allocation any file may cause regardless of its size: the exception, its message, the JSON reader.</summary>
    private const long Slack = 256 * 1024;

    // Bytes that turn JSON into other valid or nearly valid JSON.
    private static readonly byte[] JsonBytes = "{}[]:,\"0123456789-.eE \\u_FBI"u8.ToArray();

    // Numbers that a shape or offset is rewritten to: claims of billions of elements or bytes.
    private static readonly string[] HugeNumbers = ["2147483647", "2147483648", "4294967296", "1000000000000", "18446744073709551615", "99999999999999999999"];

    private static byte[] Seed()
    {
        var stream = new MemoryStream();
        SafeTensors.Write(stream,
            [
                ("encoder.0.weight", [3, 2], new float[] { 1, 2, 3, 4, 5, 6 }),
                ("encoder.0.bias", [3], new float[] { -1, 0, 1 }),
                ("s", [], new float[] { 9 }),
                ("e", [0], Array.Empty<float>()),
            ],
            new Dictionary<string, string> { ["model"] = "dense", ["hidden"] = "3" });
        return stream.ToArray();
    }

    private static byte[] Mutate(byte[] original, Rng rng)
    {
        var bytes = new List<byte>(original);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        int edits = 1 + rng.NextInt(3);
        for (int e = 0; e < edits && bytes.Count > 0; e++)
        {
            int at = rng.NextInt(bytes.Count);
            int inHeader = 8 + rng.NextInt(Math.Max(1, Math.Min(headerEnd, bytes.Count) - 8));
            switch (rng.NextInt(9))
            {
                case 0: bytes[at] ^= (byte)(1 << rng.NextInt(8)); break;
                case 1: if (inHeader < bytes.Count) bytes[inHeader] = JsonBytes[rng.NextInt(JsonBytes.Length)]; break;
                case 2: bytes.RemoveRange(at, 1 + rng.NextInt(Math.Min(16, bytes.Count - at))); break;
                case 3: bytes.RemoveRange(at, bytes.Count - at); break;
                case 4: bytes.InsertRange(Math.Min(inHeader, bytes.Count), Enumerable.Range(0, 1 + rng.NextInt(8)).Select(_ => JsonBytes[rng.NextInt(JsonBytes.Length)])); break;
                case 5:
                    // A small change or a wild value in the header length.
                    if (bytes.Count >= 8)
                    {
                        ulong length = rng.NextInt(2) == 0 ? (ulong)(headerEnd - 8 + rng.NextInt(33) - 16) : rng.NextUInt64() >> rng.NextInt(64);
                        byte[] le = new byte[8];
                        BinaryPrimitives.WriteUInt64LittleEndian(le, length);
                        for (int i = 0; i < 8; i++) bytes[i] = le[i];
                    }
                    break;
                case 6: if (inHeader < bytes.Count && char.IsAsciiDigit((char)bytes[inHeader])) bytes[inHeader] = (byte)('0' + rng.NextInt(10)); break;
                case 7:
                    // A number in a shape or data_offsets becomes huge.
                    if (inHeader < bytes.Count && char.IsAsciiDigit((char)bytes[inHeader]))
                    {
                        int end = inHeader;
                        while (end < bytes.Count && char.IsAsciiDigit((char)bytes[end])) end++;
                        bytes.RemoveRange(inHeader, end - inHeader);
                        bytes.InsertRange(inHeader, System.Text.Encoding.ASCII.GetBytes(HugeNumbers[rng.NextInt(HugeNumbers.Length)]));
                    }
                    break;
                default: if (inHeader < bytes.Count) bytes[inHeader] = (byte)rng.NextInt(256); break;
            }
        }
        return bytes.ToArray();
    }

    [Fact]
    public void MutatedFiles_OnlyThrowOneLineDataFormatException()
    {
        byte[] seed = Seed();
        Assert.Equal(4, SafeTensors.Read(seed, Name).Names.Count);
        var rng = new Rng(20240607);
        var clock = Stopwatch.StartNew();
        int runs = 0, accepted = 0;
        var distinctMessages = new HashSet<string>();
        TimeSpan slowest = TimeSpan.Zero;
        long mostAllocated = 0;
        for (; runs < Cases; runs++)
        {
            byte[] bytes = Mutate(seed, rng);
            var one = Stopwatch.StartNew();
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                SafeTensorsFile f = SafeTensors.Read(bytes, Name);
                accepted++;
                foreach (string name in f.Names)
                {
                    TensorData t = f.Tensors[name];
                    Assert.Equal(t.Shape.Aggregate(1L, (p, d) => p * d), t.Data.LongLength);
                }
                Assert.True(f.Tensors.Values.Sum(t => (long)t.Data.Length) <= bytes.Length);
            }
            catch (DataFormatException e)
            {
                Assert.StartsWith(Name + ": ", e.Message);
                Assert.DoesNotContain('\n', e.Message);
                Assert.DoesNotContain('\r', e.Message);
                distinctMessages.Add(Regex.Replace(e.Message, @"\(.*\)|'.*'|\d+", "#"));
            }
            // The file's bytes are already in memory; decoding adds at most 4-byte floats for 2-byte F16 values.
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated <= Slack + 4L * bytes.Length, $"file {runs}: {allocated} bytes allocated for a {bytes.Length}-byte file");
            mostAllocated = Math.Max(mostAllocated, allocated);
            slowest = one.Elapsed > slowest ? one.Elapsed : slowest;
        }
        output.WriteLine($"{runs} files in {clock.ElapsedMilliseconds} ms, {accepted} accepted, slowest {slowest.TotalMilliseconds:F1} ms, " +
                         $"most allocated by one file {mostAllocated} bytes; errors: {string.Join(Environment.NewLine, distinctMessages.Order())}");
        // The allocation bound above is what proves no file costs more than its size; time only guards against a hang
        // (generous: the test must pass on a busy machine).
        Assert.True(slowest < TimeSpan.FromSeconds(30), $"one file took {slowest.TotalMilliseconds:F0} ms");
        Assert.True(accepted > 0 && accepted < runs, $"{accepted} of {runs} mutated files were accepted");
        Assert.True(distinctMessages.Count >= 10, $"the mutations reached only {distinctMessages.Count} kinds of error");
    }
}
