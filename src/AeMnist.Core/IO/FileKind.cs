// What a path names on disk: a regular file, a directory, a device, a FIFO, a socket or a symbolic link. .NET only
// tells files from directories, but a writer must not rename a temporary file over /dev/null, and a reader must not
// read /dev/zero until memory runs out; so on Linux this asks the kernel (statx, whose layout is the same on every
// architecture), and elsewhere it falls back to what .NET knows.
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

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);
}
