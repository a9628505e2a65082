// Grow-only scratch buffers: sized by the first (largest) batch and reused by every later one.
// They live on the pinned object heap and every view starts on a 64-byte boundary, so the Vector512 loads of the
// kernels never straddle two cache lines (in the interleaved layout a misaligned base would split every load).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AeMnist.Engines.Native.Layers;

internal static class Buffers
{
    private const int AlignmentBytes = 64;
    private const int Slack = AlignmentBytes / sizeof(float);
    private const int HugePageMinimum = 64 * 1024;  // floats (256 KB): activations and gradients, not the small scratch

    /// <summary>The first <paramref name="length"/> floats of <paramref name="buffer"/>'s aligned view, growing it only when too small.</summary>
    public static Span<float> Rent(ref float[] buffer, int length)
    {
        if (buffer.Length < length + Slack)
        {
            buffer = GC.AllocateArray<float>(length + Slack, pinned: true);
            if (length >= HugePageMinimum) HugePages.Request(buffer);
        }
        return View(buffer, length);
    }

    /// <summary>The first <paramref name="length"/> floats of a buffer from <see cref="Rent"/>, from the same aligned start.</summary>
    public static unsafe Span<float> View(float[] buffer, int length)
    {
        if (buffer.Length == 0 && length == 0) return [];
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        int offset = (int)((AlignmentBytes - (address & (AlignmentBytes - 1))) & (AlignmentBytes - 1)) / sizeof(float);
        return buffer.AsSpan(offset, length);
    }
}
