// The one place tests build models: an architecture's spec by name, seeded initial weights, on the native engine,
// and a training step written out as the trainer does it (zero the gradients, forward and backward, optimiser step).
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Models;
using AeMnist.Optim;

namespace AeMnist.Core.Tests.TestSupport;

internal static class TestModels
{
    public static TheoryData<string> Kinds => new() { "dense", "conv" };

    /// <summary>The architecture's default spec ("dense": hidden 64,32).</summary>
    public static ModelSpec Spec(string kind) => Architectures.Get(kind).Spec();

    public static ModelSpec Dense(params int[] hidden) => Architectures.Get("dense").Spec(
        Architectures.Get("dense").Settings((DenseAutoEncoder.Hidden, hidden)));

    /// <summary>A native model of <paramref name="spec"/> with weights drawn from <c>new Rng(seed)</c>.</summary>
    public static NativeModel Native(ModelSpec spec, ulong seed, int threads = 1) =>
        new NativeEngine(threads).LoadNative(spec, spec.InitialWeights(new Rng(seed)));

    public static NativeModel Native(string kind, ulong seed, int threads = 1) => Native(Spec(kind), seed, threads);

    /// <summary>One training step on the first <paramref name="n"/> images, as the trainer takes it; returns the loss.</summary>
    public static float Step(IEngineModel model, IOptimizer optimizer, ReadOnlySpan<float> images, int n)
    {
        int[] rows = [.. Enumerable.Range(0, n)];
        ReadOnlySpan<float> batch = images[..(n * model.Spec.Input.Length)];
        model.ZeroGrad();
        float loss = model.ForwardBackward(batch, batch, rows);
        optimizer.Step();
        return loss;
    }
}
