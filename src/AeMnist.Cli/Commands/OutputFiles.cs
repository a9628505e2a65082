// Where --output goes, checked before any work is done: "-" (and /dev/stdout) is the command's standard output; a
// device or FIFO is written in place; a regular file is replaced atomically, but never one that holds a run's own
// state (model.safetensors, checkpoint, run.json, ...), model or image data, or one of the command's inputs.
using System.CommandLine;
using AeMnist.IO;
using AeMnist.Runs;

namespace AeMnist.Cli.Commands;

internal static class OutputFiles
{
    /// <summary>True for the names of this process's standard output: "-", /dev/stdout and its descriptor links.</summary>
    public static bool IsStdout(string path) => path is "-" or "/dev/stdout" or "/dev/fd/1" or "/proc/self/fd/1";

    /// <summary>
    /// Checks that <paramref name="path"/> (given with <paramref name="option"/>) may be written: a usage error when it is a
    /// directory, a disk, a run's own file, a model or image file, one of <paramref name="inputs"/>, or in a directory that
    /// does not exist.
    /// </summary>
    public static void Check(string option, string path, IEnumerable<string>? inputs = null)
    {
        if (IsStdout(path)) return;
        (string destination, bool inPlace) target;
        try { target = AtomicFile.Destination(path); }
        catch (IOException e) { throw new UsageException($"{option} {e.Message.Replace(": cannot write:", ":", StringComparison.Ordinal)}"); }
        if (target.inPlace) return;
        string destination = target.destination;
        string? directory = Path.GetDirectoryName(destination);
        if (directory is null || !Directory.Exists(directory))
            throw new UsageException($"{option} {path}: directory {Path.GetDirectoryName(Path.GetFullPath(path))} does not exist");
        string name = Path.GetFileName(destination);
        bool regular = FileKinds.Of(destination) == FileKind.Regular;
        if (regular && RunDirectory.OwnFiles.Contains(name) && LooksLikeRun(directory))
            throw new UsageException($"{option} {path} is a run's own {name}; aemnist never overwrites a run's files with output; choose another file");
        foreach (string input in inputs ?? [])
            if (Same(input, destination))
                throw new UsageException($"{option} {path} is also an input (or the model's file); write the output to another file");
        if (!regular) return;
        if (Signature(destination) is { } what)
            throw new UsageException($"{option} {path} holds {what}; aemnist does not overwrite it with output; choose another file");
    }

    /// <summary>Writes <paramref name="text"/> to a checked --output: standard output for "-", else the file (see <see cref="AtomicFile"/>).</summary>
    public static void WriteText(ParseResult parse, string path, string text)
    {
        if (IsStdout(path))
        {
            parse.InvocationConfiguration.Output.Write(text);
            parse.InvocationConfiguration.Output.Flush();
            return;
        }
        AtomicFile.WriteAllText(path, text);
    }

    private static bool LooksLikeRun(string directory) =>
        RunDirectory.OwnFiles.Any(f => f is not RunDirectory.MetricsFileName and not RunDirectory.HistoryFileName && File.Exists(Path.Combine(directory, f)));

    // One file however each is spelled: by device and inode where both exist (links anywhere in either path, hard links,
    // bind mounts), else by real path (every link in the path resolved).
    internal static bool Same(string input, string destination)
    {
        if (input == "-" || IsStdout(input)) return false;
        try
        {
            if (FileKinds.Identity(input) is { } a && FileKinds.Identity(destination) is { } b) return a == b;
            return string.Equals(FileKinds.RealPath(input), FileKinds.RealPath(destination), StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return false; }
    }

    // What a file holds, by its first bytes, when it is something no text output should replace.
    private static string? Signature(string path)
    {
        Span<byte> head = stackalloc byte[16];
        int n;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        if (n >= 2 && head[0] == 0x1F && head[1] == 0x8B) return "gzip data (an MNIST file?)";
        if (n >= 8 && head[..8].SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A })) return "a PNG image";
        if (Imaging.ImageFiles.HasImageSignature(head[..n])) return "an image";
        if (n >= 6 && head[0] == 0x93 && head[1..6].SequenceEqual("NUMPY"u8)) return "a NumPy array";
        if (n >= 4 && head[..4].SequenceEqual("PK\u0003\u0004"u8)) return "a zip archive (a .npz?)";
        if (n >= 4 && head[0] == 0 && head[1] == 0 && head[2] == 8 && head[3] is 1 or 3) return "IDX data (an MNIST file)";
        if (n >= 9 && head[8] == (byte)'{' && BitConverter.ToUInt64(head[..8]) < 100_000_000UL) return "a safetensors model";
        return null;
    }
}
