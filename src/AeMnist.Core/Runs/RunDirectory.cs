// A run directory under --runs-dir: checkpoint.safetensors while it trains, then model.safetensors, run.json,
// history.csv, and later metrics.json and report.html. A new run is built under a temporary name with its first
// checkpoint and published by one rename that never replaces anything, so a run directory exists only complete and
// never overwrites another. The checkpoint is the run's one commit point (see Checkpoint); every other file is
// written atomically after it, and `.aemnist-run` is locked while a process trains the run.
using System.Text.RegularExpressions;
using AeMnist.IO;
using AeMnist.Training;

namespace AeMnist.Runs;

/// <summary>Where a run stands, as its files say.</summary>
public enum RunState
{
    /// <summary>No model and no checkpoint: not a run directory (or one from before this aemnist).</summary>
    NotARun,

    /// <summary>A checkpoint to continue from; training is interrupted, or in progress when <see cref="RunDirectory.IsLocked"/>.</summary>
    Resumable,

    /// <summary>Training finished (its checkpoint is final) but not every file was written yet: `train --resume` completes them.</summary>
    FinishedIncomplete,

    /// <summary>Training finished and every file is written.</summary>
    Finished,
}

public sealed partial class RunDirectory
{
    public const string ModelFileName = "model.safetensors";
    public const string RunFileName = "run.json";
    public const string HistoryFileName = "history.csv";
    public const string MetricsFileName = "metrics.json";
    public const string CheckpointFileName = "checkpoint.safetensors";

    /// <summary>The file locked while a process trains the run (and, before, the claim of a new directory).</summary>
    public const string ClaimFileName = ".aemnist-run";

    /// <summary>The files a run owns: no --output may replace them.</summary>
    public static IReadOnlyList<string> OwnFiles { get; } = [ModelFileName, RunFileName, HistoryFileName, MetricsFileName, CheckpointFileName, ClaimFileName];

    public string Path { get; }

    public RunDirectory(string path) => Path = path;

    public string ModelPath => System.IO.Path.Combine(Path, ModelFileName);
    public string RunPath => System.IO.Path.Combine(Path, RunFileName);
    public string HistoryPath => System.IO.Path.Combine(Path, HistoryFileName);
    public string MetricsPath => System.IO.Path.Combine(Path, MetricsFileName);
    public string CheckpointPath => System.IO.Path.Combine(Path, CheckpointFileName);
    public string LockPath => System.IO.Path.Combine(Path, ClaimFileName);

    /// <summary>True when a process holds this run's lock (it is training it now).</summary>
    public bool IsLocked => FileLock.IsHeld(LockPath);

    /// <summary>Where the run stands: finished, finished with files still to write, resumable, or not a run at all.</summary>
    public RunState State
    {
        get
        {
            if (File.Exists(CheckpointPath))
                return Checkpoint.IsFinal(CheckpointPath) ? RunState.FinishedIncomplete : RunState.Resumable;
            return File.Exists(ModelPath) ? RunState.Finished : RunState.NotARun;
        }
    }

