// Shared pieces of the torch tests: the two engines, MNIST loaded once, images for a case, and the tolerance check.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Models;
using Xunit.Abstractions;

// LibTorch's thread count is one per process (torch.set_num_threads), so the torch tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace AeMnist.Torch.Tests;

internal static class Engines
{
    /// <summary>Every torch test computes on this many threads, so results are comparable run to run.</summary>
    public const int Threads = 2;

    public static EngineCatalog Catalog { get; } = EngineCatalog.Native.With(TorchEngineProvider.Provider);

    public static IEngine Native() => new NativeEngine(Threads);

    public static IEngine Torch() => new TorchEngine(new ComputeOptions(TorchEngineProvider.EngineName, ComputeOptions.Cpu, Threads));
}

internal static class Mnist
{
    private static readonly Lazy<MnistDataset> Loaded = new(() => MnistDataset.Load(AeMnist.Core.Tests.RepoPaths.MnistDirectory));

    public static MnistDataset Data => Loaded.Value;

    /// <summary><paramref name="n"/> images for <paramref name="c"/>: real digits for a 28x28 model, uniform [0, 1] noise otherwise.</summary>
    public static float[] Images(DifferentialCase c, int n, ulong seed = 7)
    {
        int length = c.Spec.Input.Length;
        if (c.RealImages && length == MnistDataset.PixelsPerImage)
            return Data.Gather([.. Enumerable.Range(0, n).Select(i => i * 37)]);
        return Approx.Random(new Rng(seed), n * length, 0f, 1f);
    }
}

/// <summary>
/// The differential tolerance: element i of a tensor passes when |torch - native| &lt;= Relative * |native| +
/// Absolute * max|native| (the tensor's largest magnitude, so that elements that cancel to nearly zero are judged
/// against the tensor's scale, not their own) + floor. The worst ratio of error to allowance is logged.
/// </summary>
internal static class Tolerance
{
    public const double Relative = 1e-4;
    public const double Absolute = 1e-5;

    /// <summary>
    /// Weights after Adam steps also get <see cref="AdamStepShare"/> x lr per step: Adam divides the gradient by its own
    /// magnitude, so where a gradient is near eps (1e-8), e.g. a first-layer weight of a border pixel that is almost always
    /// 0, a rounding difference of 1e-11 in it changes that weight's step by a visible share of lr. (Observed: 9e-4 x lr.)
    /// </summary>
    public const double AdamStepShare = 5e-3;

    public static double Check(ReadOnlySpan<float> native, ReadOnlySpan<float> torch, string what, ITestOutputHelper? log = null,
        double relative = Relative, double absolute = Absolute, double floor = 0)
    {
        Assert.True(native.Length == torch.Length, $"{what}: torch has {torch.Length} values, native {native.Length}.");
        double scale = 0;
        foreach (float v in native) scale = Math.Max(scale, Math.Abs(v));
        double worstRatio = 0, worstDiff = 0;
        int worst = -1;
        for (int i = 0; i < native.Length; i++)
        {
            double diff = Math.Abs((double)torch[i] - native[i]);
            double allowed = relative * Math.Abs(native[i]) + absolute * scale + floor;
            double ratio = allowed > 0 ? diff / allowed : (diff == 0 ? 0 : double.PositiveInfinity);
            if (!(ratio <= worstRatio)) { worstRatio = ratio; worst = i; worstDiff = diff; }
        }
        log?.WriteLine($"{what}: max |diff| {worstDiff:G3} (scale {scale:G3}), {100 * worstRatio:F1}% of the allowance");
        if (worst >= 0 && !(worstRatio <= 1))
            Assert.Fail($"{what}: element {worst} is {torch[worst]:R} on torch, {native[worst]:R} on native (|diff| {worstDiff:G3} > {relative:G2}*|native| + {absolute:G2}*{scale:G3}).");
        return worstRatio;
    }

    public static void Check(StateDict native, StateDict torch, string what, ITestOutputHelper? log = null, double relative = Relative, double absolute = Absolute,
        double floor = 0)
    {
        Assert.Equal(native.Tensors.Select(t => t.Name), torch.Tensors.Select(t => t.Name));
        foreach (NamedTensor t in native.Tensors)
        {
            Assert.Equal(t.Shape, torch[t.Name].Shape);
            Check(t.Data, torch[t.Name].Data, $"{what} {t.Name}", log, relative, absolute, floor);
        }
    }
}
