// `-- infer [model] [threads] [images]`: the engine's scoring throughput alone (NativeModel.Losses, the mse score, and
// Reconstruct), best of five passes over the same images, to tell the engine's part of `aemnist score` from the rest.
using System.Diagnostics;
using AeMnist.Engines;
using AeMnist.Engines.Native;

namespace AeMnist.Benchmarks;

internal static class InferenceRate
{
    public static int Run(string[] args)
    {
        string kind = args.Length > 0 ? args[0] : "bottleneck";
        int threads = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1;
        int n = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10_000;
        NativeModel model = Inputs.Model(kind, threads);
        float[] images = Inputs.Images(n);
        var losses = new float[n];
        var output = new float[images.Length];
        double Best(Action pass)
        {
            double best = double.MaxValue;
            for (int i = 0; i < 6; i++)
            {
                long start = Stopwatch.GetTimestamp();
                pass();
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (i > 0) best = Math.Min(best, seconds);  // the first warms up
                if (Environment.GetEnvironmentVariable("AEMNIST_PASSES") == "1") Console.Error.WriteLine($"  pass {i}: {n / seconds:F0} images/s");
            }
            return best;
        }
        double mse = Best(() => model.Losses(images, n, Loss.Mse, losses));
        double reconstruct = Best(() => model.Reconstruct(images, n, output));
        Console.WriteLine($"{kind}, {n} images, {threads} thread(s): Losses (mse) {n / mse:F0} images/s, Reconstruct {n / reconstruct:F0} images/s");
        // The scores computed from reconstructions, alone (as ModelScores computes them after Reconstruct).
        var scores = new float[n];
        foreach (AeMnist.Scoring.ScoreKind score in new[] { AeMnist.Scoring.ScoreKind.Ssim, AeMnist.Scoring.ScoreKind.Smoothed })
        {
            double seconds = Best(() => AeMnist.Scoring.Scores.FromReconstructions(score, images, output, n, AeMnist.Tensors.ImageShape.Mnist, scores, threads: threads));
            Console.WriteLine($"  {AeMnist.Scoring.Scores.Name(score)} from reconstructions: {n / seconds:F0} images/s ({seconds / n * 1e6:F1} µs an image)");
        }
        return 0;
    }
}