    /// <summary>Locks the run for this process; a run another process is training is a one-line error.</summary>
    public FileLock Lock()
    {
        FileLock? held;
        try { held = FileLock.TryAcquire(LockPath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw FileErrors.Cannot("lock the run", Path, e); }
        return held ?? throw new DataFormatException($"{Path}: another aemnist process is training this run; wait for it to finish (or stop it) first");
    }

    /// <summary>
    /// Creates a new run directory holding what <paramref name="populate"/> writes into it (its first checkpoint), and locks it.
    /// The directory is built under a temporary name and renamed into place only when complete, never over an existing
    /// one: a name the user chose must not exist yet; a generated name gets a -2, -3, ... suffix instead of clashing.
    /// </summary>
    public static (RunDirectory Run, FileLock Lock) Create(string runsDirectory, string? runName, string defaultName, Action<RunDirectory> populate)
    {
        CheckName(runName);
        EnsureRunsDirectory(runsDirectory);
        RemoveStale(runsDirectory);
        string baseName = runName ?? defaultName;
        string staging = System.IO.Path.Combine(runsDirectory, $".{baseName}.aemnist-{Environment.ProcessId}-{System.IO.Path.GetRandomFileName()}.tmp");
        FileLock? held = null;
        try
        {
            Directory.CreateDirectory(staging);
            var building = new RunDirectory(staging);
            held = building.Lock();
            populate(building);
            for (int attempt = 1; ; attempt++)
            {
                string name = attempt == 1 ? baseName : $"{baseName}-{attempt}";
                string path = System.IO.Path.Combine(runsDirectory, name);
                if (DirectoryRename.TryRenameNoReplace(staging, path))
                {
                    AtomicFile.SyncDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!, path);  // the new run's name, on disk
                    return (new RunDirectory(path), held);
                }
                if (runName is not null)
                    throw new ArgumentException($"run directory {path} already exists; choose another --run-name or remove it");
            }
        }
        catch (Exception e)
        {
            held?.Dispose();
            TryDeleteTree(staging);
            if (e is IOException or UnauthorizedAccessException)
                throw new IOException($"{System.IO.Path.Combine(runsDirectory, baseName)}: cannot create the run directory: {FileErrors.Reason(e.InnerException ?? e)}", e);
            throw;
        }
    }

    /// <summary>A --run-name must be a plain name: letters, digits, '.', '_', '-', not starting with '.' (hidden and temporary names do).</summary>
    public static void CheckName(string? runName)
    {
        if (runName is not null && (!SafeName().IsMatch(runName) || runName.StartsWith('.')))
            throw new ArgumentException($"--run-name {MessageText.Quote(runName)} must be letters, digits, '.', '_' or '-', not starting with '.' (no slashes)");
    }

    private static void EnsureRunsDirectory(string runsDirectory)
    {
        FileKind kind = FileKinds.Of(runsDirectory);
        if (kind != FileKind.Missing && kind != FileKind.Directory)
            throw new ArgumentException($"--runs-dir {runsDirectory} is {FileKinds.Describe(kind)}, not a directory");
        try { Directory.CreateDirectory(runsDirectory); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw FileErrors.Cannot("create the runs directory", runsDirectory, e); }
    }

