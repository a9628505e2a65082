// Huge pages for the native engine's working memory, on Linux. A training step of the bottleneck model touches about
// 30 MB: two 64-image shards' activations, the training images it gathers from, the parameters, their gradients and
// Adam's moments. In 4 KB pages that is some 7,500 pages, more than a core's TLB maps (Zen 4's second-level TLB:
// 3,072 entries); in 2 MB pages it is 15. The engine names the memory it streams through (Request) and, after a step,
// asks the kernel to back every whole 2 MB chunk of it with one huge page (madvise MADV_COLLAPSE, Linux 6.1 and later).
// Contents and addresses stay as they are, so no result can change: the bottleneck model's epochs on one thread are
// about 5 % faster and its bits the same (docs/benchmarks.md, "Issue 24, tenth stop").
// A chunk fails while part of it is not yet committed (the GC commits its heap as it grows): it is tried again after
// the next steps, three times in all. Anywhere else (Windows, macOS, an older kernel, a libc without madvise) every call
// does nothing; AEMNIST_HUGE_PAGES=0 turns it off, to measure without it.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AeMnist.Engines.Native;

internal static unsafe partial class HugePages
{
    /// <summary>The size of one huge page on x86-64 and arm64 Linux (with 4 KB base pages).</summary>
    internal const long ChunkBytes = 2L << 20;

    private const int Tries = 3;
    private const int Backed = -1, GaveUp = -2;
    private const int MadviseCollapse = 25;  // MADV_COLLAPSE, include/uapi/asm-generic/mman-common.h

    // Each chunk asked for: the tries that failed so far, or Backed, or GaveUp; and those still to try. Collapse only
    // overwrites states and shortens the list, so it allocates nothing (a warm training step allocates nothing).
    private static readonly Dictionary<long, int> s_chunks = [];
    private static readonly List<long> s_toTry = [];
    private static bool s_unavailable;

    /// <summary>Whether requests are acted on: on Linux unless AEMNIST_HUGE_PAGES=0 (tests may switch it).</summary>
    internal static bool Enabled { get; set; } = OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("AEMNIST_HUGE_PAGES") != "0";

    /// <summary>
    /// Names memory to be backed by huge pages at the next <see cref="Collapse"/>: every 2 MB chunk it touches.
    /// <paramref name="fresh"/>: the memory was just allocated, so a chunk tried before (for memory since freed, whose
    /// pages the GC may have given back) is tried again; otherwise (the same training images every step) it is not.
    /// </summary>
    public static void Request(ReadOnlySpan<float> memory, bool fresh = true)
    {
        if (!Enabled || s_unavailable || memory.Length == 0) return;
        long start = (long)Unsafe.AsPointer(ref MemoryMarshal.GetReference(memory));
        (long first, long end) = Chunks(start, (long)memory.Length * sizeof(float));
        lock (s_chunks)
            for (long chunk = first; chunk < end; chunk += ChunkBytes)
            {
                if (s_chunks.TryGetValue(chunk, out int state) && (state >= 0 || !fresh)) continue;  // waiting, or known
                s_chunks[chunk] = 0;
                s_toTry.Add(chunk);
            }
    }

    /// <summary>The 2 MB-aligned chunks [first, end) that the bytes [start, start + length) touch.</summary>
    internal static (long First, long End) Chunks(long start, long length) =>
        (start & ~(ChunkBytes - 1), (start + length + ChunkBytes - 1) & ~(ChunkBytes - 1));

    /// <summary>Asks the kernel to back the chunks requested so far with huge pages; cheap when there are none.</summary>
    public static void Collapse()
    {
        if (s_toTry.Count == 0) return;  // read without the lock: a chunk another thread is adding waits for the next call
        lock (s_chunks)
        {
            for (int i = s_toTry.Count - 1; i >= 0; i--)
            {
                long chunk = s_toTry[i];
                int result;
                try
                {
                    result = Madvise((nint)chunk, (nint)ChunkBytes, MadviseCollapse);
                }
                catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
                {
                    s_unavailable = true;
                    s_toTry.Clear();
                    return;
                }
                int failed = s_chunks[chunk], state = result == 0 ? Backed : failed + 1 == Tries ? GaveUp : failed + 1;
                s_chunks[chunk] = state;
                if (state >= 0) continue;
                s_toTry.RemoveAt(i);
            }
        }
    }

    /// <summary>Chunks requested and not yet backed or given up.</summary>
    internal static int Pending
    {
        get { lock (s_chunks) return s_toTry.Count; }
    }

    /// <summary>Whether the chunk at <paramref name="chunk"/> (2 MB-aligned) has been backed by a huge page.</summary>
    internal static bool IsBacked(long chunk)
    {
        lock (s_chunks) return s_chunks.TryGetValue(chunk, out int state) && state == Backed;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nint length, int advice);
}
