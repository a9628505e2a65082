// The GEMMs of the bottleneck model's 32→64 stride-2 convolutions on a 64-image shard, each timed alone on one thread
// (best of 30 calls) and put as a share of the FMA peak measured the same way (best of short bursts):
//   dotnet tests/AeMnist.Benchmarks/bin/Release/net10.0/AeMnist.Benchmarks.dll gemm
using System.Diagnostics;
using AeMnist.Tensors;

namespace AeMnist.Benchmarks;

internal static class GemmShapes
{
    public static int Run()
    {
        double peak = Peak.BestShort();
        Console.WriteLine($"FMA peak, one core (best of 200 bursts of ~1 ms): {peak:F1} GFLOPS");
        (string Name, int Kind, int M, int K, int N)[] shapes =
        [
            ("Conv2d(32,64) forward: W·columns", 0, 64, 288, 3136),
            ("Conv2d(32,64) dColumns: Wᵀ·dY", 1, 288, 64, 3136),
            ("Conv2d(32,64) dWeight: dY·columnsᵀ (RowDots)", 2, 64, 3136, 288),
            ("ConvT2d(64,32) forward: Wᵀ·X", 1, 288, 64, 3136),
            ("Conv2d(1,32) forward: W·columns", 0, 32, 9, 12544),
        ];
        foreach (var (name, kind, m, k, n) in shapes)
        {
            float[] a = Inputs.Random(m * k, 3), b = Inputs.Random(k * n, 4), c = new float[m * n];
            double best = double.MaxValue;
            for (int rep = 0; rep < 30; rep++)
            {
                long start = Stopwatch.GetTimestamp();
                if (kind == 0) Gemm.MatMul(a, b, c, m, k, n);
                else if (kind == 1) Gemm.MatMulTransposeA(a, b, c, m, k, n);
                else Gemm.RowDots(a, b, c, m, k, n);
                best = Math.Min(best, (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency);
            }
            double gflops = 2.0 * m * k * n / best / 1e9;
            Console.WriteLine($"  {name,-48} m={m,4} k={k,5} n={n,6}  {best * 1e3,7:F3} ms  {gflops,6:F0} GFLOPS  {100 * gflops / peak,4:F0} % of peak");
        }
        return 0;
    }
}
