// model.safetensors as a model: the weights under PyTorch's state-dict names and shapes, and the architecture and
// settings its metadata names (or its tensors fit). A PyTorch user loads it with
// model.load_state_dict(safetensors.torch.load_file(path)); a PyTorch-trained file loads here too. What the rest of the
// metadata says about the detector (threshold, score, normal class, split) is read by Detection/DetectorFile.
using AeMnist.IO;
using AeMnist.Serialization;
using AeMnist.Tensors;

namespace AeMnist.Models;

/// <summary>What a model file's header says the model is, and its whole metadata map for the layers above to read.</summary>
public sealed record ModelFileHeader(Architecture Architecture, ArchitectureSettings Settings, ImageShape Image, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The file named no architecture, and it was recognised from its tensor names and shapes.</summary>
    public bool ArchitectureGuessed { get; init; }

    /// <summary>The tensor names carried a prefix that was dropped ("module.", as torch.nn.DataParallel saves them).</summary>
    public string? DroppedPrefix { get; init; }
}

public static class ModelFile
{
    /// <summary>The value of the metadata key "format" in a model file.</summary>
    public const string Format = "aemnist-model";

    /// <summary>The version of this program, as files record it.</summary>
    public static string ToolVersion =>
        typeof(ModelFile).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";

    /// <summary>Writes the weights in state-dict order with the metadata, atomically.</summary>
    public static void Save(string path, StateDict weights, IReadOnlyDictionary<string, string> metadata) =>
        SafeTensors.Write(path, weights.Tensors.Select(t => (t.Name, t.Shape, (ReadOnlyMemory<float>)t.Data)), metadata);

    /// <summary>
    /// Loads a model file. The architecture comes from the metadata's <c>model</c> key, or from
    /// <paramref name="modelOverride"/> for files without one (e.g. saved from PyTorch); its settings from the
    /// metadata, or else from the tensor shapes (a dense model's hidden sizes). Every tensor must match the spec.
    /// <paramref name="onHeader"/> reads the rest of the metadata before the tensors' data is read.
    /// </summary>
    public static (ModelSpec Spec, StateDict Weights, ModelFileHeader Header) Load(string path, string? modelOverride = null, Action<ModelFileHeader>? onHeader = null)
    {
        string name = Path.GetFileName(path);
        if (Directory.Exists(path))
            throw new DataFormatException($"{path}: is a directory; pass the model file, or use --run DIR");
        if (!File.Exists(path) && IO.FileKinds.Of(path) == IO.FileKind.Missing)
            throw new DataFormatException(IO.FileErrors.NotFound(path, "model file"));
        // A torch.save file is refused by its first bytes; only a regular file is peeked at, so a pipe is read once.
        if (IO.FileKinds.Of(path) == IO.FileKind.Regular) RefuseTorchSave(path, name);
        // The architecture, its settings and every tensor's name and shape are checked against the header, before the
        // data is read: a header cannot make this reader hold more than the architecture's own weights.
        ModelSpec? spec = null;
        ModelFileHeader? described = null;
        SafeTensorsFile file = SafeTensors.Read(path, header =>
        {
            (spec, described) = Describe(header, modelOverride, name);
            onHeader?.Invoke(described);
        });
        string prefix = described!.DroppedPrefix ?? "";
        var weights = new StateDict(file.Names.Select(n => new NamedTensor(n[prefix.Length..], file.Tensors[n].Shape, file.Tensors[n].Data)));
        // The file's own order may differ (a PyTorch writer sorts names); the model keeps the spec's order.
        weights = new StateDict(spec!.StateEntries.Select(e => weights[e.Name]));
        CheckFinite(weights, name, "");
        return (spec, weights, described);
    }

    /// <summary>The prefix torch.nn.DataParallel (and DistributedDataParallel) puts before every state-dict name.</summary>
    public const string DataParallelPrefix = "module.";

