// One IDX file being read: opened once, its header read first (inflated first, when gzip), and only then, once the
// header's size has been checked against the file's length and the caller's budget, the rest. So /dev/zero, a FIFO,
// a 1 KB gzip file that inflates to gigabytes, or a header claiming billions of images costs a few bytes, and the
// four MNIST files together can never take more than one budget, however they are made.
using System.Buffers.Binary;
using System.IO.Compression;
using AeMnist.IO;

namespace AeMnist.Data;

/// <summary>Bytes that several readers may hold together; each reserves what its header declares before reading it.</summary>
public sealed class ReadBudget(long bytes, string scope = "")
{
    private long _left = bytes;

    public long Total { get; } = bytes;

    /// <summary>What the budget covers, for messages: "" (one file) or " for the four files together".</summary>
    public string Scope { get; } = scope;

    /// <summary>Takes <paramref name="count"/> bytes from the budget, or returns false (and takes nothing) when fewer are left.</summary>
    public bool TryTake(long count)
    {
        while (true)
        {
            long left = Volatile.Read(ref _left);
            if (count > left) return false;
            if (Interlocked.CompareExchange(ref _left, left - count, left) == left) return true;
        }
    }
}

/// <summary>An IDX file (raw or gzip) whose header has been read and whose full size is known before the rest is read.</summary>
internal sealed class IdxFile : IDisposable
{
    private const int HeaderBytes = 16;

    private readonly Stream _file;
    private readonly Stream _source;
    private readonly byte[] _head;
    private readonly int _headLength;
    private readonly long? _knownLength;
    private bool _reserved;

    /// <summary>A gzip file's trailer (its inflated size mod 2^32): the first buffer's size when it agrees with the header, never trusted beyond it.</summary>
    private long _sizeHint;

    public string Name { get; }

    /// <summary>The bytes the file will hold when read: the header's claim (or, for a header that cannot be read, what was read).</summary>
    public long Declared { get; }

    /// <summary>"60000 images of 28x28" or "60000 labels", from the header (for messages).</summary>
    public string Claim { get; }

    private IdxFile(Stream file, Stream source, byte[] head, int headLength, long? knownLength, string name, long declared, string claim)
    {
        (_file, _source, _head, _headLength, _knownLength) = (file, source, head, headLength, knownLength);
        (Name, Declared, Claim) = (name, declared, claim);
    }

