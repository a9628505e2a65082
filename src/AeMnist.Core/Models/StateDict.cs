// Named tensors in a fixed order, as PyTorch's state_dict(): what model and checkpoint files hold and what every
// engine exports and imports, so a file written from one engine opens in another and in PyTorch.
namespace AeMnist.Models;

/// <summary>One tensor: its PyTorch name, its shape (row-major) and its float32 values (length = product of the shape).</summary>
public sealed record NamedTensor(string Name, int[] Shape, float[] Data)
{
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}

/// <summary>An ordered list of named tensors with lookup by name (ordinal). The tensors' arrays are the dict's own.</summary>
public sealed class StateDict
{
    private readonly NamedTensor[] _tensors;
    private readonly Dictionary<string, NamedTensor> _byName;

    public StateDict(IEnumerable<NamedTensor> tensors)
    {
        _tensors = [.. tensors];
        _byName = new Dictionary<string, NamedTensor>(_tensors.Length, StringComparer.Ordinal);
        foreach (NamedTensor t in _tensors)
        {
            long length = t.Shape.Aggregate(1L, (p, d) => d >= 0 ? p * d : throw new ArgumentException($"Tensor '{t.Name}' has a negative dimension."));
            if (length != t.Data.Length)
                throw new ArgumentException($"Tensor '{t.Name}' has shape [{string.Join(", ", t.Shape)}] but {t.Data.Length} values.");
            if (!_byName.TryAdd(t.Name, t)) throw new ArgumentException($"Tensor '{t.Name}' appears twice.");
        }
    }

    public IReadOnlyList<NamedTensor> Tensors => _tensors;

    public int Count => _tensors.Length;

    public NamedTensor this[string name] =>
        _byName.TryGetValue(name, out NamedTensor? t) ? t : throw new KeyNotFoundException($"No tensor '{name}'.");

    public bool TryGet(string name, out NamedTensor tensor) => _byName.TryGetValue(name, out tensor!);

    /// <summary>The same names and shapes with copies of the values.</summary>
    public StateDict Clone() => new(_tensors.Select(t => t with { Shape = (int[])t.Shape.Clone(), Data = (float[])t.Data.Clone() }));

    /// <summary>The same tensors with <paramref name="prefix"/> before every name (a checkpoint's "best." weights).</summary>
    public StateDict WithPrefix(string prefix) => new(_tensors.Select(t => t with { Name = prefix + t.Name }));

    /// <summary>The tensors whose names start with <paramref name="prefix"/>, with the prefix removed.</summary>
    public StateDict Section(string prefix) =>
        new(_tensors.Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal)).Select(t => t with { Name = t.Name[prefix.Length..] }));

    /// <summary>True when both hold the same names in the same order, the same shapes and bit-identical values.</summary>
    public bool BitEquals(StateDict other) =>
        _tensors.Length == other._tensors.Length && _tensors.Zip(other._tensors).All(p =>
            p.First.Name == p.Second.Name && p.First.Shape.SequenceEqual(p.Second.Shape) &&
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.First.Data.AsSpan()).SequenceEqual(
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.Second.Data.AsSpan())));
}
