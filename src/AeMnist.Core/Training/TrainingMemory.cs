// What a training run will hold in memory, estimated before anything is allocated, so that a run too large for the
// machine is refused up front with the option to blame (the batch, the model's size or the split), and an
// out-of-memory error that still happens says the same. The estimate follows the native engine's layout: weights,
// gradients, Adam's two moments, the best weights and (for dense layers) transposed weights, one gradient array per
// shard of a batch, each thread's activations, and the split's images as floats.
using System.Globalization;
using AeMnist.Data;
using AeMnist.Models;

namespace AeMnist.Training;

public static class TrainingMemory
{
    /// <summary>Images per shard of a batch (the native engine's smaller shard size, so the estimate is not low).</summary>
    private const int ShardImages = 64;

    /// <summary>The parts of the estimate in bytes: the model's copies, the per-shard gradients, activations, the split's images.</summary>
    public static (long Model, long Shards, long Activations, long Images) Parts(ModelSpec spec, TrainOptions options, DataSplit split, int threads)
    {
        long parameters = spec.ParameterCount;
        long batch = Math.Max(1, Math.Min(options.BatchSize, split.Train.Length));
        long shards = (batch + ShardImages - 1) / ShardImages;
        long activations = spec.Shapes.Sum(s => (long)s.Length) * 3 * ShardImages * Networks(spec, shards, threads);
        long images = ((long)split.Train.Length + split.Monitor.Length) * spec.Input.Length;
        return (6 * parameters * 4, (shards - 1) * parameters * 4, activations * 4, images * 4);
    }

    // Networks whose activations are held at once: one per thread; and with batch norm, whose statistics need the whole
    // batch, one per shard of a batch as well (NativeModel's shard networks keep theirs until the batch's backward pass).
    private static long Networks(ModelSpec spec, long shards, int threads) =>
        Math.Max(1, threads) + (HasBatchNorm(spec) ? shards : 0);

    private static bool HasBatchNorm(ModelSpec spec) => spec.Layers.Any(l => l is BatchNormSpec);

    public static long Estimate(ModelSpec spec, TrainOptions options, DataSplit split, int threads)
    {
        var (model, shards, activations, images) = Parts(spec, options, split, threads);
        return model + shards + activations + images;
    }

    /// <summary>
    /// The memory this process may use: the GC's limit (the machine's memory, a container's limit or DOTNET_GCHeapHardLimit),
    /// and on Linux no more than the kernel says is available now (other processes' memory is not ours to take).
    /// </summary>
    public static long Available
    {
        get
        {
            long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
            try
            {
                if (OperatingSystem.IsLinux() && File.Exists("/proc/meminfo"))
                    foreach (string line in File.ReadLines("/proc/meminfo"))
                        if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                            && long.TryParse(line["MemAvailable:".Length..].Trim().Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out long kib))
                            return Math.Min(limit, kib * 1024 + GC.GetTotalMemory(false));
            }
            catch (IOException) { }
            return limit;
        }
    }

    /// <summary>Refuses (as a usage error naming the option to change) a run whose estimate exceeds the memory available.</summary>
    public static void Check(ModelSpec spec, TrainOptions options, DataSplit split, int threads)
    {
        long needed = Estimate(spec, options, split, threads), available = Available;
        if (needed > available * 0.9)
            throw new ArgumentException($"training would need about {Gb(needed)} of memory and this machine has {Gb(available)}: {Blame(spec, options, split, threads)}");
    }

    /// <summary>For an out-of-memory error: what took the memory, and which option to change.</summary>
    public static string Explain(ModelSpec spec, TrainOptions options, DataSplit split, int threads) =>
        $"out of memory while training (about {Gb(Estimate(spec, options, split, threads))} needed): {Blame(spec, options, split, threads)}";

    private static string Blame(ModelSpec spec, TrainOptions options, DataSplit split, int threads)
    {
        var (model, shards, activations, images) = Parts(spec, options, split, threads);
        long batch = Math.Max(1, Math.Min(options.BatchSize, split.Train.Length));
        string parameters = spec.ParameterCount.ToString("N0", CultureInfo.InvariantCulture);
        long largest = new[] { model, shards, activations, images }.Max();
        if (largest == shards)
            return $"a batch of {batch} images keeps one gradient per {ShardImages}-image shard ({(batch + ShardImages - 1) / ShardImages} x {parameters} parameters, {Gb(shards)}); use a smaller --batch-size";
        if (largest == model)
            return $"{spec.Describe()} has {parameters} parameters ({Gb(model)} for its weights, gradients and optimiser state); use smaller --hidden sizes";
        if (largest == activations)
            return HasBatchNorm(spec)
                ? $"with batch norm each of a batch's {(batch + ShardImages - 1) / ShardImages} shards of {ShardImages} images keeps its activations until the batch's backward pass ({Gb(activations)}); use a smaller --batch-size"
                : $"{threads} threads each hold a shard's activations ({Gb(activations)}); use fewer --threads";
        return $"the split's {split.Train.Length + split.Monitor.Length} images take {Gb(images)}; use smaller --train-normal/--train-anomalies counts";
    }

    private static string Gb(long bytes) => bytes >= 1L << 30
        ? (bytes / (double)(1L << 30)).ToString("F1", CultureInfo.InvariantCulture) + " GiB"
        : (bytes / (double)(1L << 20)).ToString("F0", CultureInfo.InvariantCulture) + " MiB";
}
