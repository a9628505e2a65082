// Where the data comes from: --data, the run's recorded data (checked by its checksum), or the shipped MNIST.
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;
using AeMnist.Data;
using AeMnist.IO;
using AeMnist.Runs;

namespace AeMnist.Cli.Commands;

internal static partial class SharedOptions
{
    /// <summary>Loads MNIST from --data or the default location, with a clear error when neither exists.</summary>
    public static Dataset LoadData(string? dataDirectory)
    {
        string directory = dataDirectory ?? DefaultDataDirectory()
            ?? throw new DataFormatException("MNIST data not found beside the program or under ./data/mnist; pass --data DIR");
        Dataset data = MnistFiles.Load(directory);
        // Loading leaves ~110 MB of inflated and compressed file buffers behind; hand that memory back to
        // the OS before training, so peak memory stays low.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return data;
    }

    /// <summary><see cref="LoadData"/>, each directory read once however often it is asked for (report --compare's runs).</summary>
    public static Func<string?, Dataset> LoadOnce()
    {
        var loaded = new Dictionary<string, Dataset>(StringComparer.Ordinal);
        return directory =>
        {
            string key = directory is null ? "" : Path.GetFullPath(directory);
            if (!loaded.TryGetValue(key, out Dataset? data)) loaded[key] = data = LoadData(directory);
            return data;
        };
    }

    private static string? DefaultDataDirectory() => MnistFiles.FindDefaultDirectory(Environment.CurrentDirectory);

    /// <summary>
    /// The data a run was trained on: --data when given, else the directory its run.json records, else (when that is gone)
    /// the shipped data; in every case the files' checksum must be the recorded one. A run that records nothing (one made
    /// before aemnist recorded its data, or a model file) uses --data or the shipped data.
    /// </summary>
    public static Dataset LoadDataFor(RunDirectory? run, string? dataOption, Func<string?, Dataset>? load = null) =>
        LoadDataFor(run?.Path, run?.ReadRecord()?.Data, dataOption, load);

    /// <summary>
    /// The same; <paramref name="load"/> (default <see cref="LoadData"/>) reads a directory, so that a command using several
    /// runs can read and hash each directory once (<see cref="LoadOnce"/>).
    /// </summary>
    public static Dataset LoadDataFor(string? runPath, DataRecord? recorded, string? dataOption, Func<string?, Dataset>? load = null)
    {
        load ??= LoadData;
        if (recorded is not { Sha256.Length: > 0 }) return load(dataOption);
        Dataset Checked(Dataset data, string how)
        {
            if (data.Sha256 == recorded.Sha256) return data;
            throw new DataFormatException(
                $"{data.Directory}: these {(data.Source.IsMnist ? "MNIST " : "")}files {how} are not the ones {runPath} was trained on ({recorded.Directory}, sha256 {recorded.Sha256[..12]}...); pass --data with the run's own files");
        }
        if (dataOption is not null) return Checked(load(dataOption), "(--data)");
        if (recorded.Directory.Length > 0 && Directory.Exists(recorded.Directory)) return Checked(load(recorded.Directory), "(recorded in its run.json)");
        string? fallback = DefaultDataDirectory();
        if (fallback is not null && load(fallback) is { } shipped && shipped.Sha256 == recorded.Sha256) return shipped;
        throw new DataFormatException($"{recorded.Directory}: {runPath} was trained on the MNIST files in this directory, which is not there any more; pass --data DIR with the same files");
    }
}
