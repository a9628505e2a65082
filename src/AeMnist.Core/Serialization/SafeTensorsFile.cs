// What SafeTensors.Read returns: float32 tensors by name, in file order, and the string metadata map.
namespace AeMnist.Serialization;

/// <summary>
/// One tensor: its shape (PyTorch order, row-major; an empty shape is a scalar holding one value) and its
/// values as float32. <c>Data.Length</c> is always the product of <c>Shape</c>.
/// </summary>
public sealed record TensorData(int[] Shape, float[] Data);

/// <summary>The contents of a safetensors file, fully validated.</summary>
public sealed class SafeTensorsFile
{
    internal SafeTensorsFile(IReadOnlyList<string> names, IReadOnlyDictionary<string, TensorData> tensors,
        IReadOnlyDictionary<string, string> metadata)
    {
        Names = names;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Tensor names in the order of their data in the file (the order the writer was given).</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Every tensor by name (ordinal, case-sensitive).</summary>
    public IReadOnlyDictionary<string, TensorData> Tensors { get; }

    /// <summary>The <c>__metadata__</c> map; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
}

/// <summary>A checked safetensors header, before its data is read: each tensor's name, shape and element count, in header order, and the metadata.</summary>
public sealed record SafeTensorsHeaderInfo(IReadOnlyList<(string Name, int[] Shape, long Elements)> Tensors, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>Name → shape.</summary>
    public IReadOnlyDictionary<string, int[]> Shapes => Tensors.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
}
