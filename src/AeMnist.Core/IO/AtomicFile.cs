// Writes a file so that readers see either the old content or the complete new content, never a part:
// the bytes go to a temporary file in the same directory, are flushed to disk, and the file is renamed
// into place. A crash or exception leaves the destination as it was (a power cut may leave a stray
// ".name.xxxx.tmp" beside it, never a half-written destination).
namespace AeMnist.IO;

/// <summary>Atomic whole-file writes: temporary file in the destination's directory, flush, rename.</summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically, replacing any existing file.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes) =>
        WriteCore(path, bytes, static (stream, b) => stream.Write(b));

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte order mark, atomically.</summary>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        WriteAllBytes(path, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text));
    }

    /// <summary>
    /// Lets <paramref name="write"/> fill a stream that becomes <paramref name="path"/> only once it returns
    /// normally. If it throws, the temporary file is deleted, the destination is untouched, and the
    /// exception propagates unchanged. The callback need not flush and must not dispose the stream.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        WriteCore(path, write, static (stream, w) => w(stream));
    }

    private static void WriteCore<TState>(string path, TState state, Action<Stream, TState> write)
        where TState : allows ref struct
    {
        string temp = CreateTempPath(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream, state);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    // Same directory as the destination so that the final rename never crosses file systems.
    private static string CreateTempPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' names no file.", nameof(path));
        return Path.Combine(directory, $".{Path.GetFileName(full)}.{Path.GetRandomFileName()}.tmp");
    }

    private static void TryDelete(string temp)
    {
        try { File.Delete(temp); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
