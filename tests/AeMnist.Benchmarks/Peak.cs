// The machine's FMA peak per core, measured: 24 independent Vector512 FMA chains (enough to hide the latency),
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
        double best = 0;
        for (int trial = 0; trial < 7; trial++) best = Math.Max(best, Measure(20_000_000));
        Console.WriteLine($"FMA peak, one core, Vector512 (16 floats x 2 FLOP per FMA): {best:F1} GFLOPS");
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Measure(int iterations)
    {
        Vector512<float> m = Vector512.Create(0.999999f), b = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        Vector512<float> a12 = a0, a13 = a0, a14 = a0, a15 = a0, a16 = a0, a17 = a0, a18 = a0, a19 = a0, a20 = a0, a21 = a0, a22 = a0, a23 = a0;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, b); a1 = Vector512.FusedMultiplyAdd(a1, m, b); a2 = Vector512.FusedMultiplyAdd(a2, m, b);
            a3 = Vector512.FusedMultiplyAdd(a3, m, b); a4 = Vector512.FusedMultiplyAdd(a4, m, b); a5 = Vector512.FusedMultiplyAdd(a5, m, b);
            a6 = Vector512.FusedMultiplyAdd(a6, m, b); a7 = Vector512.FusedMultiplyAdd(a7, m, b); a8 = Vector512.FusedMultiplyAdd(a8, m, b);
            a9 = Vector512.FusedMultiplyAdd(a9, m, b); a10 = Vector512.FusedMultiplyAdd(a10, m, b); a11 = Vector512.FusedMultiplyAdd(a11, m, b);
            a12 = Vector512.FusedMultiplyAdd(a12, m, b); a13 = Vector512.FusedMultiplyAdd(a13, m, b); a14 = Vector512.FusedMultiplyAdd(a14, m, b);
            a15 = Vector512.FusedMultiplyAdd(a15, m, b); a16 = Vector512.FusedMultiplyAdd(a16, m, b); a17 = Vector512.FusedMultiplyAdd(a17, m, b);
            a18 = Vector512.FusedMultiplyAdd(a18, m, b); a19 = Vector512.FusedMultiplyAdd(a19, m, b); a20 = Vector512.FusedMultiplyAdd(a20, m, b);
            a21 = Vector512.FusedMultiplyAdd(a21, m, b); a22 = Vector512.FusedMultiplyAdd(a22, m, b); a23 = Vector512.FusedMultiplyAdd(a23, m, b);
        }
        double seconds = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
        Vector512<float> sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15 + a16 + a17 + a18 + a19 + a20 + a21 + a22 + a23;
        if (sum[0] == 42f) Console.Write("");  // keeps the chains alive
        return iterations * 24.0 * 16 * 2 / seconds / 1e9;
    }
}
