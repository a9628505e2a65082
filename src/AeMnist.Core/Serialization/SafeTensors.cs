// Reads and writes the safetensors format (huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of UTF-8 JSON naming each tensor's dtype, shape and byte range, then the raw
// little-endian data. The writer produces what Python's safetensors.torch.save_file produces for the
// same tensor order; the reader accepts any valid file with F32 (or F64/F16/BF16/I64, converted) tensors.
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using AeMnist.IO;

namespace AeMnist.Serialization;

/// <summary>safetensors reader and writer for float32 tensors with a string metadata map.</summary>
public static class SafeTensors
{
    /// <summary>The largest JSON header accepted, in bytes (the reference implementation's limit).</summary>
    public const int MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>
    /// Reads and validates a safetensors file. Every problem with the file, including a missing or
    /// unreadable one, is a <see cref="DataFormatException"/> with a one-line message; see
    /// <see cref="Read(ReadOnlySpan{byte}, string)"/> for what is checked. The file is opened once and read in order:
    /// the header length, the header, then (only once the header has been checked, by this reader and by
    /// <paramref name="checkHeader"/>, which may throw) exactly the data the header describes, plus one byte to tell a
    /// longer file. So a device (/dev/zero), a FIFO or a header that claims gigabytes costs a few bytes.
    /// </summary>
    public static SafeTensorsFile Read(string path, Action<SafeTensorsHeaderInfo>? checkHeader = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FileKind kind = FileKinds.Of(path);
        if (kind == FileKind.Directory) throw new DataFormatException($"{path}: is a directory, not a safetensors file");
        if (kind == FileKind.Missing) throw new DataFormatException(IO.FileErrors.NotFound(path));
        string name = Path.GetFileName(path);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            long? length = kind == FileKind.Regular ? stream.Length : null;
            var prefix = new byte[8];
            int got = ReadUpTo(stream, prefix, 0, 8);
            if (got < 8) return Read(prefix.AsSpan(0, got), name);  // too short: the span reader says so
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (length is { } n && headerLength > (ulong)(n - 8))
                throw SafeTensorsHeader.Bad(name, $"header length {headerLength} runs past the end of the file ({n} bytes); the file is truncated or not safetensors");
            if (headerLength > MaxHeaderBytes)
                throw SafeTensorsHeader.Bad(name, $"header length {headerLength} is over the {MaxHeaderBytes}-byte limit; the file is corrupt or not safetensors");
            var header = new byte[8 + (int)headerLength];
            prefix.CopyTo(header, 0);
            int read = ReadUpTo(stream, header, 8, (int)headerLength);
            if (read < (int)headerLength)
                throw SafeTensorsHeader.Bad(name, $"header length {headerLength} runs past the end of the file ({8 + read} bytes); the file is truncated or not safetensors");
            var (entries, metadata) = SafeTensorsHeader.Parse(header.AsSpan(8), name);
            ulong dataEnd = entries.Count == 0 ? 0 : entries.Max(e => e.End);
            long dataLength = length is { } total ? total - 8 - (long)headerLength : (long)Math.Min(dataEnd, (ulong)Array.MaxLength);
            if (dataLength > Array.MaxLength - header.Length)
                throw SafeTensorsHeader.Bad(name, $"file is {8 + (long)headerLength + dataLength} bytes, more than the {Array.MaxLength} bytes aemnist can read");
            long[] elements = CheckEntries(entries, (int)dataLength, name);
            checkHeader?.Invoke(new SafeTensorsHeaderInfo(
                entries.Select((e, i) => (e.Name, Array.ConvertAll(e.Shape, d => (int)d), elements[i])).ToList(), metadata));
            // The data: exactly what the header describes (and one byte more, to tell a stream that goes on).
            var all = new byte[header.Length + dataLength + (length is null ? 1 : 0)];
            header.CopyTo(all, 0);
            int dataRead = ReadUpTo(stream, all, header.Length, all.Length - header.Length);
            if (length is null && dataRead > dataLength)
                throw SafeTensorsHeader.Bad(name, $"bytes follow the last tensor's data (at byte {header.Length + dataLength}); the file is corrupt");
            return Read(all.AsSpan(0, header.Length + dataRead), name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{path}: cannot read file ({FileErrors.Reason(e)})", e);
        }
    }

