using System.Buffers.Binary;
using AeMnist.Data;
using AeMnist.IO;
using AeMnist.Runs;
using AeMnist.Serialization;
using AeMnist.Training;
using CsCheck;

namespace AeMnist.Core.Tests.Data;

/// <summary>
/// Property tests (CsCheck) of the readers, beside the seeded mutation fuzz (issue 12): for any header and any bytes, the
/// IDX and safetensors readers either accept a self-consistent file or throw one one-line DataFormatException naming it;
/// they never allocate from a claim (an infinite stream, like /dev/zero, costs a header); text quoted from a file is
/// escaped and cut; and the one number grammar never reads a comma, a space or a NUL as part of a number.
/// </summary>
public sealed class ReaderPropertyTests
{
    private const string Seed = "0N0XIzNsQ0O2";
    private const string Name = "prop-file";

    // Headers built from interesting values: the two magics, dimension counts, small and huge counts.
    private static readonly Gen<uint> Field = Gen.OneOf(Gen.UInt[0, 64], Gen.Const(0x803u), Gen.Const(0x801u), Gen.Const(28u),
        Gen.UInt[1u << 20, 1u << 31], Gen.Const(uint.MaxValue), Gen.UInt);

    private static readonly Gen<byte[]> IdxFiles =
        Gen.Select(Gen.OneOf(Gen.Const(0x803u), Gen.Const(0x801u), Field), Field, Field, Field, Gen.Byte.Array[0, 200], Gen.Bool)
            .Select((magic, a, b, c, body, gzip) =>
            {
                var header = new byte[16];
                BinaryPrimitives.WriteUInt32BigEndian(header, magic);
                BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), a);
                BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), b);
                BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), c);
                byte[] file = [.. header, .. body];
                return gzip ? IdxReaderTests.Gzip(file) : file;
            });

    [Fact]
    public void The_IDX_reader_accepts_a_consistent_file_or_throws_one_line_naming_it()
    {
        IdxFiles.Sample(file =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                var (bytes, length) = IdxReader.Inflate(file, Name);
                if (length >= 4 && BinaryPrimitives.ReadInt32BigEndian(bytes) == IdxReader.LabelsMagic)
                    Assert.Equal(8 + IdxReader.ParseLabels(bytes, length, Name).Length, length);
                else
                {
                    ImageSet set = IdxReader.ParseImages(bytes, length, Name);
                    Assert.Equal(16 + set.Pixels.LongLength, length);
                }
            }
            catch (DataFormatException e)
            {
                Assert.StartsWith(Name + ": ", e.Message);
                Assert.DoesNotContain('\n', e.Message);
            }
            // Never more than a few buffers plus what the bytes could inflate to: no header claim is allocated.
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 512 * 1024 + 1100L * file.Length * 6);
        }, seed: Seed, iter: 3000, threads: 1);
    }

    /// <summary>A stream that never ends, as /dev/zero or a FIFO that keeps writing.</summary>
    private sealed class Endless(byte fill) : Stream
    {
        public long Served { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            buffer.AsSpan(offset, count).Fill(fill);
            Served += count;
            return count;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0xFF)]
    [InlineData(0x08)]
    public void An_endless_stream_costs_its_header_not_memory(byte fill)
    {
        var stream = new Endless(fill);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DataFormatException>(() =>
        {
            using IdxFile file = IdxFile.Open(stream, null, "zero");
            file.Reserve(new ReadBudget(IdxReader.MaxDecompressedBytes));
            var (bytes, length) = file.ReadAll();
            IdxReader.ParseImages(bytes, length, "zero");
        });
        Assert.StartsWith("zero: ", e.Message);
        Assert.True(stream.Served < 1 << 20, $"{stream.Served} bytes read");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void A_budget_is_shared_the_files_together_cannot_exceed_it()
    {
        var budget = new ReadBudget(1000, " for the four files together");
        using IdxFile a = IdxFile.Open(new MemoryStream(IdxReaderTests.Gzip(IdxReaderTests.ImageFile(1, 20, 20))), null, "a");
        using IdxFile b = IdxFile.Open(new MemoryStream(IdxReaderTests.Gzip(IdxReaderTests.ImageFile(2, 20, 20))), null, "b");
        a.Reserve(budget);  // 416 bytes
        var e = Assert.Throws<DataFormatException>(() => b.Reserve(budget));  // 816 more: over 1000 together
        Assert.Contains("for the four files together", e.Message);
        Assert.Equal(416, a.ReadAll().Length);
    }

    private static readonly Gen<string> JsonishText = Gen.String[Gen.Char["{}[]\":,0123456789 aeFf.-_\\u\n\u001b"], 0, 80];

    [Fact]
    public void The_safetensors_reader_never_reads_data_before_its_header_is_checked()
    {
        Gen.Select(JsonishText, Gen.ULong[0, 1 << 12], Gen.Byte.Array[0, 64]).Sample((header, claimed, data) =>
        {
            byte[] text = System.Text.Encoding.UTF8.GetBytes(header);
            byte[] file = [.. BitConverter.GetBytes(claimed == 0 ? (ulong)text.Length : claimed), .. text, .. data];
            string path = Path.Combine(Path.GetTempPath(), $"aemnist-prop-{Guid.NewGuid():N}.safetensors");
            File.WriteAllBytes(path, file);
            try
            {
                bool checkedFirst = false;
                SafeTensorsFile read = SafeTensors.Read(path, _ => checkedFirst = true);
                Assert.True(checkedFirst);
                Assert.Equal(read.Names.Count, read.Tensors.Count);
            }
            catch (DataFormatException e)
            {
                Assert.DoesNotContain('\n', e.Message);
                Assert.DoesNotContain('\u001b', e.Message);
            }
            finally
            {
                File.Delete(path);
            }
        }, seed: Seed, iter: 1500, threads: 1);
    }

    [Fact]
    public void Quoted_file_text_is_escaped_and_cut()
    {
        Gen.Select(Gen.String[Gen.Char, 0, 400], Gen.Int[1, 100]).Sample((text, max) =>
        {
            string quoted = MessageText.Quote(text, max);
            Assert.True(quoted.Length <= max + 5, $"{quoted.Length} > {max} + 5");
            Assert.DoesNotContain(quoted, char.IsControl);
            Assert.DoesNotContain('\u2028', quoted);
            Assert.StartsWith("'", quoted);
            Assert.EndsWith("'", quoted);
        }, seed: Seed, iter: 3000, threads: 1);
    }

    [Fact]
    public void History_text_round_trips_and_any_damage_is_one_line_naming_the_source()
    {
        var rows = Gen.Select(Gen.Double[0, 10], Gen.Double[0, 10], Gen.Bool, Gen.Double[0, 100]).Array[0, 30]
            .Select(r => r.Select((x, i) => new EpochRecord(i + 1, x.Item1, x.Item3 ? x.Item2 : null, Math.Round(x.Item4, 4), false)).ToList());
        rows.Sample(history =>
        {
            List<EpochRecord> back = HistoryFile.Parse(HistoryFile.Text(history), "h");
            Assert.Equal(history.Select(h => (h.Epoch, h.TrainLoss, h.MonitorLoss)), back.Select(h => (h.Epoch, h.TrainLoss, h.MonitorLoss)));
        }, seed: Seed, iter: 500, threads: 1);
        Gen.String[Gen.Char["0123456789.,eE-\n\u001b\u0000x"], 0, 200].Sample(text =>
        {
            try { HistoryFile.Parse("epoch,train_loss,monitor_loss,seconds\n" + text, "h"); }
            catch (DataFormatException e)
            {
                Assert.StartsWith("h line ", e.Message);
                Assert.DoesNotContain('\n', e.Message);
                Assert.DoesNotContain('\u001b', e.Message);
                Assert.DoesNotContain('\u0000', e.Message);
            }
        }, seed: Seed, iter: 3000, threads: 1);
    }

    [Fact]
    public void The_number_grammar_never_reads_a_comma_a_space_or_a_NUL()
    {
        Gen.String[Gen.Char["0123456789.,-+eE \u0000\u00a0"], 0, 14].Sample(text =>
        {
            bool any = StrictNumbers.TryParseDouble(text, out _) | StrictNumbers.TryParseInt(text, out _) | StrictNumbers.TryParseULong(text, out _);
            if (any) Assert.True(text.Length > 0 && text.All(c => c is not (',' or ' ' or '\u0000' or '\u00a0')), text);
        }, seed: Seed, iter: 5000, threads: 1);
        Gen.Int.Sample(i => StrictNumbers.TryParseInt(i.ToString(System.Globalization.CultureInfo.InvariantCulture), out int back) && back == i, seed: Seed, iter: 1000, threads: 1);
    }
}
