using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Models;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Optim;

namespace AeMnist.Core.Tests.Engines;

/// <summary>Huge pages are a hint to the kernel: they may make the engine faster, never change what it computes.</summary>
public class HugePagesTests
{
    private const long Mb2 = HugePages.ChunkBytes;

    [Theory]
    [InlineData(2 * Mb2 + 100, 10, 2 * Mb2, 3 * Mb2)]
    [InlineData(Mb2 - 4, 8, 0, 2 * Mb2)]
    [InlineData(4 * Mb2, Mb2, 4 * Mb2, 5 * Mb2)]
    [InlineData(4 * Mb2, Mb2 + 1, 4 * Mb2, 6 * Mb2)]
    public void ChunksCoverEveryByteOfTheSpanAndNoMore(long start, long length, long first, long end) =>
        Assert.Equal((first, end), HugePages.Chunks(start, length));

    [HugePagesFact]
    public unsafe void CollapsingBacksTheWholeChunksOfMemoryWithHugePagesKeepsItsContentsAndDoesItAgainForFreshMemory()
    {
        // Memory of its own, so that /proc/self/smaps shows it alone: 8 MB read-write between inaccessible guards (a
        // mapping never merges with a neighbour of other protection), every page written before the request.
        const long length = 4 * Mb2;
        nint reserved = Mmap(0, (nint)(length + 2 * Mb2), ProtNone, MapPrivate | MapAnonymous, -1, 0);
        Assert.NotEqual(-1, reserved);
        bool enabled = HugePages.Enabled;
        try
        {
            HugePages.Enabled = true;
            long start = ((long)reserved + Mb2 - 1) & ~(Mb2 - 1);
            Assert.Equal(0, Mprotect((nint)start, (nint)length, ProtRead | ProtWrite));
            var memory = new Span<float>((void*)start, (int)(length / sizeof(float)));
            for (int i = 0; i < memory.Length; i++) memory[i] = i * 0.5f - 7f;
            Assert.Equal(0, HugePagesKb(start));
            HugePages.Request(memory);
            CollapseAsTheEngineDoes(start, length);
            for (long chunk = start; chunk < start + length; chunk += Mb2) Assert.True(HugePages.IsBacked(chunk), $"chunk {chunk:x}");
            Assert.Equal(length / 1024, HugePagesKb(start));
            for (int i = 0; i < memory.Length; i++)
                if (memory[i] != i * 0.5f - 7f) Assert.Fail($"element {i} changed to {memory[i]}");

            // Memory given back to the kernel and written again comes back in 4 KB pages (as when the GC frees a buffer
            // and allocates another there): named again as known memory it is left so; named as fresh memory it is backed again.
            Assert.Equal(0, Madvise((nint)start, (nint)length, MadviseDontNeed));
            memory.Fill(1f);
            Assert.Equal(0, HugePagesKb(start));
            HugePages.Request(memory, fresh: false);
            HugePages.Collapse();
            Assert.Equal(0, HugePagesKb(start));
            HugePages.Request(memory);
            CollapseAsTheEngineDoes(start, length);
            Assert.Equal(length / 1024, HugePagesKb(start));
            Assert.True(memory.IndexOfAnyExcept(1f) < 0, "the memory changed while collapsed again");
        }
        finally
        {
            HugePages.Enabled = enabled;
            Munmap(reserved, (nint)(length + 2 * Mb2));
        }
    }

    // Collapse after each of up to three steps, as the engine does: a kernel short of free huge pages for a moment (a busy
    // machine) fails a chunk once and gives it at the next try.
    private static void CollapseAsTheEngineDoes(long start, long length)
    {
        for (int step = 0; step < 3 && HugePagesKb(start) < length / 1024; step++) HugePages.Collapse();
    }

    // The AnonHugePages of the mapping that starts at `start`, in kB.
    private static long HugePagesKb(long start)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            if (char.IsAsciiHexDigit(line[0]) && line.Contains('-'))
            {
                inside = Convert.ToInt64(line[..line.IndexOf('-')], 16) == start;
                continue;
            }
            if (inside && line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
                return long.Parse(line["AnonHugePages:".Length..].Replace("kB", "").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"no mapping starts at {start:x}");
    }

