// Folders of images, walked safely by one scanner that every command uses: names in ordinal order (the same dataset on
// every machine), hidden folders (.git, .ipynb_checkpoints) skipped, a symbolic link to a directory followed but each
// directory read once however many links lead to it (by its device and inode), so a link back up the tree neither
// loops nor repeats rows; and only regular files opened: a FIFO, socket or device named like an image would block or
// never end, so it is an error naming it (or, with a skip list, a file skipped and reported), never opened.
using AeMnist.Imaging;
using AeMnist.IO;

namespace AeMnist.Data;

/// <summary>An image file found by <see cref="Folders"/>: its path and its path relative to the folder scanned ('/' separated).</summary>
internal sealed record FoundFile(string Path, string Relative);

internal static class Folders
{
    private static readonly EnumerationOptions Here = new() { RecurseSubdirectories = false, IgnoreInaccessible = false, AttributesToSkip = 0 };

    /// <summary>
    /// The subfolders of <paramref name="directory"/> (directories and links to directories, not hidden), in ordinal order.
    /// </summary>
    public static string[] Subdirectories(string directory) => List(directory, () =>
        [.. Directory.EnumerateFileSystemEntries(directory, "*", Here)
            .Where(d => !Path.GetFileName(d).StartsWith('.') && FileKinds.Of(d) == FileKind.Directory)
            .Order(StringComparer.Ordinal)]);

    /// <summary>
    /// The image files directly in <paramref name="directory"/> (regular files, links to regular files included), in
    /// ordinal order. A name with an image extension that is not a regular file (a FIFO, a device, a broken link) is
    /// added to <paramref name="skipped"/> with the reason, or, without a list, is an error naming it.
    /// </summary>
    public static string[] ImageFilesHere(string directory, List<string>? skipped = null, string? shownAs = null) => List(directory, () =>
    {
        var files = new List<string>();
        foreach (string entry in Directory.EnumerateFileSystemEntries(directory, "*", Here).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(entry);
            if (name.StartsWith('.') || !Imaging.ImageFiles.HasImageExtension(name)) continue;
            FileKind kind = FileKinds.Of(entry);
            if (kind == FileKind.Regular) files.Add(entry);
            else if (kind != FileKind.Directory)
            {
                string shown = shownAs is null ? entry : shownAs.Length == 0 ? name : $"{shownAs}/{name}";
                string problem = $"{MessageText.Escape(shown)}: is {(kind == FileKind.Missing ? "a broken symbolic link" : FileKinds.Describe(kind))}, not an image file; remove it from the folder";
                if (skipped is null) throw new DataFormatException(problem);
                skipped.Add(problem);
            }
        }
        return [.. files];
    });

    /// <summary>
    /// The image files in <paramref name="directory"/> and its subfolders, depth first, each folder's files (in ordinal
    /// order) before its subfolders. Links to directories are followed, and each directory (by device and inode) is read
    /// once: the first path that reaches it in this order names its files. Non-regular files named like images are
    /// handled as <see cref="ImageFilesHere"/> does.
    /// </summary>
    public static FoundFile[] ImageFiles(string directory, List<string>? skipped = null)
    {
        var files = new List<FoundFile>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        void Walk(string folder, string relative)
        {
            // A directory that cannot be examined gets a key of its own path: it is listed (and its error reported) once.
            string key = FileKinds.Identity(folder) ?? "path:" + Path.GetFullPath(folder);
            if (!visited.Add(key)) return;
            foreach (string file in ImageFilesHere(folder, skipped, relative))
                files.Add(new FoundFile(file, relative.Length == 0 ? Path.GetFileName(file) : $"{relative}/{Path.GetFileName(file)}"));
            foreach (string sub in Subdirectories(folder))
                Walk(sub, relative.Length == 0 ? Path.GetFileName(sub) : $"{relative}/{Path.GetFileName(sub)}");
        }
        Walk(directory, "");
        return [.. files];
    }

    private static string[] List(string directory, Func<string[]> list)
    {
        try { return list(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{MessageText.Escape(directory)}: cannot list the directory ({FileErrors.Reason(e)})", e);
        }
    }
}

internal static class Files
{
    /// <summary>The bytes of a regular file of at most <paramref name="cap"/> bytes; anything else is a one-line error naming <paramref name="name"/>.</summary>
    public static byte[] ReadRegular(string path, int cap, string name)
    {
        FileKind kind = FileKinds.Of(path);
        if (kind != FileKind.Regular) throw new DataFormatException($"{name}: is {FileKinds.Describe(kind)}, not an image file");
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            if (stream.Length > cap) throw new DataFormatException($"{name}: larger than {cap >> 20} MiB; not an image aemnist reads");
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{name}: cannot read file ({FileErrors.Reason(e)})", e);
        }
    }
}
