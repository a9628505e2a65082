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
    /// <summary>
    /// The labelled dataset --data names: null or "mnist" the shipped MNIST, else a folder or file
    /// (<see cref="DataSources.OpenLabelled"/>), read with <paramref name="rules"/>.
    /// </summary>
    public static Dataset LoadData(string? data, ImageRules? rules = null)
    {
        rules ??= new ImageRules();
        Dataset dataset;
        if (data is null || data == DataSources.MnistName)
        {
            if (!rules.IsDefault) throw new UsageException("--size, --color and --invert apply to image folders and files; MNIST is already 28x28 gray, light ink on black");
            string directory = DefaultDataDirectory()
                ?? throw new DataFormatException("MNIST data not found beside the program or under ./data/mnist; pass --data DIR");
            dataset = MnistFiles.Load(directory);
        }
        else dataset = DataSources.OpenLabelled(data, rules);
        // Loading leaves ~110 MB of inflated and compressed file buffers behind (MNIST); hand that memory back to the OS
        // before training, so peak memory stays low.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return dataset;
    }

    /// <summary>The data a record says how to read: its --input images or its labelled dataset, with its rules.</summary>
    public static Dataset LoadRecorded(DataRecord recorded) => recorded.Inputs is { } inputs
        ? DataSources.OpenImages(inputs, recorded.Rules)
        : LoadData(recorded.Directory, recorded.Rules);

    /// <summary><see cref="LoadData"/>, each dataset read once however often it is asked for (report --compare's runs).</summary>
    public static Func<string?, Dataset> LoadOnce()
    {
        var loaded = new Dictionary<string, Dataset>(StringComparer.Ordinal);
        return directory =>
        {
            string key = directory is null ? "" : directory == DataSources.MnistName ? directory : Path.GetFullPath(directory);
            if (!loaded.TryGetValue(key, out Dataset? data)) loaded[key] = data = LoadData(directory);
            return data;
        };
    }

    private static string? DefaultDataDirectory() => MnistFiles.FindDefaultDirectory(Environment.CurrentDirectory);

    /// <summary>
    /// The data a run was trained on: --data when given, else what its run.json records (its --input images, or its
    /// dataset's directory), else (when that is gone) the shipped data; in every case the checksum must be the recorded
    /// one. A run that records nothing (one made before aemnist recorded its data, or a model file) uses --data or the
    /// shipped data.
    /// </summary>
    public static Dataset LoadDataFor(RunDirectory? run, string? dataOption, Func<string?, Dataset>? load = null) =>
        LoadDataFor(run?.Path, run?.ReadRecord()?.Data, dataOption, load);

    /// <summary>
    /// The same; <paramref name="load"/> (default <see cref="LoadData"/>) reads a labelled dataset, so that a command using
    /// several runs can read and hash each once (<see cref="LoadOnce"/>).
    /// </summary>
    public static Dataset LoadDataFor(string? runPath, DataRecord? recorded, string? dataOption, Func<string?, Dataset>? load = null)
    {
        load ??= data => LoadData(data);
        if (recorded is not { Sha256.Length: > 0 }) return load(dataOption);
        Dataset Checked(Dataset data, string how)
        {
            if (data.Sha256 == recorded.Sha256) return data;
            throw new DataFormatException(
                $"{data.Directory}: these {(data.Source.IsMnist ? "MNIST " : "")}files {how} are not the ones {runPath} was trained on ({recorded.Directory}, sha256 {recorded.Sha256[..12]}...); pass --data with the run's own files");
        }
        if (recorded.Inputs is { } inputs)
        {
            if (dataOption is not null)
                throw new UsageException($"--data cannot apply: {runPath} was trained on --input images ({string.Join(", ", inputs)}), which are read again from there");
            if (inputs.All(i => Directory.Exists(i) || File.Exists(i))) return Checked(LoadRecorded(recorded), "(its --input, recorded in its run.json)");
            throw new DataFormatException($"{inputs[0]}: {runPath} was trained on the images here, which are not there any more; they are needed to rebuild its split");
        }
        if (dataOption is not null) return Checked(recorded.Rules.IsDefault ? load(dataOption) : LoadData(dataOption, recorded.Rules), "(--data)");
        if (recorded.Directory.Length > 0 && (Directory.Exists(recorded.Directory) || File.Exists(recorded.Directory)))
            return Checked(recorded.Rules.IsDefault ? load(recorded.Directory) : LoadRecorded(recorded), "(recorded in its run.json)");
        string? fallback = DefaultDataDirectory();
        if (recorded.Rules.IsDefault && fallback is not null && load(fallback) is { } shipped && shipped.Sha256 == recorded.Sha256) return shipped;
        throw new DataFormatException($"{recorded.Directory}: {runPath} was trained on the data here, which is not there any more; pass --data with the same files");
    }
}
