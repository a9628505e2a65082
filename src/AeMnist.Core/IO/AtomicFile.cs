// Writes a file so that readers see either the old content or the complete new content, never a part: the bytes go
// to a temporary file in the destination's directory, are flushed to disk, and the file is renamed into place.
// Atomic replacement is for regular files only. A character device (/dev/null, a terminal), a FIFO or a socket is
// written in place, as `cat > dest` would; a symbolic link is followed and its target replaced (the link stays);
// a directory or a block device is refused. An error is an IOException in the tool's words naming the destination
// (never the temporary name), and it leaves the destination as it was. Temporary names carry the writer's process
// id (".NAME.aemnist-PID-RANDOM.tmp"), so a temporary file stranded by a killed process is recognised as such and
// removed by the next write of the same file. After the rename the directory is synced too (POSIX: the new name
// reaches the disk only then), so a power cut after a write returns leaves the new file, not the old one or none.
using System.Runtime.InteropServices;

namespace AeMnist.IO;

/// <summary>Atomic whole-file writes: temporary file in the destination's directory, flush, rename, sync the directory.</summary>
public static partial class AtomicFile
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
    /// exception propagates (an I/O error as an IOException naming <paramref name="path"/>). The callback need not flush and must not dispose the stream.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        WriteCore(path, write, static (stream, w) => w(stream));
    }

    /// <summary>
    /// Writes <paramref name="count"/> files into <paramref name="directory"/>, file i named and filled by
    /// <paramref name="file"/>(i), each exactly as <see cref="WriteAllBytes"/> writes one (a temporary file, flushed to
    /// disk, renamed into place: never seen in part), except that the directory's stranded temporaries are looked for
    /// once and the directory is synced once, after the last rename, instead of for every file. (Anomaly maps are two
    /// files an image: scanning a directory that grows to 20,000 entries for every file made 10,000 maps take 83 s.)
    /// </summary>
    public static void WriteFiles(string directory, int count, Func<int, (string Name, byte[] Bytes)> file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!Directory.Exists(directory)) throw new IOException($"{directory}: cannot write: the directory does not exist");
        RemoveStaleTemporaries(directory);
        for (int i = 0; i < count; i++)
        {
            (string name, byte[] bytes) = file(i);
            WriteCore(System.IO.Path.Combine(directory, name), bytes, static (stream, b) => stream.Write(b), alone: false);
        }
        SyncDirectory(directory, directory);
    }

    /// <summary>
    /// A test seam: when set (for the current async flow only), it is asked before each write's commit and may return
    /// an exception to throw there, as a full disk would (see docs/reliability.md, "Full disk").
    /// </summary>
    internal static readonly AsyncLocal<Func<string, Exception?>?> Fault = new();

    /// <summary>The prefix of every temporary file of <paramref name="fileName"/>: ".NAME.aemnist-".</summary>
    internal static string TempPrefix(string fileName) => $".{fileName}.aemnist-";

    /// <summary>Where a write of <paramref name="path"/> really goes, and how.</summary>
    public static (string Path, bool InPlace) Destination(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        // /dev/stdout, /dev/fd/N, /proc/self/fd/N: the kernel's links to open descriptors; open them, never replace them.
        if (full.StartsWith("/dev/fd/", StringComparison.Ordinal) || full.StartsWith("/proc/", StringComparison.Ordinal)
            || full is "/dev/stdout" or "/dev/stderr" or "/dev/stdin")
            return (full, true);
        FileKind kind = FileKinds.Of(full, followLinks: false);
        if (kind == FileKind.SymbolicLink)
        {
            FileSystemInfo? target;
            try { target = File.ResolveLinkTarget(full, returnFinalTarget: true); }
            catch (IOException e) { throw FileErrors.Cannot("write", path, e); }
            if (target is null) return (full, false);
            string resolved = target.FullName;
            if (resolved.StartsWith("/proc/", StringComparison.Ordinal) || resolved.StartsWith("/dev/fd/", StringComparison.Ordinal))
                return (full, true);
            full = resolved;
            kind = FileKinds.Of(full, followLinks: false);
        }
        switch (kind)
        {
            case FileKind.Missing:
            case FileKind.Regular:
                return (full, false);
            case FileKind.CharacterDevice:
            case FileKind.Fifo:
            case FileKind.Socket:
                return (full, true);
            default:
                throw new IOException($"{path}: cannot write: it is {FileKinds.Describe(kind)}; give a file name");
        }
    }

    // alone: a single write, which removes its own stranded temporaries and syncs the directory after its rename; else
    // one of WriteFiles', which does both once for the whole directory.
    private static void WriteCore<TState>(string path, TState state, Action<Stream, TState> write, bool alone = true)
        where TState : allows ref struct
    {
        (string destination, bool inPlace) = Destination(path);
        if (inPlace)
        {
            WriteInPlace(path, destination, state, write);
            return;
        }
        string directory = System.IO.Path.GetDirectoryName(destination) ?? throw new IOException($"{path}: cannot write: it names no file");
        if (!Directory.Exists(directory))
            throw new IOException($"{path}: cannot write: directory {System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))} does not exist");
        string name = System.IO.Path.GetFileName(destination);
        if (alone) RemoveStaleTemporaries(directory, name);
        string temp = System.IO.Path.Combine(directory, $"{TempPrefix(name)}{Environment.ProcessId}-{System.IO.Path.GetRandomFileName()}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream, state);
                stream.Flush(flushToDisk: true);
            }
            if (Fault.Value?.Invoke(destination) is { } fault) throw fault;
            KeepMode(destination, temp);
            File.Move(temp, destination, overwrite: true);
            if (alone) SyncDirectory(directory, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw e is IOException { Message: var m } && m.StartsWith(path + ": ", StringComparison.Ordinal) ? e : FileErrors.Cannot("write", path, e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    // Devices, FIFOs, sockets and descriptor links: write through, as a shell redirection would; nothing to rename.
    private static void WriteInPlace<TState>(string path, string destination, TState state, Action<Stream, TState> write)
        where TState : allows ref struct
    {
        try
        {
            using var stream = new FileStream(destination, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1 << 16);
            write(stream, state);
            stream.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw FileErrors.Cannot("write", path, e);
        }
    }

    // A replaced file keeps its permission bits (a 0600 file stays private).
    private static void KeepMode(string destination, string temp)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(destination)) return;
        try { File.SetUnixFileMode(temp, File.GetUnixFileMode(destination)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Deletes the temporary files of <paramref name="fileName"/> in <paramref name="directory"/> whose writer is no longer
    /// running (a process killed during a write leaves one behind). Files of live processes, and files whose writer
    /// cannot be told, are left alone.
    /// </summary>
    public static void RemoveStaleTemporaries(string directory, string? fileName = null)
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            foreach (string temp in Directory.EnumerateFiles(directory, fileName is null ? ".*.aemnist-*.tmp" : $"{TempPrefix(fileName)}*.tmp"))
                if (WriterOf(System.IO.Path.GetFileName(temp)) is { } pid && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                    TryDelete(temp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>The process id in a temporary name ".NAME.aemnist-PID-RANDOM.tmp", or null.</summary>
    internal static int? WriterOf(string tempName)
    {
        int at = tempName.LastIndexOf(".aemnist-", StringComparison.Ordinal);
        if (at < 0 || !tempName.EndsWith(".tmp", StringComparison.Ordinal)) return null;
        string rest = tempName[(at + ".aemnist-".Length)..];
        int dash = rest.IndexOf('-');
        return dash > 0 && int.TryParse(rest.AsSpan(0, dash), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }

    private static void TryDelete(string temp)
    {
        try { File.Delete(temp); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// fsync on the directory, so that the rename itself is on disk. A directory that cannot be opened for reading (or a
    /// platform without directory handles, Windows) keeps the rename as it stands; an I/O error while syncing is an error.
    /// </summary>
    internal static void SyncDirectory(string directory, string path)
    {
        if (OperatingSystem.IsWindows()) return;
        int cloexec = OperatingSystem.IsLinux() ? 0x80000 : OperatingSystem.IsMacOS() ? 0x1000000 : 0;  // O_CLOEXEC
        int fd = Open(directory, 0 /* O_RDONLY */ | cloexec);
        if (fd < 0) return;
        try
        {
            if (Fsync(fd) != 0 && Marshal.GetLastPInvokeError() == 5 /* EIO */)
                throw new IOException($"{path}: cannot write: the disk reported an I/O error while saving the directory {directory}");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
