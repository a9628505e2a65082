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
        foreach (string input in inputs ?? [])
            if (Same(input, destination))
                throw new UsageException($"{option} {path} is also an input; write the output to another file");
        if (FileKinds.Of(destination) != FileKind.Regular) return;
        string name = Path.GetFileName(destination);
        if (RunDirectory.OwnFiles.Contains(name) && LooksLikeRun(directory))
            throw new UsageException($"{option} {path} is a run's own {name}; aemnist never overwrites a run's files with output; choose another file");
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

    private static bool Same(string input, string destination)
    {
        try
        {
            if (input == "-" || !File.Exists(input)) return false;
            string resolved = File.ResolveLinkTarget(input, returnFinalTarget: true)?.FullName ?? Path.GetFullPath(input);
            return string.Equals(resolved, destination, StringComparison.Ordinal);
        }
        catch (IOException) { return false; }
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
        if (n >= 4 && head[0] == 0 && head[1] == 0 && head[2] == 8 && head[3] is 1 or 3) return "IDX data (an MNIST file)";
        if (n >= 9 && head[8] == (byte)'{' && BitConverter.ToUInt64(head[..8]) < 100_000_000UL) return "a safetensors model";
        return null;
    }
}
