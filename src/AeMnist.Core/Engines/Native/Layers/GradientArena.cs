// The input gradients of a network's backward pass, in two buffers shared by all its layers: each layer's Backward reads
// its output gradient from one and writes its input gradient into the other, which the layer below reads. A layer's
// input gradient is dead once the layer below has run, so two buffers hold the whole pass; the pass then writes into
// memory it has just used (in cache) instead of one fresh buffer per layer (the bottleneck model's backward pass
// wrote 9 MB of them per 64-image shard, every line fetched from memory before it was written).
// A layer that passes its gradient through (Identity) is no exception: the buffer is chosen by where dOutput lies.
// One arena per Network: the shards of a batch-norm model meet between segments, where a batch norm keeps its dOutput
// until it finishes, so networks must never share one.
namespace AeMnist.Engines.Native.Layers;

internal sealed class GradientArena
{
    private float[] _first = [], _second = [];

    /// <summary>The first <paramref name="length"/> floats of the buffer that does not hold <paramref name="dOutput"/>.</summary>
    public Span<float> Rent(ReadOnlySpan<float> dOutput, int length) =>
        Holds(_first, dOutput) ? Buffers.Rent(ref _second, length) : Buffers.Rent(ref _first, length);

    private static bool Holds(float[] buffer, ReadOnlySpan<float> span) =>
        buffer.Length > 0 && !span.IsEmpty && buffer.AsSpan().Overlaps(span);
}
