// Entry point: BenchmarkDotNet's switcher (`-- --filter '*Gemm*'`), or `-- profile [dense|conv|bottleneck] [threads] [batch]` for a quick
// per-layer breakdown of one training step (median of many steps, Stopwatch), used to see where the time goes, or
// `-- peak` for the machine's measured FMA peak per core, `-- gemm [cold]` for the bottleneck model's convolution GEMMs and lanes kernels
// as a share of it (cold: operands in memory), or `-- pca [digits]` for the pca model's fit beside ML.NET's RandomizedPca, or
// `-- infer [model] [threads] [images]` for the engine's scoring throughput alone.
using BenchmarkDotNet.Running;

namespace AeMnist.Benchmarks;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "profile")
            return LayerProfile.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "infer")
            return InferenceRate.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "peak")
            return Peak.Run();
        if (args.Length > 0 && args[0] == "gemm")
            return GemmShapes.Run(cold: args.Length > 1 && args[1] == "cold");
        if (args.Length > 0 && args[0] == "pca")
            return PcaFit.Run(args.Skip(1).ToArray());
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
