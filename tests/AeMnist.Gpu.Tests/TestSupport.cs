// Shared pieces of the ilgpu tests: the engines (ilgpu on the device AEMNIST_GPU_DEVICE names, ILGPU's CPU accelerator
// by default), MNIST loaded once, images for a case, and the differential tolerance.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Models;
using AeMnist.Torch.Tests;
using Xunit.Abstractions;

// One accelerator at a time: the CPU accelerator's threads would compete, and a GPU's context is per process.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace AeMnist.Gpu.Tests;

internal static class Engines
{
    /// <summary>The ilgpu engine's device for these tests: AEMNIST_GPU_DEVICE (tests/gpu/check.sh sets cuda), else cpu.</summary>
    public static string Device { get; } = Environment.GetEnvironmentVariable("AEMNIST_GPU_DEVICE") is { Length: > 0 } d ? d : ComputeOptions.Cpu;

    public const int Threads = 2;

    public static EngineCatalog Catalog { get; } = NativeEngine.Catalog.With(GpuEngineProvider.Provider);

    public static IEngine Native() => new NativeEngine(Threads);

    public static GpuEngine Gpu() => new(new ComputeOptions(GpuEngineProvider.EngineName, Device, Threads));

    private static readonly Lazy<GpuEngine> Shared = new(Gpu);

    /// <summary>One engine for the whole test run (its kernels compile once).</summary>
    public static GpuEngine SharedGpu => Shared.Value;
}

internal static class Mnist
{
    private static readonly Lazy<Dataset> Loaded = new(() => MnistFiles.Load(AeMnist.Core.Tests.RepoPaths.MnistDirectory));

    public static Dataset Data => Loaded.Value;

    /// <summary><paramref name="n"/> images for <paramref name="c"/>: real digits for a 28x28 model, uniform [0, 1] noise otherwise.</summary>
    public static float[] Images(DifferentialCase c, int n, ulong seed = 7)
    {
        int length = c.Spec.Input.Length;
        if (c.RealImages && length == MnistFiles.PixelsPerImage)
            return Data.Gather([.. Enumerable.Range(0, n).Select(i => (int)(seed * 1000) % 5000 + i * 37)]);
        return Approx.Random(new Rng(seed), n * length, 0f, 1f);
    }
}

/// <summary>
/// The differential tolerance, as the torch engine's: element i passes when |ilgpu - native| &lt;= Relative·|native| +
/// Absolute·max|native|. The worst share of the allowance is logged.
/// </summary>
internal static class Tolerance
{
    public const double Relative = 1e-4;
    public const double Absolute = 1e-5;

    public static double Check(ReadOnlySpan<float> native, ReadOnlySpan<float> gpu, string what, ITestOutputHelper? log = null,
        double relative = Relative, double absolute = Absolute)
    {
        Assert.True(native.Length == gpu.Length, $"{what}: ilgpu has {gpu.Length} values, native {native.Length}.");
        double scale = 0;
        foreach (float v in native) scale = Math.Max(scale, Math.Abs(v));
        double worstRatio = 0, worstDiff = 0;
        int worst = -1;
        for (int i = 0; i < native.Length; i++)
        {
            double diff = Math.Abs((double)gpu[i] - native[i]);
            double allowed = relative * Math.Abs(native[i]) + absolute * scale;
            double ratio = allowed > 0 ? diff / allowed : (diff == 0 ? 0 : double.PositiveInfinity);
            if (!(ratio <= worstRatio)) { worstRatio = ratio; worst = i; worstDiff = diff; }
        }
        log?.WriteLine($"{what}: max |diff| {worstDiff:G3} (scale {scale:G3}), {100 * worstRatio:F1}% of the allowance");
        if (worst >= 0 && !(worstRatio <= 1))
            Assert.Fail($"{what}: element {worst} is {gpu[worst]:R} on ilgpu, {native[worst]:R} on native (|diff| {worstDiff:G3} > {relative:G2}*|native| + {absolute:G2}*{scale:G3}).");
        return worstRatio;
    }

    public static void Check(StateDict native, StateDict gpu, string what, ITestOutputHelper? log = null, double relative = Relative, double absolute = Absolute,
        IReadOnlySet<string>? except = null)
    {
        Assert.Equal(native.Tensors.Select(t => t.Name), gpu.Tensors.Select(t => t.Name));
        foreach (NamedTensor t in native.Tensors)
        {
            Assert.Equal(t.Shape, gpu[t.Name].Shape);
            if (except?.Contains(t.Name) == true) continue;
            Check(t.Data, gpu[t.Name].Data, $"{what} {t.Name}", log, relative, absolute);
        }
    }

    /// <summary>
    /// The biases whose exact gradient is zero (a batch norm follows through Linear/Flatten/Unflatten only, so it subtracts
    /// them again): both engines compute rounding noise for them, which Adam then amplifies to ±lr. Checked apart.
    /// </summary>
    public static IReadOnlySet<string> CancelledBiases(ModelSpec spec)
    {
        var cancelled = new HashSet<string>(StringComparer.Ordinal);
        IReadOnlyList<LayerSpec> layers = spec.Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            if (!layers[i].Parameters.Any(p => p.Name == "bias") || layers[i] is BatchNormSpec) continue;
            for (int j = i + 1; j < layers.Count; j++)
            {
                if (layers[j] is BatchNormSpec) { cancelled.Add(spec.LayerName(i) + ".bias"); break; }
                if (layers[j] is not (LinearSpec or FlattenSpec or UnflattenSpec)) break;
            }
        }
        return cancelled;
    }

    /// <summary>On each engine, the gradient of every cancelled bias is rounding noise: at most 1e-5 of its layer's weight gradient.</summary>
    public static void CheckCancelled(IReadOnlySet<string> cancelled, string what, params StateDict[] gradients)
    {
        foreach (StateDict g in gradients)
            foreach (string bias in cancelled)
            {
                string weight = bias[..^".bias".Length] + ".weight";
                double noise = g[bias].Data.Max(v => Math.Abs(v)), scale = g[weight].Data.Max(v => Math.Abs(v));
                Assert.True(noise <= 1e-5 * scale, $"{what} {bias}: gradient {noise:G3}, but batch norm cancels it: it should be rounding noise next to {weight}'s {scale:G3}");
            }
    }
}
