// Two things .NET does not say for certain on Linux: an exclusive lock that the kernel drops when its process dies
// (flock, so a killed training never leaves a run locked), and a rename that refuses to replace an existing
// directory (renameat2 with RENAME_NOREPLACE, so a run directory built under a temporary name appears complete, and
// only once). Elsewhere both fall back to .NET's nearest equivalents.
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AeMnist.IO;

/// <summary>An exclusive lock on a file, held until disposed or until the process ends (however it ends).</summary>
public sealed partial class FileLock : IDisposable
{
    private readonly FileStream _stream;

    private FileLock(FileStream stream) => _stream = stream;

    /// <summary>Creates <paramref name="path"/> if needed and locks it; null when another process (or another lock in this one) holds it.</summary>
    public static FileLock? TryAcquire(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            try { return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)); }
            catch (IOException e) when ((e.HResult & 0xFFFF) is 11 or 32 or 33) { return null; }
        }
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (IOException e) when ((e.HResult & 0xFFFF) == 11)
        {
            return null;  // .NET's own shared lock on open meets the holder's exclusive one
        }
        try
        {
            const int LockExclusive = 2, LockNonBlocking = 4, EWOULDBLOCK = 11;
            if (Flock(stream.SafeFileHandle, LockExclusive | LockNonBlocking) == 0) return new FileLock(stream);
            int errno = Marshal.GetLastPInvokeError();
            stream.Dispose();
            return errno == EWOULDBLOCK ? null : throw new IOException($"{path}: cannot lock: errno {errno}", errno);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>True when some process holds the lock on <paramref name="path"/> (false when the file is missing).</summary>
    public static bool IsHeld(string path)
    {
        if (!File.Exists(path)) return false;
        try
        {
            using FileLock? probe = TryAcquire(path);
            return probe is null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    public void Dispose() => _stream.Dispose();

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(SafeFileHandle fd, int operation);
}

public static partial class DirectoryRename
{
    private static bool _noReplaceMissing;

    /// <summary>
    /// Renames directory <paramref name="source"/> to <paramref name="destination"/> unless something exists there; returns
    /// false (and leaves both as they were) when it does.
    /// </summary>
    public static bool TryRenameNoReplace(string source, string destination)
    {
        if (OperatingSystem.IsLinux() && !_noReplaceMissing)
        {
            try
            {
                const int AtFdCwd = -100, RenameNoReplace = 1, EEXIST = 17, ENOTEMPTY = 39, EINVAL = 22, ENOSYS = 38;
                if (RenameAt2(AtFdCwd, source, AtFdCwd, destination, RenameNoReplace) == 0) return true;
                int errno = Marshal.GetLastPInvokeError();
                if (errno is EEXIST or ENOTEMPTY) return false;
                if (errno is not (EINVAL or ENOSYS)) throw new IOException($"cannot rename {source}: errno {errno}", errno);
                // A file system without RENAME_NOREPLACE: fall through to the checked move below.
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                _noReplaceMissing = true;
            }
        }
        if (Directory.Exists(destination) || File.Exists(destination)) return false;
        try
        {
            Directory.Move(source, destination);
            return true;
        }
        catch (IOException) when (Directory.Exists(destination) || File.Exists(destination))
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);
}