    /// <summary>
    /// Removes what killed processes left in a runs directory: run directories still under their temporary name whose
    /// builder is gone, and stray temporary files.
    /// </summary>
    public static void RemoveStale(string runsDirectory)
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists(runsDirectory)) return;
        try
        {
            foreach (string dir in Directory.EnumerateDirectories(runsDirectory, ".*.aemnist-*.tmp"))
                if (AtomicFile.WriterOf(System.IO.Path.GetFileName(dir)) is { } pid && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                    TryDeleteTree(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        AtomicFile.RemoveStaleTemporaries(runsDirectory);
    }

    private static void TryDeleteTree(string path)
    {
        try { if (Directory.Exists(path)) Directory.Delete(path, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>True when some subfolder of <paramref name="path"/> holds a run (a model or a checkpoint): it is a runs directory, not a run.</summary>
    public static bool HoldsRuns(string path) =>
        Directory.EnumerateDirectories(path).Any(d => File.Exists(System.IO.Path.Combine(d, ModelFileName)) || File.Exists(System.IO.Path.Combine(d, CheckpointFileName)));

    /// <summary>
    /// The path of an existing directory given as a run, or a one-line error saying what it is instead (for a regular
    /// file, with <paramref name="fileHint"/>'s advice when given).
    /// </summary>
    public static void CheckIsDirectory(string path, string? fileHint = null)
    {
        FileKind kind = FileKinds.Of(path);
        if (kind == FileKind.Missing)
            throw new DataFormatException(FileErrors.NotFound(path, "run directory"));
        if (kind != FileKind.Directory)
            throw new DataFormatException($"{path}: is {FileKinds.Describe(kind)}, not a run directory{(kind == FileKind.Regular && fileHint is not null ? "; " + fileHint : "")}");
    }

    /// <summary>The most recently finished run (by its model's time) under <paramref name="runsDirectory"/>.</summary>
    public static RunDirectory Newest(string runsDirectory)
    {
        FileKind kind = FileKinds.Of(runsDirectory);
        if (kind == FileKind.Missing)
            throw new DataFormatException($"{runsDirectory}: runs directory not found; train a model first (aemnist train) or pass --run DIR");
        if (kind != FileKind.Directory)
            throw new DataFormatException($"{runsDirectory}: is {FileKinds.Describe(kind)}, not a runs directory; pass --runs-dir DIR or --run DIR");
        var newest = new DirectoryInfo(runsDirectory).EnumerateDirectories()
            .Where(d => !d.Name.StartsWith('.') && File.Exists(System.IO.Path.Combine(d.FullName, ModelFileName)) && !File.Exists(System.IO.Path.Combine(d.FullName, CheckpointFileName)))
            .OrderByDescending(d => File.GetLastWriteTimeUtc(System.IO.Path.Combine(d.FullName, ModelFileName)))
            .ThenByDescending(d => d.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return newest is null
            ? throw new DataFormatException($"{runsDirectory}: no finished run with a {ModelFileName} in it; train a model first (aemnist train) or pass --run DIR")
            : new RunDirectory(newest.FullName);
    }

    /// <summary>An existing, finished run directory given with --run; anything else is a one-line error that says what it is and what to do.</summary>
    public static RunDirectory Open(string path)
    {
        CheckIsDirectory(path, "for a model file use --model-file");
        var run = new RunDirectory(path);
        switch (run.State)
        {
            case RunState.Finished:
                return run;
            case RunState.FinishedIncomplete when File.Exists(run.ModelPath):
                return run;
            case RunState.FinishedIncomplete:
                throw new DataFormatException($"{path}: training finished but its files were not all written; complete them with aemnist train --resume {path}");
            case RunState.Resumable:
                throw new DataFormatException(run.IsLocked
                    ? $"{path}: no {ModelFileName} yet; the run is still training (another aemnist process holds it)"
                    : $"{path}: no {ModelFileName} yet; training was interrupted (resume it with aemnist train --resume {path})");
            default:
                throw new DataFormatException(HoldsRuns(path)
                    ? $"{path}: no {ModelFileName} here; this is a runs directory, not a run: pass --runs-dir {path} (its newest run) or --run {System.IO.Path.Combine(path, "NAME")}"
                    : $"{path}: no {ModelFileName} here; not a run directory");
        }
    }

    public void WriteHistory(IEnumerable<EpochRecord> history) => AtomicFile.WriteAllText(HistoryPath, HistoryFile.Text(history));

    /// <summary>What run.json records (null when the run has none yet); a malformed field is a one-line error naming it.</summary>
    public RunRecord? ReadRecord() => RunRecord.Read(RunPath);

    /// <summary>The rows of history.csv (none when the run has none yet).</summary>
    public List<EpochRecord> ReadHistory() => HistoryFile.Read(HistoryPath);

    /// <summary>A default run name: model, normal class, seed and a UTC timestamp, e.g. dense-5-s42-20261122-183000.</summary>
    public static string DefaultName(string model, string normal, ulong seed, DateTime utcNow) =>
        $"{model}-{Slug(normal)}-s{seed}-{utcNow:yyyyMMdd-HHmmss}";

    // A class name as part of a directory name: letters, digits, '.', '_' and '-' kept, anything else '_', at most 40.
    private static string Slug(string name)
    {
        string slug = new([.. name.Take(40).Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_')]);
        return slug.Length == 0 || slug[0] == '.' ? "class" + slug : slug;
    }

    // \z, not $: "$" also matches before a final newline, which let "name\n" through.
    [GeneratedRegex(@"^[A-Za-z0-9._-]+\z")]
    private static partial Regex SafeName();
}
