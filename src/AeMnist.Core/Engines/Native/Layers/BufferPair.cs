// Two buffers that a network's layers share for what is dead once the next layer has read it: the input gradients of
// a backward pass (each layer reads its output gradient from one buffer and writes its input gradient into the other,
// which the layer below reads), and the activations of an inference-only forward pass (likewise, upwards). Two buffers
// then hold a whole pass, which writes into memory it has just used (in cache) instead of a fresh buffer per layer:
// the bottleneck model's backward pass wrote 9 MB of them per 64-image shard, every line fetched before it was written.
// A layer that passes its input through (Identity, a folded Flatten or batch norm) is no exception: the buffer is
// chosen by where the span it reads lies. One pair per Network: the shards of a batch-norm model meet between segments,
// where a batch norm keeps its output gradient until it finishes, so networks must never share one.
namespace AeMnist.Engines.Native.Layers;

internal sealed class BufferPair
{
    private float[] _first = [], _second = [];

    /// <summary>The first <paramref name="length"/> floats of the buffer that does not hold <paramref name="reads"/>.</summary>
    public Span<float> Rent(ReadOnlySpan<float> reads, int length) =>
        Holds(_first, reads) ? Buffers.Rent(ref _second, length) : Buffers.Rent(ref _first, length);

    private static bool Holds(float[] buffer, ReadOnlySpan<float> span) =>
        buffer.Length > 0 && !span.IsEmpty && buffer.AsSpan().Overlaps(span);
}