    /// <summary>
    /// The architecture and settings a header describes (its metadata, or <paramref name="modelOverride"/>, or else the
    /// one architecture its tensor names and shapes fit, and the tensor shapes), checked against every tensor's name and
    /// shape. Names that all carry DataParallel's "module." prefix are read without it (<see cref="ModelFileHeader.DroppedPrefix"/>).
    /// A file whose "format" says it is not a model (a training checkpoint) is refused.
    /// </summary>
    public static (ModelSpec Spec, ModelFileHeader Header) Describe(SafeTensorsHeaderInfo header, string? modelOverride, string name)
    {
        IReadOnlyDictionary<string, string> meta = header.Metadata;
        if (meta.TryGetValue("format", out string? format) && format != Format)
            throw new DataFormatException(format.StartsWith("aemnist-checkpoint", StringComparison.Ordinal)
                ? $"{name}: is a training checkpoint, not a model; finish its run with aemnist train --resume DIR"
                : $"{name}: metadata 'format' is {Quote(format)}, expected {Format}");
        string? prefix = null;
        List<(string Name, int[] Shape)> tensors = [.. header.Tensors.Select(t => (t.Name, t.Shape))];
        if (tensors.Count > 0 && tensors.All(t => t.Name.StartsWith(DataParallelPrefix, StringComparison.Ordinal)))
        {
            prefix = DataParallelPrefix;
            tensors = [.. tensors.Select(t => (t.Name[prefix.Length..], t.Shape))];
        }
        var shapes = tensors.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
        string? recorded = meta.TryGetValue("model", out string? m) ? m : null;
        string? kind = modelOverride ?? recorded;
        Architecture architecture;
        bool guessed = kind is null;
        if (kind is null)
            architecture = Guess(meta, tensors, shapes, name);
        else
            architecture = Architectures.Find(kind)
                ?? (modelOverride is not null
                    ? throw new ArgumentException($"--model {Quote(kind)} is not a model; use {Architectures.Names}")
                    : throw new DataFormatException($"{name}: metadata names an unknown model {Quote(kind)}; expected {Architectures.Names}"));
        if (modelOverride is not null && recorded is not null && Architectures.Find(recorded) is { } own && own != architecture)
            throw new ArgumentException($"--model {architecture.Name} does not apply: {name} says it is a {own.Name} model; drop --model");
        ArchitectureSettings settings = Settings(architecture, meta, shapes, name);
        ImageShape image = Image(architecture, meta, shapes, name);
        ModelSpec spec;
        try { spec = architecture.Spec(settings, image); }
        catch (ArgumentException e) { throw new DataFormatException($"{name}: {e.Message}"); }
        CheckShapes(spec, tensors, name);
        return (spec, new ModelFileHeader(architecture, settings, image, meta) { ArchitectureGuessed = guessed, DroppedPrefix = prefix });
    }

