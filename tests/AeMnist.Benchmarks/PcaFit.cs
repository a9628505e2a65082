// The pca model's fit beside ML.NET's RandomizedPca anomaly detector on the same images: the one-class protocol's training
// split of each digit (90 % of the normal digit's training-file images, as the pca recipe's 10 % validation leaves them),
// best of three fits after a warm-up (ML.NET: the pipeline's Fit, rank 20, its defaults otherwise), in wall seconds and in
// CPU seconds of the whole process (on a machine shared with other work the CPU time is the steadier of the two; ML.NET may
// use more than one thread, and then its CPU time is the sum over them). aemnist's fit on one thread, and on the machine's
// cores (up to 8, as `train`'s default --threads); the wall ratio is ML.NET's wall time over that of aemnist on all cores.
//   dotnet tests/AeMnist.Benchmarks/bin/Release/net10.0/AeMnist.Benchmarks.dll pca [digits, default 0-9] [--parts]
// (--parts: also the covariance and the eigenvectors alone.)
// ML.NET is used here only, as a yardstick: the product does not depend on it.
using System.Diagnostics;
using AeMnist.Data;
using AeMnist.Models;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace AeMnist.Benchmarks;

internal static class PcaFit
{
    private sealed class Row
    {
        [VectorType(784)] public float[] Features { get; set; } = [];
    }

    public static int Run(string[] args)
    {
        bool parts = args.Contains("--parts");
        args = [.. args.Where(a => a != "--parts")];
        int[] digits = args.Length > 0 ? [.. args[0].Split(',').Select(int.Parse)] : [.. Enumerable.Range(0, 10)];
        string directory = MnistFiles.FindDefaultDirectory(Directory.GetCurrentDirectory()) ?? "data/mnist";
        Dataset data = MnistFiles.Load(directory);
        Architecture pca = Architectures.Get("pca");
        ModelSpec spec = pca.Spec();
        var ml = new MLContext(seed: 1);
        int cores = AeMnist.Engines.ComputeOptions.DefaultThreads;
        Console.WriteLine($"digit  images  aemnist 1 thread s (cpu s)  aemnist {cores} threads s (cpu s)  ML.NET RandomizedPca s (cpu s)  cpu s ratio (1 thread)  wall ratio ({cores} threads)");
        foreach (int digit in digits)
        {
            DataSplit split = Splitter.Split(data.Labels, data.TrainCount, new SplitOptions(SplitProtocol.OneClass, digit, Validation: 0.1, Seed: 1));
            int n = split.Train.Length;
            float[] images = data.Gather(split.Train);
            (double ours, double oursCpu) = Best(() => pca.Fit(spec, images, n));
            (double oursAll, double oursAllCpu) = Best(() => pca.Fit(spec, images, n, cores));
            if (parts)
            {
                var mean = new double[784];
                for (int i = 0; i < n; i++) for (int j = 0; j < 784; j++) mean[j] += images[i * 784 + j];
                for (int j = 0; j < 784; j++) mean[j] /= n;
                int[] active = [.. Enumerable.Range(0, 784).Where(j => Enumerable.Range(1, n - 1).Any(i => images[i * 784 + j] != images[j]))];
                double[] c = [];
                var cov = Best(() => c = PcaAutoEncoder.Covariance(images, n, 784, mean, active));
                var eig = Best(() => PcaAutoEncoder.TopEigenvectors(c, active.Length, 16));
                var covAll = Best(() => c = PcaAutoEncoder.Covariance(images, n, 784, mean, active, cores));
                var eigAll = Best(() => PcaAutoEncoder.TopEigenvectors(c, active.Length, 16, cores));
                Console.WriteLine($"  active {active.Length}, s (cpu s): covariance {cov.Wall:F3} ({cov.Cpu:F3}), on {cores} threads {covAll.Wall:F3} ({covAll.Cpu:F3});" +
                    $" eigenvectors {eig.Wall:F3} ({eig.Cpu:F3}), on {cores} threads {eigAll.Wall:F3} ({eigAll.Cpu:F3})");
            }
            IDataView view = ml.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i => new Row { Features = images.AsSpan(i * 784, 784).ToArray() }).ToList());
            var trainer = ml.AnomalyDetection.Trainers.RandomizedPca(featureColumnName: nameof(Row.Features), rank: 20);
            (double theirs, double theirsCpu) = Best(() => trainer.Fit(view));
            Console.WriteLine($"{digit,5}  {n,6}  {ours,16:F3} ({oursCpu:F3})  {oursAll,17:F3} ({oursAllCpu:F3})  {theirs,22:F3} ({theirsCpu:F3})  {theirsCpu / oursCpu,20:F1}x  {theirs / oursAll,20:F1}x");
        }
        return 0;
    }

    private static (double Wall, double Cpu) Best(Action fit)
    {
        fit();  // warm-up: JIT and first-touch
        double wall = double.MaxValue, cpu = double.MaxValue;
        using var process = Process.GetCurrentProcess();
        for (int i = 0; i < 3; i++)
        {
            process.Refresh();
            TimeSpan cpuStart = process.TotalProcessorTime;
            long start = Stopwatch.GetTimestamp();
            fit();
            wall = Math.Min(wall, (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency);
            process.Refresh();
            cpu = Math.Min(cpu, (process.TotalProcessorTime - cpuStart).TotalSeconds);
        }
        return (wall, cpu);
    }
}
