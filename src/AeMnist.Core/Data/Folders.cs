// Folders of images, walked safely: names in ordinal order (the same dataset on every machine), a symbolic link to a
// directory never entered (a link back up the tree would loop), hidden folders (.git, .ipynb_checkpoints) skipped, and
// only regular files read: a FIFO, socket or device named like an image would block or never end.
using AeMnist.Imaging;
using AeMnist.IO;

namespace AeMnist.Data;

internal static class Folders
{
    private static readonly EnumerationOptions Here = new() { RecurseSubdirectories = false, IgnoreInaccessible = false, AttributesToSkip = 0 };

    /// <summary>The subfolders of <paramref name="directory"/> that are real directories (not links, not hidden), in ordinal order.</summary>
    public static string[] Subdirectories(string directory) => List(directory, () =>
        [.. Directory.EnumerateDirectories(directory, "*", Here)
            .Where(d => !Path.GetFileName(d).StartsWith('.') && FileKinds.Of(d, followLinks: false) == FileKind.Directory)
            .Order(StringComparer.Ordinal)]);

    /// <summary>The image files directly in <paramref name="directory"/> (regular files, links to regular files included), in ordinal order.</summary>
    public static string[] ImageFilesHere(string directory) => List(directory, () =>
        [.. Directory.EnumerateFiles(directory, "*", Here)
            .Where(f => Imaging.ImageFiles.HasImageExtension(f) && !Path.GetFileName(f).StartsWith('.') && FileKinds.Of(f) == FileKind.Regular)
            .Order(StringComparer.Ordinal)]);

    /// <summary>The image files in <paramref name="directory"/> and its subfolders, depth first, each folder's in ordinal order.</summary>
    public static string[] ImageFiles(string directory)
    {
        var files = new List<string>();
        void Walk(string folder)
        {
            files.AddRange(ImageFilesHere(folder));
            foreach (string sub in Subdirectories(folder)) Walk(sub);
        }
        Walk(directory);
        return [.. files];
    }

    private static string[] List(string directory, Func<string[]> list)
    {
        try { return list(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{directory}: cannot list the directory ({FileErrors.Reason(e)})", e);
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