    // Every tensor of the spec with its shape, and no other.
    private static void CheckShapes(ModelSpec spec, IReadOnlyList<(string Name, int[] Shape)> tensors, string name)
    {
        foreach (StateEntry e in spec.StateEntries)
        {
            var t = tensors.FirstOrDefault(t => t.Name == e.Name);
            if (t.Name is null)
                throw new DataFormatException($"{name}: tensor {Quote(e.Name)} is missing for {spec.Describe()}");
            if (!t.Shape.SequenceEqual(e.Shape))
                throw new DataFormatException($"{name}: tensor {Quote(e.Name)} has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", e.Shape)}] for {spec.Describe()}");
        }
        if (tensors.Count != spec.StateEntries.Count)
        {
            var known = spec.StateEntries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
            throw new DataFormatException($"{name}: unexpected tensor {Quote(tensors.First(t => !known.Contains(t.Name)).Name)} for {spec.Describe()}");
        }
    }

    // The one architecture whose spec the tensors fit exactly (names and shapes), for files without 'model' metadata.
    private static Architecture Guess(IReadOnlyDictionary<string, string> meta, IReadOnlyList<(string Name, int[] Shape)> tensors,
        IReadOnlyDictionary<string, int[]> shapes, string name)
    {
        var fits = new List<Architecture>();
        foreach (Architecture candidate in Architectures.All)
        {
            try
            {
                CheckShapes(candidate.Spec(Settings(candidate, meta, shapes, name), Image(candidate, meta, shapes, name)), tensors, name);
                fits.Add(candidate);
            }
            catch (Exception e) when (e is ArgumentException or DataFormatException or OverflowException) { }
        }
        if (fits.Count == 1) return fits[0];
        string listed = string.Join(", ", tensors.Take(4).Select(t => $"{MessageText.Quote(t.Name, 40)} [{string.Join(", ", t.Shape)}]"))
                        + (tensors.Count > 4 ? ", ..." : "");
        string choices = string.Join(" or ", Architectures.All.Select(a => "--model " + a.Name));
        return fits.Count == 0
            ? throw new DataFormatException($"{name}: has no 'model' metadata and its tensors ({listed}) fit none of the architectures ({Architectures.Names}); save the state dict of one of them, or pass {choices}")
            : throw new DataFormatException($"{name}: has no 'model' metadata and its tensors fit {string.Join(" and ", fits.Select(f => f.Name))}; pass {choices}");
    }

    // torch.save writes a zip archive (PyTorch 1.6 and later) or a bare pickle; neither is a safetensors file.
    private static void RefuseTorchSave(string path, string name)
    {
        Span<byte> head = stackalloc byte[9];
        int n;
        long length;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            length = stream.Length;
            n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{path}: cannot read file ({e.Message.TrimEnd('.')})", e);
        }
        // A safetensors file starts with its header's length (little-endian u64, within the file) and then '{': its first
        // two bytes can be 0x80 0x02 (a 640-byte header), which is no pickle.
        if (n == 9 && head[8] == (byte)'{' && System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(head) <= (ulong)Math.Max(0, length - 8)) return;
        bool zip = n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
        bool pickle = n >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5;
        if (zip || pickle)
            throw new DataFormatException($"{name}: this is a torch.save file ({(zip ? "a zip archive" : "a pickle")}), not safetensors; save a state dict with safetensors: "
                + "from safetensors.torch import save_file; save_file(model.state_dict(), \"model.safetensors\")");
    }

    /// <summary>A model whose weights hold NaN or infinity cannot give a meaningful error: a data error naming the tensor.</summary>
    public static void CheckFinite(StateDict weights, string file, string what)
    {
        foreach (NamedTensor t in weights.Tensors)
        {
            int bad = FirstNonFinite(t.Data);
            if (bad >= 0)
                throw new DataFormatException(
                    $"{file}: {what}tensor {Quote(t.Name)} holds {t.Data[bad]} at index {bad}; a model with non-finite weights gives no meaningful error (retrain it)");
            CheckBatchNormStatistic(t, file, what);
        }
    }

    // Batch norm's running statistics as PyTorch keeps them: a variance is never negative (normalising by the square root
    // of a negative number gives NaN for every image), and the count of batches tracked is a whole number, 0 or more.
    private static void CheckBatchNormStatistic(NamedTensor t, string file, string what)
    {
        ReadOnlySpan<float> data = t.Data;
        if (t.Name == "running_var" || t.Name.EndsWith(".running_var", StringComparison.Ordinal))
        {
            for (int i = 0; i < data.Length; i++)
                if (data[i] < 0)
                    throw new DataFormatException($"{file}: {what}tensor {Quote(t.Name)} holds the variance {data[i]} at index {i}; a batch-norm variance is never negative (the file is corrupt or edited)");
        }
        else if (t.Name == "num_batches_tracked" || t.Name.EndsWith(".num_batches_tracked", StringComparison.Ordinal))
        {
            for (int i = 0; i < data.Length; i++)
                if (data[i] < 0 || data[i] != MathF.Floor(data[i]))
                    throw new DataFormatException($"{file}: {what}tensor {Quote(t.Name)} holds {data[i]}; batch norm's count of batches tracked is a whole number, 0 or more (the file is corrupt or edited)");
        }
    }

    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    private static string Quote(string text) => IO.MessageText.Quote(text);

    // Each option from the metadata when recorded, else from the shapes (files saved elsewhere), else its default.
    private static ArchitectureSettings Settings(Architecture architecture, IReadOnlyDictionary<string, string> meta, IReadOnlyDictionary<string, int[]> shapes, string name)
    {
        ArchitectureSettings? fromShapes;
        try
        {
            fromShapes = architecture.Options.All(o => meta.ContainsKey(o.Name)) ? null : architecture.SettingsFromShapes(shapes);
        }
        catch (ArgumentException)
        {
            string first = shapes.Keys.Order(StringComparer.Ordinal).FirstOrDefault() ?? "";
            throw new DataFormatException($"{name}: the tensor shapes (e.g. {Quote(first)} [{string.Join(", ", shapes.GetValueOrDefault(first) ?? [])}]) are not those of any {architecture.Name} model aemnist can build");
        }
        var given = new Dictionary<string, string>();
        foreach (ArchitectureOption option in architecture.Options)
        {
            if (meta.TryGetValue(option.Name, out string? text)) given[option.Name] = text;
            else if (fromShapes is not null) given[option.Name] = ArchitectureOption.Format(fromShapes[option]);
        }
        try
        {
            return architecture.Settings(given);
        }
        catch (ArgumentException)
        {
            string key = architecture.Options.First(o => given.ContainsKey(o.Name) && !TryParse(o, given[o.Name])).Name;
            throw new DataFormatException(meta.ContainsKey(key)
                ? $"{name}: metadata '{key}' is {Quote(given[key])}; expected {architecture.Options.First(o => o.Name == key).Expected}"
                : $"{name}: the tensor shapes give {key} {Quote(given[key])}; expected {architecture.Options.First(o => o.Name == key).Expected}");
        }
    }

    /// <summary>The metadata key of the images' shape ("3x40x40"), written only when it is not MNIST's 1x28x28.</summary>
    public const string ImageKey = "image";

    // The images' shape from the metadata when recorded, else from the tensor shapes, else MNIST's.
    private static ImageShape Image(Architecture architecture, IReadOnlyDictionary<string, string> meta, IReadOnlyDictionary<string, int[]> shapes, string name)
    {
        if (meta.TryGetValue(ImageKey, out string? text))
            return ImageShape.TryParse(text, out ImageShape image) ? image
                : throw new DataFormatException($"{name}: metadata '{ImageKey}' is {Quote(text)}; expected channels x height x width, e.g. 3x40x40");
        return architecture.ImageFromShapes(shapes) ?? ImageShape.Mnist;
    }

    private static bool TryParse(ArchitectureOption option, string text)
    {
        try { option.Parse(text); return true; }
        catch (ArgumentException) { return false; }
    }
}
