// Grow-only scratch buffers: sized by the first (largest) batch and reused by every later one.
namespace AeMnist.Layers;

internal static class Buffers
{
    /// <summary>The first <paramref name="length"/> floats of <paramref name="buffer"/>, growing it only when too small.</summary>
    public static Span<float> Rent(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }
}
