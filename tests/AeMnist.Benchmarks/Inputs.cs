// Deterministic inputs for the benchmarks: MNIST-like images (mostly zeros, the rest in (0, 1]) and seeded models.
using AeMnist.Models;

namespace AeMnist.Benchmarks;

internal static class Inputs
{
    public static float[] Images(int n, ulong seed = 1)
    {
        var rng = new Rng(seed);
        var images = new float[n * AutoEncoder.ImagePixels];
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

    public static AutoEncoder Model(string kind, int threads)
    {
        AutoEncoder model = kind == "dense" ? AutoEncoder.CreateDense(AutoEncoder.ImagePixels, [64, 32], new Rng(7)) : AutoEncoder.CreateConv(new Rng(7));
        model.Threads = threads;
        return model;
    }
}