    private const int ProtNone = 0, ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20, MadviseDontNeed = 4, MadviseCollapse = 25;
    [DllImport("libc", EntryPoint = "madvise", SetLastError = true)] internal static extern int Madvise(nint address, nint length, int advice);
    [DllImport("libc", EntryPoint = "mmap")] internal static extern nint Mmap(nint address, nint length, int protection, int flags, int fd, nint offset);
    [DllImport("libc", EntryPoint = "mprotect")] private static extern int Mprotect(nint address, nint length, int protection);
    [DllImport("libc", EntryPoint = "munmap")] internal static extern int Munmap(nint address, nint length);

    /// <summary>Whether this kernel collapses a fresh, written 2 MB chunk into a huge page; else why not.</summary>
    internal static unsafe string? CollapseUnavailable()
    {
        nint mapping = Mmap(0, (nint)(2 * Mb2), ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (mapping == -1) return "mmap failed";
        try
        {
            long chunk = ((long)mapping + Mb2 - 1) & ~(Mb2 - 1);
            new Span<byte>((void*)chunk, (int)Mb2).Fill(1);
            return Madvise((nint)chunk, (nint)Mb2, MadviseCollapse) == 0 ? null : $"MADV_COLLAPSE failed (errno {Marshal.GetLastPInvokeError()})";
        }
        finally
        {
            Munmap(mapping, (nint)(2 * Mb2));
        }
    }

    [Fact]
    public void NothingIsRequestedWhileItIsOff()
    {
        bool enabled = HugePages.Enabled;
        HugePages.Enabled = false;
        try
        {
            int pending = HugePages.Pending;
            HugePages.Request(GC.AllocateArray<float>((int)(2 * Mb2 / sizeof(float)), pinned: true));
            Assert.True(HugePages.Pending <= pending, $"{HugePages.Pending - pending} chunks requested while off");
        }
        finally
        {
            HugePages.Enabled = enabled;
        }
    }

    // Three steps of the bottleneck model at 2 threads (its activations, the images, parameters, gradients and Adam's
    // moments all requested), with the hint and without.
    private static (StateDict Weights, StateDict Moments) Train(bool hugePages)
    {
        bool enabled = HugePages.Enabled;
        HugePages.Enabled = hugePages;
        try
        {
            float[] images = MnistSample.TrainImages(150);
            var model = TestModels.Native("bottleneck", 5, 2);
            var adam = model.CreateAdam(new AdamOptions(LearningRate: 0.01));
            for (int step = 0; step < 3; step++) TestModels.Step(model, adam, images, 150);
            return (model.StateDict(), adam.StateDict());
        }
        finally
        {
            HugePages.Enabled = enabled;
        }
    }

    [Fact]
    public void TrainingGivesTheSameBitsWithHugePagesAndWithout()
    {
        var without = Train(hugePages: false);
        var with = Train(hugePages: true);
        Assert.True(without.Weights.BitEquals(with.Weights), "weights");
        Assert.True(without.Moments.BitEquals(with.Moments), "Adam moments");
    }
}

/// <summary>A fact that runs only where the kernel can collapse memory into huge pages (Linux 6.1 or later, THP not
/// "never", and a probe chunk collapses); elsewhere it is reported as skipped.</summary>
public sealed class HugePagesFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Probe = new(HugePagesTests.CollapseUnavailable);

    public HugePagesFactAttribute()
    {
        const string setting = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (!OperatingSystem.IsLinux() || Environment.OSVersion.Version < new Version(6, 1))
            Skip = "skipped: MADV_COLLAPSE needs Linux 6.1 or later";
        else if (!File.Exists(setting) || File.ReadAllText(setting).Contains("[never]", StringComparison.Ordinal))
            Skip = "skipped: transparent huge pages are off in this kernel";
        else if (Probe.Value is { } why)
            Skip = $"skipped: this kernel gives no huge page to a probe chunk ({why})";
    }
}
