// All of a native model's parameters in one flat float[] and their gradients in another of the same length.
// Entries name each slice as PyTorch's state dict does ("encoder.0.weight") and in the same order, so saving and
// loading walk Entries and copy Data slices; layers only hold a Parameter that points into these arrays.
namespace AeMnist.Engines.Native.Layers;

/// <summary>One named tensor inside <see cref="ParameterSet.Data"/>: PyTorch name, PyTorch shape, and slice.</summary>
public sealed record ParameterInfo(string Name, int[] Shape, int Offset, int Length);

/// <summary>A layer's handle on one tensor; bound to a <see cref="ParameterSet"/> when the model is built.</summary>
public sealed class Parameter
{
    private ParameterSet? _set;
    private int _offset;

    public Parameter(string name, params int[] shape)
    {
        Name = name;
        Shape = shape;
        Length = shape.Aggregate(1, (product, size) => checked(product * size));
    }

    /// <summary>The name inside its module ("weight", "bias").</summary>
    public string Name { get; }

    /// <summary>PyTorch's shape of the tensor.</summary>
    public int[] Shape { get; }

    public int Length { get; }

    /// <summary>The values, a slice of <see cref="ParameterSet.Data"/>.</summary>
    public Span<float> Data => Set.Data.AsSpan(_offset, Length);

    /// <summary>The gradient, a slice of <see cref="ParameterSet.Grad"/>.</summary>
    public Span<float> Grad => Set.Grad.AsSpan(_offset, Length);

    private ParameterSet Set => _set ?? throw new InvalidOperationException(
        $"Parameter '{Name}' is not bound to a ParameterSet; build one with ParameterSet.Create(module).");

    internal void Bind(ParameterSet set, int offset)
    {
        if (_set is not null) throw new InvalidOperationException($"Parameter '{Name}' is already bound to a ParameterSet.");
        _set = set;
        _offset = offset;
    }
}

public sealed class ParameterSet
{
    private readonly ParameterInfo[] _entries;

    private ParameterSet(ParameterInfo[] entries, int length)
    {
        _entries = entries;
        Data = new float[length];
        Grad = new float[length];
    }

    /// <summary>Every parameter value, in <see cref="Entries"/> order.</summary>
    public float[] Data { get; private set; }

    /// <summary>Every gradient, laid out like <see cref="Data"/>.</summary>
    public float[] Grad { get; private set; }

    /// <summary>The named slices in PyTorch's named_parameters() order.</summary>
    public IReadOnlyList<ParameterInfo> Entries => _entries;

    /// <summary>Total number of floats.</summary>
    public int Length => Data.Length;

    /// <summary>
    /// Walks <paramref name="root"/> as PyTorch's named_parameters() does (a module's own parameters, then each child
    /// with "name." prefixed), allocates the two flat arrays and binds every <see cref="Parameter"/> to them.
    /// </summary>
    public static ParameterSet Create(Module root)
    {
        var found = new List<(string Name, Parameter Parameter)>();
        Collect(root, "", found);
        return Create(found);
    }

    /// <summary>Allocates the two flat arrays for <paramref name="parameters"/>, in the given order and under the given names, and binds each.</summary>
    public static ParameterSet Create(IReadOnlyList<(string Name, Parameter Parameter)> parameters)
    {
        var found = parameters;
        var entries = new ParameterInfo[found.Count];
        int offset = 0;
        for (int i = 0; i < found.Count; i++)
        {
            entries[i] = new ParameterInfo(found[i].Name, (int[])found[i].Parameter.Shape.Clone(), offset, found[i].Parameter.Length);
            offset = checked(offset + found[i].Parameter.Length);
        }
        var set = new ParameterSet(entries, offset);
        for (int i = 0; i < found.Count; i++) found[i].Parameter.Bind(set, entries[i].Offset);
        return set;
    }

    /// <summary>A set with these entries and no layers bound to it: the master copy that replicas share.</summary>
    internal static ParameterSet Unbound(IReadOnlyList<ParameterInfo> entries) =>
        new([.. entries], entries.Count == 0 ? 0 : entries[^1].Offset + entries[^1].Length);

    private static void Collect(Module module, string prefix, List<(string, Parameter)> found)
    {
        foreach (Parameter parameter in module.LocalParameters) found.Add((prefix + parameter.Name, parameter));
        foreach ((string name, Module child) in module.Children) Collect(child, prefix + name + ".", found);
    }

    /// <summary>Makes this set read its values from <paramref name="master"/>'s array (a replica shares its master's weights).</summary>
    internal void ShareValuesWith(ParameterSet master)
    {
        if (master.Length != Length || master._entries.Length != _entries.Length)
            throw new ArgumentException($"A set of {master.Length} values cannot back one of {Length}.", nameof(master));
        Data = master.Data;
    }

    /// <summary>Points the gradients at <paramref name="grad"/> (a replica writes each shard's gradient into its own array).</summary>
    internal void UseGradients(float[] grad)
    {
        if (grad.Length != Length) throw new ArgumentException($"Gradient array has {grad.Length} floats, expected {Length}.", nameof(grad));
        Grad = grad;
    }

    public Span<float> Values(ParameterInfo entry) => Data.AsSpan(entry.Offset, entry.Length);

    public Span<float> Gradients(ParameterInfo entry) => Grad.AsSpan(entry.Offset, entry.Length);

    /// <summary>The entry called <paramref name="name"/>, or null.</summary>
    public ParameterInfo? Find(string name) => Array.Find(_entries, e => e.Name == name);

    /// <summary>Sets every gradient to zero (one clear of <see cref="Grad"/>).</summary>
    public void ZeroGrad() => Array.Clear(Grad);
}
