// Deterministic inputs for the benchmarks: MNIST-like images (mostly zeros, the rest in (0, 1]) and seeded models.
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Models;

namespace AeMnist.Benchmarks;

internal static class Inputs
{
    public static float[] Images(int n, ulong seed = 1)
    {
        var rng = new Rng(seed);
        var images = new float[n * 784];
        for (int i = 0; i < images.Length; i++)
        {
            float u = rng.NextSingle(0f, 1f);
            images[i] = u < 0.8f ? 0f : (u - 0.8f) * 5f;
        }
        return images;
    }

    public static float[] Random(int length, ulong seed = 2)
    {
        var rng = new Rng(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++) values[i] = rng.NextSingle(-1f, 1f);
        return values;
    }

    public static NativeModel Model(string kind, int threads)
    {
        ModelSpec spec = Architectures.Get(kind).Spec();
        return new NativeEngine(threads).LoadNative(spec, spec.InitialWeights(new Rng(7)));
    }

    /// <summary>One training step on the whole batch, as the trainer takes it.</summary>
    public static float Step(NativeModel model, AeMnist.Optim.IOptimizer adam, float[] batch, int[] rows)
    {
        model.ZeroGrad();
        float loss = model.ForwardBackward(batch, batch, rows);
        adam.Step();
        return loss;
    }
}
