// A model's state on the device, as the native engine keeps it on the host: the parameters in one flat buffer, their
// gradients in another of the same length, the buffers (batch norm's running statistics) in a third; layers hold named
// views. Saving and loading walk the spec's state-dict entries, one copy per buffer.
using AeMnist.Gpu.Kernels;
using AeMnist.Models;
using ILGPU;
using ILGPU.Runtime;

namespace AeMnist.Gpu;

internal sealed class DeviceParameters : IDisposable
{
    private readonly ModelSpec _spec;
    private readonly DeviceMemory _memory;
    private readonly Dictionary<string, (bool IsBuffer, long Offset, int Length)> _entries = new(StringComparer.Ordinal);
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _values, _gradients, _buffers;

    public DeviceParameters(ModelSpec spec, DeviceMemory memory)
    {
        _spec = spec;
        _memory = memory;
        long parameters = 0, buffers = 0;
        foreach (StateEntry e in spec.StateEntries)
        {
            _entries[e.Name] = (e.IsBuffer, e.IsBuffer ? buffers : parameters, e.Length);
            if (e.IsBuffer) buffers += e.Length;
            else parameters += e.Length;
        }
        Length = parameters;
        BufferLength = buffers;
        _values = memory.Allocate<float>(parameters);
        _gradients = memory.Allocate<float>(parameters);
        _buffers = memory.Allocate<float>(buffers);
        ZeroGrad();
    }

    /// <summary>Trained values (the length of the parameter, gradient and Adam buffers).</summary>
    public long Length { get; }

    public long BufferLength { get; }

    public ArrayView<float> Values => ((ArrayView<float>)_values.View).SubView(0, Length);

    public ArrayView<float> Gradients => ((ArrayView<float>)_gradients.View).SubView(0, Length);

    /// <summary>The values of state-dict entry <paramref name="name"/> (a parameter or a buffer).</summary>
    public ArrayView<float> Value(string name)
    {
        var (isBuffer, offset, length) = Find(name);
        return ((ArrayView<float>)(isBuffer ? _buffers : _values).View).SubView(offset, length);
    }

    /// <summary>The gradient of parameter <paramref name="name"/>.</summary>
    public ArrayView<float> Gradient(string name)
    {
        var (isBuffer, offset, length) = Find(name);
        if (isBuffer) throw new ArgumentException($"'{name}' is a buffer; it has no gradient.", nameof(name));
        return ((ArrayView<float>)_gradients.View).SubView(offset, length);
    }

    public void ZeroGrad() => _gradients.MemSetToZero();

    /// <summary>Copies <paramref name="weights"/> (checked against the spec by the caller) to the device.</summary>
    public void Load(StateDict weights)
    {
        var values = new float[Length];
        var buffers = new float[BufferLength];
        foreach (StateEntry e in _spec.StateEntries)
        {
            var (isBuffer, offset, length) = Find(e.Name);
            weights[e.Name].Data.AsSpan(0, length).CopyTo((isBuffer ? buffers : values).AsSpan((int)offset, length));
        }
        DeviceMemory.Upload(Values, values);
        if (BufferLength > 0) DeviceMemory.Upload(((ArrayView<float>)_buffers.View).SubView(0, BufferLength), buffers);
    }

    /// <summary>The parameters and buffers under their state-dict names, in spec order.</summary>
    public StateDict Save()
    {
        float[] values = Download(Values), buffers = BufferLength > 0 ? Download(((ArrayView<float>)_buffers.View).SubView(0, BufferLength)) : [];
        return new StateDict(_spec.StateEntries.Select(e =>
        {
            var (isBuffer, offset, length) = Find(e.Name);
            return new NamedTensor(e.Name, (int[])e.Shape.Clone(), (isBuffer ? buffers : values).AsSpan((int)offset, length).ToArray());
        }));
    }

    /// <summary>The gradients, named like the parameters.</summary>
    public StateDict SaveGradients() => Slice(Download(Gradients), "");

    /// <summary>A flat array laid out like the parameters, as named tensors (prefix + name), in spec order.</summary>
    public StateDict Slice(float[] flat, string prefix) => new(_spec.ParameterEntries.Select(e =>
        new NamedTensor(prefix + e.Name, (int[])e.Shape.Clone(), flat.AsSpan((int)Find(e.Name).Offset, e.Length).ToArray())));

    /// <summary>Offsets of the parameters in spec order, for flat buffers laid out like them (Adam's moments).</summary>
    public IEnumerable<(StateEntry Entry, long Offset)> ParameterOffsets => _spec.ParameterEntries.Select(e => (e, Find(e.Name).Offset));

    public static float[] Download(ArrayView<float> view)
    {
        var values = new float[view.Length];
        DeviceMemory.Download(view, values);
        return values;
    }

    public void Dispose()
    {
        _memory.Release(_values);
        _memory.Release(_gradients);
        _memory.Release(_buffers);
    }

    private (bool IsBuffer, long Offset, int Length) Find(string name) =>
        _entries.TryGetValue(name, out var entry) ? entry : throw new InvalidOperationException($"The ilgpu model has no tensor '{name}'.");
}