    /// <summary>The checked header of a safetensors file (names, shapes, metadata) without reading its data.</summary>
    public static SafeTensorsHeaderInfo ReadHeader(string path)
    {
        try
        {
            Read(path, header => throw new HeaderRead(header));
        }
        catch (HeaderRead read)
        {
            return read.Header;
        }
        throw new InvalidOperationException("unreachable: the header callback always throws");
    }

    private sealed class HeaderRead(SafeTensorsHeaderInfo header) : Exception
    {
        public SafeTensorsHeaderInfo Header { get; } = header;
    }

    private static int ReadUpTo(Stream stream, byte[] buffer, int offset, int count) =>
        stream.ReadAtLeast(buffer.AsSpan(offset, count), count, throwOnEndOfStream: false);

    /// <summary>
    /// Parses safetensors bytes; <paramref name="displayName"/> starts every error message. Checks: the
    /// header length fits in the file and is at most <see cref="MaxHeaderBytes"/>; the header is UTF-8 JSON,
    /// an object whose entries are tensors (exactly <c>dtype</c>, <c>shape</c>, <c>data_offsets</c>) or
    /// <c>__metadata__</c> (an object of strings, or null); no name appears twice; dtype is F32, F64, F16,
    /// BF16 or I64 (converted to float32; anything else is an error naming the dtype); every tensor's byte range
    /// lies in the data section and matches shape × dtype size; ranges do not overlap and together cover
    /// the data section with no gap or trailing bytes. Nothing is allocated before the sizes are checked
    /// against the input, so no header can make the reader allocate more than about twice the input.
    /// </summary>
    public static SafeTensorsFile Read(ReadOnlySpan<byte> bytes, string displayName)
    {
        string file = displayName;
        if (bytes.Length < 8)
            throw SafeTensorsHeader.Bad(file, $"file is {bytes.Length} bytes, too short for the 8-byte header length; the file is truncated or not safetensors");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8))
            throw SafeTensorsHeader.Bad(file, $"header length {headerLength} runs past the end of the file ({bytes.Length} bytes); the file is truncated or not safetensors");
        if (headerLength > MaxHeaderBytes)
            throw SafeTensorsHeader.Bad(file, $"header length {headerLength} is over the {MaxHeaderBytes}-byte limit; the file is corrupt or not safetensors");
        ReadOnlySpan<byte> data = bytes[(8 + (int)headerLength)..];
        var (entries, metadata) = SafeTensorsHeader.Parse(bytes.Slice(8, (int)headerLength), file);

        long[] elements = CheckEntries(entries, data.Length, file);
        var names = new string[entries.Count];
        var tensors = new Dictionary<string, TensorData>(entries.Count, StringComparer.Ordinal);
        int[] order = CheckLayout(entries, data.Length, file);
        for (int k = 0; k < order.Length; k++)
        {
            SafeTensorsEntry entry = entries[order[k]];
            names[k] = entry.Name;
            int[] shape = Array.ConvertAll(entry.Shape, d => (int)d);
            tensors.Add(entry.Name, new TensorData(shape, Decode(data[(int)entry.Begin..(int)entry.End], entry.DType, elements[order[k]])));
        }
        return new SafeTensorsFile(names, tensors, metadata);
    }

    /// <summary>Bytes per element of each accepted dtype.</summary>
    private static int Size(SafeTensorsDType type) => type switch
    {
        SafeTensorsDType.F64 or SafeTensorsDType.I64 => 8,
        SafeTensorsDType.F32 => 4,
        _ => 2,
    };

    /// <summary>Per tensor, in header order: sizes that fit, offsets in range, and byte count = elements × size. Returns the element counts.</summary>
    private static long[] CheckEntries(List<SafeTensorsEntry> entries, int dataLength, string file)
    {
        var elements = new long[entries.Count];
        for (int i = 0; i < entries.Count; i++)
        {
            SafeTensorsEntry e = entries[i];
            string name = SafeTensorsHeader.Quote(e.Name);
            string shape = ShapeText(e.Shape);
            ulong count = 1;
            foreach (ulong d in e.Shape)
            {
                // A zero dimension makes the product zero, so each dimension must fit an int on its own too.
                if (d > int.MaxValue || (count != 0 && d > (ulong)Array.MaxLength / count))
                    throw SafeTensorsHeader.Bad(file, $"tensor {name} has shape {shape}, more than the {Array.MaxLength} elements aemnist can hold");
                count *= d;
            }
            elements[i] = (long)count;
            string range = $"[{e.Begin}, {e.End}]";
            if (e.Begin > e.End)
                throw SafeTensorsHeader.Bad(file, $"tensor {name} has data_offsets {range} that end before they begin; the file is corrupt");
            if (e.End > (ulong)dataLength)
                throw SafeTensorsHeader.Bad(file, $"tensor {name} has data_offsets {range} past the end of the data ({dataLength} bytes); the file is truncated or corrupt");
            ulong needed = count * (ulong)Size(e.DType);
            if (e.End - e.Begin != needed)
                throw SafeTensorsHeader.Bad(file, $"tensor {name} has data_offsets {range} ({e.End - e.Begin} bytes) but shape {shape} of {e.DType} needs {needed} bytes; the file is corrupt");
        }
        return elements;
    }

    /// <summary>
    /// Sorts the tensors by offset and checks that they tile the data section exactly: no overlap, no gap,
    /// no trailing bytes. Returns the indices in data order.
    /// </summary>
    private static int[] CheckLayout(List<SafeTensorsEntry> entries, int dataLength, string file)
    {
        int[] order = Enumerable.Range(0, entries.Count)
            .OrderBy(i => entries[i].Begin).ThenBy(i => entries[i].End).ThenBy(i => i).ToArray();
        ulong cursor = 0;
        SafeTensorsEntry? previous = null;
        foreach (int i in order)
        {
            SafeTensorsEntry e = entries[i];
            if (e.Begin < cursor)
                throw SafeTensorsHeader.Bad(file,
                    $"tensors {SafeTensorsHeader.Quote(previous!.Name)} [{previous.Begin}, {previous.End}] and {SafeTensorsHeader.Quote(e.Name)} [{e.Begin}, {e.End}] overlap; the file is corrupt");
            if (e.Begin > cursor)
                throw SafeTensorsHeader.Bad(file, $"data bytes [{cursor}, {e.Begin}] belong to no tensor; the file is corrupt");
            cursor = e.End;
            previous = e;
        }
        if (cursor < (ulong)dataLength)
            throw SafeTensorsHeader.Bad(file, $"{(ulong)dataLength - cursor} trailing bytes after the last tensor belong to no tensor; the file is corrupt");
        return order;
    }

    private static float[] Decode(ReadOnlySpan<byte> raw, SafeTensorsDType type, long count)
    {
        var values = new float[count];
        switch (type)
        {
            case SafeTensorsDType.F32 when BitConverter.IsLittleEndian:
                raw.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
                break;
            case SafeTensorsDType.F32:
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]);
                break;
            case SafeTensorsDType.F64:
                for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]);
                break;
            case SafeTensorsDType.I64:
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * i)..]);
                break;
            case SafeTensorsDType.F16:
                for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(2 * i)..]);
                break;
            case SafeTensorsDType.BF16:
                // bfloat16 is the top half of a float32.
                for (int i = 0; i < values.Length; i++)
                    values[i] = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]) << 16);
                break;
        }
        return values;
    }

    private static string ShapeText<T>(IEnumerable<T> shape) => $"[{string.Join(", ", shape)}]";

    /// <summary>
    /// Writes F32 tensors and a metadata map to <paramref name="path"/> atomically (see <see cref="AtomicFile"/>).
    /// Tensors are stored in the given order, contiguously; the header is compact JSON (<c>__metadata__</c>
    /// first with keys in ordinal order, then the tensors in the given order) padded with spaces to a
    /// multiple of 8 bytes, as the reference writer does. An empty or null metadata map writes no
    /// <c>__metadata__</c>. The same input always gives the same bytes.
    /// </summary>
    /// <exception cref="ArgumentException">A name is repeated or is <c>__metadata__</c>, a shape has a negative
    /// dimension or does not match its data's length, or a metadata key or value is null.</exception>
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, ReadOnlyMemory<float> Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var list = Validate(tensors, metadata);
        byte[] header = BuildHeader(list, metadata);
        AtomicFile.Write(path, stream => WriteTo(stream, header, list));
    }

    /// <summary>Writes the same bytes as <see cref="Write(string, IEnumerable{ValueTuple{string, int[], ReadOnlyMemory{float}}}, IReadOnlyDictionary{string, string}?)"/> to a stream.</summary>
    public static void Write(Stream destination, IEnumerable<(string Name, int[] Shape, ReadOnlyMemory<float> Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var list = Validate(tensors, metadata);
        WriteTo(destination, BuildHeader(list, metadata), list);
    }

    private static List<(string Name, int[] Shape, ReadOnlyMemory<float> Data)> Validate(
        IEnumerable<(string Name, int[] Shape, ReadOnlyMemory<float> Data)> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, shape, data) in list)
        {
            if (name is null) throw new ArgumentException("A tensor name is null.", nameof(tensors));
            if (name == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is reserved and cannot name a tensor.", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"Tensor '{name}' is given twice.", nameof(tensors));
            if (shape is null) throw new ArgumentException($"Tensor '{name}' has a null shape.", nameof(tensors));
            long count = 1;
            foreach (int d in shape)
            {
                if (d < 0) throw new ArgumentException($"Tensor '{name}' has shape {ShapeText(shape)} with a negative dimension.", nameof(tensors));
                count *= d;
            }
            if (count != data.Length)
                throw new ArgumentException($"Tensor '{name}' has shape {ShapeText(shape)} ({count} elements) but {data.Length} values.", nameof(tensors));
        }
        if (metadata is not null)
            foreach (var (key, value) in metadata)
                if (key is null || value is null) throw new ArgumentException("Metadata keys and values must not be null.", nameof(metadata));
        return list;
    }

    /// <summary>
    /// The header as serde_json writes it (no spaces; only '"', '\' and control characters escaped), followed by
    /// spaces up to a multiple of 8 bytes.
    /// </summary>
    private static byte[] BuildHeader(List<(string Name, int[] Shape, ReadOnlyMemory<float> Data)> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new StringBuilder("{");
        if (metadata is { Count: > 0 })
        {
            AppendJsonString(json, MetadataKey).Append(":{");
            bool first = true;
            foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (!first) json.Append(',');
                first = false;
                AppendJsonString(json, key).Append(':');
                AppendJsonString(json, value);
            }
            json.Append('}');
            if (tensors.Count > 0) json.Append(',');
        }
        long offset = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            var (name, shape, data) = tensors[i];
            long end = offset + 4L * data.Length;
            if (i > 0) json.Append(',');
            AppendJsonString(json, name).Append(":{\"dtype\":\"F32\",\"shape\":[")
                .AppendJoin(',', shape).Append(CultureInfo.InvariantCulture, $"],\"data_offsets\":[{offset},{end}]}}");
            offset = end;
        }
        json.Append('}');
        // Strict encoding: a lone surrogate in a name is the caller's error, not a '?' in the file.
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        int length;
        try { length = utf8.GetByteCount(json.ToString()); }
        catch (EncoderFallbackException e) { throw new ArgumentException("A tensor name or metadata string is not valid Unicode.", e); }
        int padded = (length + 7) / 8 * 8;
        byte[] header = new byte[padded];
        utf8.GetBytes(json.ToString(), header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }

    private static StringBuilder AppendJsonString(StringBuilder json, string text)
    {
        json.Append('"');
        foreach (char c in text)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case < ' ': json.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"); break;
                default: json.Append(c); break;
            }
        }
        return json.Append('"');
    }

    private static void WriteTo(Stream stream, byte[] header, List<(string Name, int[] Shape, ReadOnlyMemory<float> Data)> tensors)
    {
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        byte[] buffer = BitConverter.IsLittleEndian ? [] : new byte[4096];
        foreach (var (_, _, data) in tensors)
        {
            ReadOnlySpan<float> values = data.Span;
            if (BitConverter.IsLittleEndian)
            {
                stream.Write(MemoryMarshal.AsBytes(values));
                continue;
            }
            for (int start = 0; start < values.Length; start += buffer.Length / 4)
            {
                int n = Math.Min(buffer.Length / 4, values.Length - start);
                for (int i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(4 * i), values[start + i]);
                stream.Write(buffer, 0, 4 * n);
            }
        }
    }
}