    /// <summary>Opens <paramref name="path"/> and reads its header; a missing, unreadable or unsuitable file is a <see cref="DataFormatException"/>.</summary>
    public static IdxFile Open(string path)
    {
        FileKind kind = FileKinds.Of(path);
        if (kind == FileKind.Missing) throw new DataFormatException(FileErrors.NotFound(path));
        if (kind == FileKind.Directory) throw new DataFormatException($"{path}: is a directory, not an IDX file");
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{path}: cannot read file ({FileErrors.Reason(e)})", e);
        }
        try
        {
            long? length = kind == FileKind.Regular ? stream.Length : null;
            long hint = 0;
            if (length >= 18)
            {
                Span<byte> trailer = stackalloc byte[4];
                stream.Seek(-4, SeekOrigin.End);
                stream.ReadExactly(trailer);
                hint = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
                stream.Seek(0, SeekOrigin.Begin);
            }
            IdxFile file = Open(stream, length, Path.GetFileName(path));
            file._sizeHint = hint;
            return file;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads the header from <paramref name="file"/>, whose length is <paramref name="length"/> when known (a regular file).</summary>
    public static IdxFile Open(Stream file, long? length, string name)
    {
        var head = new byte[HeaderBytes];
        int got = Guard(name, () => ReadUpTo(file, head, 0, 2));
        bool gzip = got == 2 && head[0] == 0x1F && head[1] == 0x8B;
        Stream source = file;
        long? knownLength = length;
        if (gzip)
        {
            source = new GZipStream(new PrefixedStream(head[..2], file), CompressionMode.Decompress);
            knownLength = null;  // the inflated length is only known once inflated
            got = 0;
        }
        try
        {
            got += Guard(name, () => ReadUpTo(source, head, got, HeaderBytes - got));
            (long declared, string claim) = Declare(head, got, knownLength, name);
            return new IdxFile(file, source, head, got, knownLength, name, declared, claim);
        }
        catch
        {
            if (gzip) source.Dispose();
            throw;
        }
    }

    // What the header says the whole file holds. A header that cannot be read (too short, unknown magic, impossible
    // dimensions) declares just the bytes read: the parser then says what is wrong with it.
    private static (long Declared, string Claim) Declare(byte[] head, int got, long? knownLength, string name)
    {
        if (got < 8) return (got, "");
        int magic = BinaryPrimitives.ReadInt32BigEndian(head);
        uint count = BinaryPrimitives.ReadUInt32BigEndian(head.AsSpan(4));
        if (magic == IdxReader.LabelsMagic && count <= int.MaxValue) return (8 + count, $"{count} labels");
        if (magic == IdxReader.ImagesMagic && got == HeaderBytes)
        {
            uint rows = BinaryPrimitives.ReadUInt32BigEndian(head.AsSpan(8)), cols = BinaryPrimitives.ReadUInt32BigEndian(head.AsSpan(12));
            if (count <= int.MaxValue && rows <= int.MaxValue && cols <= int.MaxValue && rows > 0 && cols > 0)
            {
                Int128 bytes = 16 + (Int128)count * rows * cols;
                return (bytes > long.MaxValue ? long.MaxValue : (long)bytes, $"{count} images of {rows}x{cols}");
            }
        }
        return (got, "");
    }

    /// <summary>
    /// Takes <see cref="Declared"/> bytes from <paramref name="budget"/>. A header that does not match a known file length
    /// takes nothing (only its header is read). A claim larger than the budget is a <see cref="DataFormatException"/>.
    /// </summary>
    public void Reserve(ReadBudget budget)
    {
        if (_knownLength is { } length && length != Declared) return;
        if (Declared > Array.MaxLength || !budget.TryTake(Declared))
        {
            long mib = budget.Total >> 20;
            throw new DataFormatException(_knownLength is not null
                ? $"{Name}: file is {Declared} bytes; aemnist reads at most {mib} MiB of IDX data{budget.Scope}"
                : $"{Name}: header says {Claim} ({Declared} bytes), more than the {mib} MiB aemnist reads{budget.Scope}; the file is corrupt or not MNIST");
        }
        _reserved = true;
    }

    /// <summary>
    /// The file's bytes and its length. When the header does not match a known length, only the header is returned (with the
    /// true length, for the parser's message); otherwise the whole file, read (or inflated) up to what the header declares.
    /// </summary>
    public (byte[] Bytes, long Length) ReadAll()
    {
        if (_knownLength is { } known && known != Declared) return (_head[.._headLength], known);
        if (Declared <= _headLength)
        {
            // A header that cannot be read: the parser reports it. A stream longer than its header says is an error here.
            if (_knownLength is null && Claim.Length > 0 && (Declared < _headLength || Guard(Name, () => ReadUpTo(_source, new byte[1], 0, 1)) > 0))
                throw new DataFormatException($"{Name}: header says {Claim} ({Declared} bytes), but the file holds more; the file is corrupt");
            return (_head[.._headLength], _knownLength ?? _headLength);
        }
        if (!_reserved) throw new InvalidOperationException("Reserve the file's bytes before reading them.");
        if (_knownLength is not null)
        {
            // A regular file of the declared length: one allocation of exactly its size.
            var all = new byte[Declared];
            _head.AsSpan(0, _headLength).CopyTo(all);
            int read = Guard(Name, () => ReadUpTo(_source, all, _headLength, all.Length - _headLength));
            return read + _headLength == Declared ? (all, Declared) : (all[..(read + _headLength)], read + _headLength);
        }
        // A stream of unknown length (gzip, FIFO, device): a buffer that grows with the bytes actually read, never past
        // the declared size plus one byte (which tells a longer file).
        long limit = Declared + 1;
        long first = _sizeHint == Declared % (1L << 32) && Declared > 0 ? Declared + 1 : 1 << 16;
        var buffer = new byte[(int)Math.Min(Math.Max(_headLength, first), limit)];
        _head.AsSpan(0, _headLength).CopyTo(buffer);
        long length = _headLength;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length >= limit) break;
                Array.Resize(ref buffer, (int)Math.Min(Math.Min((long)buffer.Length * 2, limit), Array.MaxLength));
            }
            int n = Guard(Name, () => _source.Read(buffer, (int)length, buffer.Length - (int)length));
            if (n == 0) break;
            length += n;
        }
        if (length > Declared)
            throw new DataFormatException($"{Name}: header says {Claim} ({Declared} bytes), but the file holds more; the file is corrupt");
        return (buffer, length);
    }

    public void Dispose()
    {
        if (!ReferenceEquals(_source, _file)) _source.Dispose();
        _file.Dispose();
    }

    private static int ReadUpTo(Stream stream, byte[] buffer, int offset, int count) =>
        stream.ReadAtLeast(buffer.AsSpan(offset, count), count, throwOnEndOfStream: false);

    // Reading errors in the reader's words.
    private static int Guard(string name, Func<int> read)
    {
        try { return read(); }
        catch (InvalidDataException e) { throw new DataFormatException($"{name}: corrupt gzip data; the file is damaged or not gzip", e); }
        catch (EndOfStreamException e) { throw new DataFormatException($"{name}: gzip data ends early; the file is truncated", e); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{name}: cannot read file ({FileErrors.Reason(e)})", e);
        }
    }
}
