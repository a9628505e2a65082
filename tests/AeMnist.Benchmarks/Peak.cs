// The machine's FMA peak per core, measured: 12 independent Vector512 FMA chains (enough to hide a 4-cycle latency on two FMA pipes, few enough to stay in registers),
// so the benchmark's GFLOPS figures can be put as a fraction of what this CPU can do.
//   dotnet run -c Release --project tests/AeMnist.Benchmarks -- peak
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AeMnist.Benchmarks;

internal static class Peak
{
    public static int Run()
    {
        Console.WriteLine($"FMA peak, one core, Vector512 (16 floats x 2 FLOP per FMA): {Best():F1} GFLOPS");
        return 0;
    }

    /// <summary>The best of seven measurements, GFLOPS on one core.</summary>
    public static double Best()
    {
        double best = 0;
        for (int trial = 0; trial < 7; trial++) best = Math.Max(best, Measure(20_000_000));
        return best;
    }

    /// <summary>The best of many short (~1 ms) measurements, the same way the GEMM shapes are timed, so a shared machine's preemption affects both alike.</summary>
    public static double BestShort()
    {
        double best = 0;
        for (int trial = 0; trial < 200; trial++) best = Math.Max(best, Measure(20_000));
        return best;
    }

    private static double Measure(int iterations)
    {
        long start = Stopwatch.GetTimestamp();
        Vector512<float> sum = Chains(iterations, Vector512.Create(0.999999f), Vector512.Create(1e-7f));
        double seconds = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
        if (sum[0] == 42f) Console.Write("");  // keeps the chains alive
        return iterations * 12.0 * 16 * 2 / seconds / 1e9;
    }

    // No calls inside, so the twelve accumulators can stay in registers (the SysV ABI saves no vector registers).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector512<float> Chains(int iterations, Vector512<float> m, Vector512<float> b)
    {
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, b); a1 = Vector512.FusedMultiplyAdd(a1, m, b); a2 = Vector512.FusedMultiplyAdd(a2, m, b);
            a3 = Vector512.FusedMultiplyAdd(a3, m, b); a4 = Vector512.FusedMultiplyAdd(a4, m, b); a5 = Vector512.FusedMultiplyAdd(a5, m, b);
            a6 = Vector512.FusedMultiplyAdd(a6, m, b); a7 = Vector512.FusedMultiplyAdd(a7, m, b); a8 = Vector512.FusedMultiplyAdd(a8, m, b);
            a9 = Vector512.FusedMultiplyAdd(a9, m, b); a10 = Vector512.FusedMultiplyAdd(a10, m, b); a11 = Vector512.FusedMultiplyAdd(a11, m, b);
        }
        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    }
}
