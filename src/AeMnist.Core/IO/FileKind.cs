// What a path names on disk: a regular file, a directory, a device, a FIFO, a socket or a symbolic link. .NET only
// tells files from directories, but a writer must not rename a temporary file over /dev/null, and a reader must not
// read /dev/zero until memory runs out; so on Linux this asks the kernel (statx, whose layout is the same on every
// architecture), and elsewhere it falls back to what .NET knows. A file's identity (device and inode) and its real path
// (every symbolic link in it resolved) tell whether two spellings name one file or one directory.
using System.Runtime.InteropServices;

namespace AeMnist.IO;

public enum FileKind
{
    Missing,
    Regular,
    Directory,
    CharacterDevice,
    BlockDevice,
    Fifo,
    Socket,
    SymbolicLink,
}

public static partial class FileKinds
{
    /// <summary>The kind of <paramref name="path"/>; with <paramref name="followLinks"/> false a symbolic link is reported as one.</summary>
    public static FileKind Of(string path, bool followLinks = true)
    {
        if (OperatingSystem.IsLinux() && TryStatx(path, followLinks, out FileKind kind)) return kind;
        if (!followLinks && new FileInfo(path) is { LinkTarget: not null }) return FileKind.SymbolicLink;
        return Directory.Exists(path) ? FileKind.Directory : File.Exists(path) ? FileKind.Regular : FileKind.Missing;
    }

    /// <summary>
    /// What names the file or directory at <paramref name="path"/> (links followed) whatever the path's spelling: its
    /// device and inode on Linux ("dev:ino"), else its real path; null when it does not exist or cannot be examined.
    /// </summary>
    public static string? Identity(string path)
    {
        if (OperatingSystem.IsLinux() && TryStatxIdentity(path, out string? identity)) return identity;
        return Directory.Exists(path) || File.Exists(path) ? RealPath(path) : null;
    }

    /// <summary>
    /// <paramref name="path"/> made absolute with every symbolic link in it resolved (the final name too, where it
    /// exists): the name the kernel opens. Parts that do not exist stay as given.
    /// </summary>
    public static string RealPath(string path)
    {
        string full = Path.GetFullPath(path);
        // Resolve the longest existing prefix (the kernel's realpath on Linux), then append the rest unchanged.
        string existing = full, rest = "";
        while (Of(existing, followLinks: false) == FileKind.Missing && Path.GetDirectoryName(existing) is { } parent)
        {
            rest = rest.Length == 0 ? Path.GetFileName(existing) : Path.Combine(Path.GetFileName(existing), rest);
            existing = parent;
        }
        string resolved = ResolveAll(existing);
        return rest.Length == 0 ? resolved : Path.Combine(resolved, rest);
    }

    // Every link in an existing path resolved, one component at a time (at most 40 links, as the kernel allows).
    private static string ResolveAll(string full)
    {
        string? root = Path.GetPathRoot(full);
        if (string.IsNullOrEmpty(root)) return full;
        var pending = new Stack<string>(Enumerable.Reverse(full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries)));
        string current = root;
        int links = 0;
        while (pending.TryPop(out string? part))
        {
            if (part == ".") continue;
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }
            string next = Path.Combine(current, part);
            string? target = null;
            try { target = new FileInfo(next).LinkTarget; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            if (target is null || ++links > 40)
            {
                current = next;
                continue;
            }
            if (Path.IsPathRooted(target)) current = Path.GetPathRoot(target)!;
            foreach (string p in Enumerable.Reverse(target[(Path.IsPathRooted(target) ? Path.GetPathRoot(target)!.Length : 0)..]
                         .Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries)))
                pending.Push(p);
        }
        return current;
    }

    /// <summary>"a directory", "a character device", ... for messages.</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device (a disk)",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.Socket => "a socket",
        FileKind.SymbolicLink => "a symbolic link",
        _ => "missing",
    };

    private static bool _statxMissing;

    private static unsafe bool TryStatx(string path, bool followLinks, out FileKind kind)
    {
        kind = FileKind.Missing;
        if (_statxMissing) return false;
        const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, StatxType = 0x1;
        byte* buffer = stackalloc byte[256];
        int result;
        try
        {
            result = Statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxType, buffer);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _statxMissing = true;
            return false;
        }
        if (result != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            const int ENOENT = 2, ENOTDIR = 20, ENAMETOOLONG = 36, ELOOP = 40;
            if (errno is ENOENT or ENOTDIR or ENAMETOOLONG or ELOOP) return true;  // Missing
            return false;  // EACCES, ENOSYS, ...: let .NET decide
        }
        ushort mode = *(ushort*)(buffer + 28);  // struct statx: stx_mask, stx_blksize, stx_attributes, stx_nlink, stx_uid, stx_gid, then stx_mode
        kind = (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0x1000 => FileKind.Fifo,
            0xC000 => FileKind.Socket,
            0xA000 => FileKind.SymbolicLink,
            _ => FileKind.Regular,
        };
        return true;
    }

    private static unsafe bool TryStatxIdentity(string path, out string? identity)
    {
        identity = null;
        if (_statxMissing) return false;
        const int AtFdCwd = -100, StatxType = 0x1, StatxIno = 0x100;
        byte* buffer = stackalloc byte[256];
        int result;
        try
        {
            result = Statx(AtFdCwd, path, 0, StatxType | StatxIno, buffer);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _statxMissing = true;
            return false;
        }
        if (result != 0)
        {
            const int ENOENT = 2, ENOTDIR = 20, ENAMETOOLONG = 36, ELOOP = 40;
            return Marshal.GetLastPInvokeError() is ENOENT or ENOTDIR or ENAMETOOLONG or ELOOP;  // missing: null; else let .NET decide
        }
        // struct statx: stx_ino at 32; stx_dev_major and stx_dev_minor at 136 and 140.
        ulong inode = *(ulong*)(buffer + 32);
        uint major = *(uint*)(buffer + 136), minor = *(uint*)(buffer + 140);
        identity = $"{major}:{minor}:{inode}";
        return true;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);
}
