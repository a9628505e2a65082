// A run directory under --runs-dir: model.safetensors, run.json, history.csv, metrics.json, report.html.
// A new run never overwrites an existing one; every file in it is written atomically.
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AeMnist.IO;

namespace AeMnist.Training;

public sealed partial class RunDirectory
{
    public const string ModelFileName = "model.safetensors";
    public const string RunFileName = "run.json";
    public const string HistoryFileName = "history.csv";
    public const string MetricsFileName = "metrics.json";
    public const string CheckpointFileName = "checkpoint.safetensors";

    public string Path { get; }

    public RunDirectory(string path) => Path = path;

    public string ModelPath => System.IO.Path.Combine(Path, ModelFileName);
    public string RunPath => System.IO.Path.Combine(Path, RunFileName);
    public string HistoryPath => System.IO.Path.Combine(Path, HistoryFileName);
    public string MetricsPath => System.IO.Path.Combine(Path, MetricsFileName);
    public string CheckpointPath => System.IO.Path.Combine(Path, CheckpointFileName);

    /// <summary>
    /// Creates a new, empty run directory. A name the user chose must not exist yet; a generated name
    /// gets a -2, -3, ... suffix instead of clashing.
    /// </summary>
    public static RunDirectory Create(string runsDirectory, string? runName, string defaultName)
    {
        if (runName is not null && !SafeName().IsMatch(runName))
            throw new ArgumentException($"--run-name '{runName}' must be letters, digits, '.', '_' or '-' (no slashes)");
        Directory.CreateDirectory(runsDirectory);
        string baseName = runName ?? defaultName;
        for (int attempt = 1; ; attempt++)
        {
            string name = attempt == 1 ? baseName : $"{baseName}-{attempt}";
            string path = System.IO.Path.Combine(runsDirectory, name);
            if (Directory.Exists(path) || File.Exists(path))
            {
                if (runName is not null)
                    throw new ArgumentException($"run directory {path} already exists; choose another --run-name or remove it");
                continue;
            }
            Directory.CreateDirectory(path);
            // Claim the directory with a file only one process can create: of two processes that passed the
            // check above at the same instant, the second finds the claim taken and treats the name as existing.
            if (!TryClaim(path))
            {
                if (runName is not null)
                    throw new ArgumentException($"run directory {path} already exists; choose another --run-name or remove it");
                continue;
            }
            return new RunDirectory(path);
        }
    }

    /// <summary>Creates the claim file in <paramref name="path"/> if no one has; true for exactly one caller.</summary>
    internal static bool TryClaim(string path)
    {
        try
        {
            using (new FileStream(System.IO.Path.Combine(path, ClaimFileName), FileMode.CreateNew, FileAccess.Write)) { }
            return true;
        }
        catch (IOException) when (File.Exists(System.IO.Path.Combine(path, ClaimFileName)))
        {
            return false;
        }
    }

    /// <summary>The empty marker that claims a new run directory for one process.</summary>
    public const string ClaimFileName = ".aemnist-run";

    /// <summary>The most recently created run directory (by run.json time) that holds a model.</summary>
    public static RunDirectory Newest(string runsDirectory)
    {
        if (!Directory.Exists(runsDirectory))
            throw new DataFormatException($"{runsDirectory}: runs directory not found; train a model first (aemnist train) or pass --run DIR");
        var newest = new DirectoryInfo(runsDirectory).EnumerateDirectories()
            .Where(d => File.Exists(System.IO.Path.Combine(d.FullName, ModelFileName)))
            .OrderByDescending(d => File.GetLastWriteTimeUtc(System.IO.Path.Combine(d.FullName, ModelFileName)))
            .ThenByDescending(d => d.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return newest is null
            ? throw new DataFormatException($"{runsDirectory}: no run with a {ModelFileName} in it; train a model first (aemnist train) or pass --run DIR")
            : new RunDirectory(newest.FullName);
    }

    /// <summary>An existing run directory given with --run; it must hold a model.</summary>
    public static RunDirectory Open(string path)
    {
        if (!Directory.Exists(path))
            throw new DataFormatException($"{path}: run directory not found");
        var run = new RunDirectory(path);
        if (!File.Exists(run.ModelPath))
            throw new DataFormatException($"{path}: no {ModelFileName} in this run directory; was training interrupted? (resume it with aemnist train --resume {path})");
        return run;
    }

    public void WriteHistory(IEnumerable<EpochRecord> history)
    {
        var text = new StringBuilder("epoch,train_loss,monitor_loss,seconds\n");
        foreach (var r in history)
            text.Append(CultureInfo.InvariantCulture,
                $"{r.Epoch},{r.TrainLoss:R},{(r.MonitorLoss is { } m ? m.ToString("R", CultureInfo.InvariantCulture) : "")},{r.Seconds:F4}\n");
        AtomicFile.WriteAllText(HistoryPath, text.ToString());
    }

    public static List<EpochRecord> ReadHistory(string path)
    {
        var rows = new List<EpochRecord>();
        if (!File.Exists(path)) return rows;
        foreach (string line in File.ReadLines(path).Skip(1))
        {
            if (line.Length == 0) continue;
            string[] cells = line.Split(',');
            if (cells.Length != 4)
                throw new DataFormatException($"{path}: line '{line}' has {cells.Length} cells, expected 4");
            try
            {
                double? monitor = cells[2].Length == 0 ? null : double.Parse(cells[2], CultureInfo.InvariantCulture);
                rows.Add(new EpochRecord(int.Parse(cells[0], CultureInfo.InvariantCulture), double.Parse(cells[1], CultureInfo.InvariantCulture),
                    monitor, double.Parse(cells[3], CultureInfo.InvariantCulture), false));
            }
            catch (FormatException)
            {
                throw new DataFormatException($"{path}: line '{line}' is not numbers");
            }
        }
        return rows;
    }

    /// <summary>A default run name: model, digit, seed and a UTC timestamp, e.g. dense-5-s42-20261122-183000.</summary>
    public static string DefaultName(string model, int normal, ulong seed, DateTime utcNow) =>
        $"{model}-{normal}-s{seed}-{utcNow:yyyyMMdd-HHmmss}";

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex SafeName();
}
