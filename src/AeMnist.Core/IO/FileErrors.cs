// .NET's file exceptions in the tool's own words: "no space left on device", "permission denied", "directory
// /x does not exist", never "Could not find a part of the path '/x/.y.tmp'" (a temporary name the user never gave).
namespace AeMnist.IO;

public static class FileErrors
{
    /// <summary>Linux errno values that .NET passes through as an IOException's HResult.</summary>
    private const int EIO = 5, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EBUSY = 16, EEXIST = 17, ENOTDIR = 20, EISDIR = 21,
        ETXTBSY = 26, EFBIG = 27, ENOSPC = 28, EROFS = 30, EMLINK = 31, ENAMETOOLONG = 36, ENOTEMPTY = 39, ELOOP = 40, EDQUOT = 122;

    /// <summary>What went wrong, in a few words, without any path: "no space left on device".</summary>
    public static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        DirectoryNotFoundException => "its directory does not exist",
        FileNotFoundException => "not found",
        PathTooLongException => "the path is too long",
        IOException io => (io.HResult & 0xFFFF) switch
        {
            ENOSPC => "no space left on device",
            EDQUOT => "disk quota exceeded",
            EFBIG => "file too large for this file system or limit",
            EROFS => "read-only file system",
            EACCES => "permission denied",
            EISDIR => "it is a directory",
            ENOTDIR => "a part of the path is not a directory",
            EEXIST => "it already exists",
            ENOTEMPTY => "the directory is not empty",
            EBUSY or ETXTBSY => "it is busy",
            EAGAIN => "another process holds it",
            EIO => "input/output error (a failing disk?)",
            ENOMEM => "out of memory",
            EMLINK => "too many links",
            ENAMETOOLONG => "the name is too long",
            ELOOP => "too many levels of symbolic links",
            _ => Strip(io.Message),
        },
        _ => Strip(e.Message),
    };


    /// <summary>
    /// "PATH: WHAT not found" for a path that does not exist, or, when the path cannot exist because it is too long (over
    /// 4095 bytes, or a name in it over 255), "PATH: the path is too long (...)"; the path escaped and cut either way.
    /// </summary>
    public static string NotFound(string path, string what = "file")
    {
        string shown = MessageText.Escape(path, 160);
        int bytes = System.Text.Encoding.UTF8.GetByteCount(path);
        int longest = path.Split('/').Max(part => System.Text.Encoding.UTF8.GetByteCount(part));
        if (bytes > 4095 || longest > 255)
            return $"{shown}: the path is too long ({bytes} bytes{(longest > 255 ? $", a name in it {longest}" : "")}; the file system allows 4095, and 255 a name)";
        return $"{shown}: {what} not found";
    }

    /// <summary>An IOException "PATH: cannot WHAT: REASON" for <paramref name="path"/>.</summary>
    public static IOException Cannot(string what, string path, Exception e, string? advice = null) =>
        new($"{path}: cannot {what}: {Reason(e)}{(advice is null ? "" : "; " + advice)}", e);

    // .NET's own message without the quoted path it appends (" : '/x/y'") and without a final period.
    private static string Strip(string message)
    {
        int quote = message.IndexOf(" : '", StringComparison.Ordinal);
        if (quote < 0) quote = message.IndexOf(" '", StringComparison.Ordinal);
        string text = quote > 0 ? message[..quote] : message;
        return text.ReplaceLineEndings(" ").Trim().TrimEnd('.').ToLowerInvariant() is { Length: > 0 } t ? t : "input/output error";
    }
}
