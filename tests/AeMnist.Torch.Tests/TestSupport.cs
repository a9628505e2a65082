// Shared pieces of the torch tests: the two engines, MNIST loaded once, images for a case, and the tolerance check.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Models;
using AeMnist.Optim;
using Xunit.Abstractions;

// LibTorch's thread count is one per process (torch.set_num_threads), so the torch tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace AeMnist.Torch.Tests;

internal static class Engines
{
    /// <summary>Every torch test computes on this many threads, so results are comparable run to run.</summary>
    public const int Threads = 2;

    public static EngineCatalog Catalog { get; } = NativeEngine.Catalog.With(TorchEngineProvider.Provider);

    public static IEngine Native() => new NativeEngine(Threads);

    public static IEngine Torch() => new TorchEngine(new ComputeOptions(TorchEngineProvider.EngineName, ComputeOptions.Cpu, Threads));

    /// <summary>The torch engine's model computed in float64: the reference that both engines' float32 results are measured against.</summary>
    public static IEngineModel Reference(ModelSpec spec, StateDict weights) => new TorchModel(spec, weights, TorchSharp.torch.CPU, TorchSharp.torch.ScalarType.Float64);
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
            return Data.Gather([.. Enumerable.Range(0, n).Select(i => i * 37)]);
        return Approx.Random(new Rng(seed), n * length, 0f, 1f);
    }
}

/// <summary>
/// The differential tolerance: element i of a tensor passes when |torch - native| &lt;= Relative * |native| +
/// Absolute * max|native| (the tensor's largest magnitude, so that elements that cancel to nearly zero are judged
/// against the tensor's scale, not their own). The worst ratio of error to allowance is logged.
/// </summary>
internal static class Tolerance
{
    public const double Relative = 1e-4;
    public const double Absolute = 1e-5;

    /// <summary>
    /// <see cref="Relative"/> for a model whose images have more values than MNIST's 784: a gradient sums over an image's
    /// values in float32 on both engines, in different orders, and such rounding grows like the square root of the
    /// count (3x37x45 images: 2.5x). A wrong implementation is off by far more.
    /// </summary>
    public static double RelativeFor(ModelSpec spec) => Relative * Math.Max(1, Math.Sqrt(spec.Input.Length / 784.0));

    /// <summary>
    /// Gradients against the float64 reference (the torch engine's module in float64):
    /// the native engine's element for element, its error within <see cref="Relative"/> of the element, plus
    /// <see cref="Absolute"/> of the tensor's scale, plus <see cref="AsAccurateFactor"/> times LibTorch's largest error in
    /// the same tensor, which measures how much rounding the tensor's sums carry; LibTorch's in norm, as
    /// <see cref="CheckAgainstReference"/> does (its own error is not ours to bound: over 16 initialisations its
    /// 3x37x45 convolution's weight gradient was 4e-4 of an element's value from float64 twice, the native engine's 1e-5).
    /// A wrong element is off by far more. Where a ReLU's input lies within rounding of zero, the native engine may mask
    /// it where float64 does not (over 16 initialisations of the twelve cases it checks, with
    /// LayerCases.InitialisationsVariable=16: once, dense-3x37x45's fifth), so this bound holds for the test's own
    /// initialisation, not for every one.
    /// </summary>
    public static void CheckAsAccurate(StateDict reference, StateDict native, StateDict torch, string what, ITestOutputHelper? log = null,
        IReadOnlySet<string>? except = null)
    {
        Assert.Equal(reference.Tensors.Select(t => t.Name), native.Tensors.Select(t => t.Name));
        Assert.Equal(reference.Tensors.Select(t => t.Name), torch.Tensors.Select(t => t.Name));
        foreach (NamedTensor t in reference.Tensors)
        {
            if (except?.Contains(t.Name) == true) continue;
            float[] r = t.Data, a = native[t.Name].Data, b = torch[t.Name].Data;
            double scale = r.Max(v => Math.Abs(v)), torchError = Enumerable.Range(0, r.Length).Max(i => Math.Abs((double)b[i] - r[i]));
            double worstRatio = 0;
            int worst = -1;
            for (int i = 0; i < r.Length; i++)
            {
                double allowed = Relative * Math.Abs(r[i]) + Absolute * scale + AsAccurateFactor * torchError;
                double ratio = allowed > 0 ? Math.Abs((double)a[i] - r[i]) / allowed : (a[i] == r[i] ? 0 : double.PositiveInfinity);
                if (!(ratio <= worstRatio)) { worstRatio = ratio; worst = i; }
            }
            log?.WriteLine($"{what} {t.Name}: native against float64, {100 * worstRatio:F1}% of the allowance");
            if (worst >= 0 && !(worstRatio <= 1))
                Assert.Fail($"{what} {t.Name}: element {worst} is {a[worst]:R} on native, {r[worst]:R} in float64 (LibTorch's largest error in the tensor: {torchError:G3}).");
        }
        CheckAgainstReference(reference, null, torch, what, log, except);
    }

    /// <summary>How many times LibTorch's largest error in a tensor the native engine's error may be (see <see cref="CheckAsAccurate"/>).</summary>
    public const double AsAccurateFactor = 4;

    /// <summary>
    /// Gradients of a model with many batch-normalised values, against the float64 reference (the torch engine's module
    /// in float64), per tensor in L2 norm as a share of the reference's: the native engine's error at most
    /// <see cref="ReferenceFloor"/> or twice LibTorch's, whichever is larger; LibTorch's (when <paramref name="native"/> is
    /// null, or as well) at most <see cref="ReferenceLimit"/>. Not element for element: where a ReLU's input after a batch
    /// norm lies within rounding of zero, a float32 engine may mask it otherwise than float64, and the batch norm spreads
    /// that one element's change over its channel and everything before it. Measured over 16 initialisations of the
    /// batch-norm cases: up to 1.2% with both engines alike (float64 masked otherwise); where one engine alone was off,
    /// native up to 0.50%, LibTorch up to 0.12%. So an error of the native engine's own below about 1% of a tensor's
    /// gradient passes here (the batch norm's backward pass with its xhat term 2% off fails); the kernels' naive twins
    /// (AeMnist.Core.Tests) hold the arithmetic itself.
    /// </summary>
    public static void CheckAgainstReference(StateDict reference, StateDict? native, StateDict torch, string what, ITestOutputHelper? log = null,
        IReadOnlySet<string>? except = null)
    {
        Assert.Equal(reference.Tensors.Select(t => t.Name), torch.Tensors.Select(t => t.Name));
        if (native is not null) Assert.Equal(reference.Tensors.Select(t => t.Name), native.Tensors.Select(t => t.Name));
        foreach (NamedTensor t in reference.Tensors)
        {
            if (except?.Contains(t.Name) == true) continue;
            double torchError = EngineComparison.RelativeL2(t.Data, torch[t.Name].Data);
            log?.WriteLine($"{what} {t.Name}: |torch - float64| is {torchError:G3} of |float64|");
            Assert.True(torchError <= ReferenceLimit, $"{what} {t.Name}: the torch engine's gradient is {torchError:G3} of the float64 gradient's norm away from it (at most {ReferenceLimit})");
            if (native is null) continue;
            double nativeError = EngineComparison.RelativeL2(t.Data, native[t.Name].Data), limit = Math.Max(ReferenceFloor, 2 * torchError);
            log?.WriteLine($"{what} {t.Name}: |native - float64| is {nativeError:G3} of |float64|");
            Assert.True(nativeError <= limit, $"{what} {t.Name}: the native engine's gradient is {nativeError:G3} of the float64 gradient's norm away from it " +
                $"(at most {limit:G3}: {ReferenceFloor}, or twice LibTorch's {torchError:G3})");
        }
    }

    /// <summary>The native engine's gradient may be this share of the float64 gradient's norm from it, or twice LibTorch's error (see <see cref="CheckAgainstReference"/>).</summary>
    public const double ReferenceFloor = 0.01;

    /// <summary>The values a sample gives the model's batch norms (each of which a ReLU may follow).</summary>
    public static long ValuesAfterBatchNorm(ModelSpec spec) => spec.Layers.Select((l, i) => l is BatchNormSpec ? (long)spec.Shapes[i + 1].Length : 0).Sum();

    /// <summary>
    /// Up to this many batch-normalised values in a batch, gradients are checked element for element: the chance that
    /// one lies within rounding of zero grows with their number (the batch-norm case's 8,000 passed all 16
    /// initialisations tried; the bottleneck's 2.8 million failed 15 of 16 as element for element).
    /// </summary>
    public const long ElementWiseBatchNormValues = 10_000;

    /// <summary>How far LibTorch's gradient may be from the float64 reference's, as a share of its norm: a gross-error check of the torch engine.</summary>
    public const double ReferenceLimit = 0.05;

    public static double Check(ReadOnlySpan<float> native, ReadOnlySpan<float> torch, string what, ITestOutputHelper? log = null,
        double relative = Relative, double absolute = Absolute)
    {
        Assert.True(native.Length == torch.Length, $"{what}: torch has {torch.Length} values, native {native.Length}.");
        double scale = 0;
        foreach (float v in native) scale = Math.Max(scale, Math.Abs(v));
        double worstRatio = 0, worstDiff = 0;
        int worst = -1;
        for (int i = 0; i < native.Length; i++)
        {
            double diff = Math.Abs((double)torch[i] - native[i]);
            double allowed = relative * Math.Abs(native[i]) + absolute * scale;
            double ratio = allowed > 0 ? diff / allowed : (diff == 0 ? 0 : double.PositiveInfinity);
            if (!(ratio <= worstRatio)) { worstRatio = ratio; worst = i; worstDiff = diff; }
        }
        log?.WriteLine($"{what}: max |diff| {worstDiff:G3} (scale {scale:G3}), {100 * worstRatio:F1}% of the allowance");
        if (worst >= 0 && !(worstRatio <= 1))
            Assert.Fail($"{what}: element {worst} is {torch[worst]:R} on torch, {native[worst]:R} on native (|diff| {worstDiff:G3} > {relative:G2}*|native| + {absolute:G2}*{scale:G3}).");
        return worstRatio;
    }

    public static void Check(StateDict native, StateDict torch, string what, ITestOutputHelper? log = null, double relative = Relative, double absolute = Absolute,
        IReadOnlySet<string>? except = null)
    {
        Assert.Equal(native.Tensors.Select(t => t.Name), torch.Tensors.Select(t => t.Name));
        foreach (NamedTensor t in native.Tensors)
        {
            Assert.Equal(t.Shape, torch[t.Name].Shape);
            if (except?.Contains(t.Name) == true) continue;
            Check(t.Data, torch[t.Name].Data, $"{what} {t.Name}", log, relative, absolute);
        }
    }

    /// <summary>
    /// The biases of a spec whose exact gradient is zero: between the bias's layer and the next batch norm lie only
    /// Linear, Flatten and Unflatten layers, so the bias shifts the batch norm's input by a constant per feature, which
    /// the batch norm subtracts again. Both engines compute rounding noise for them (1e-9 next to weight gradients of
    /// 1e-3), and Adam divides that noise by its own magnitude, so such a bias moves by up to lr per step in a direction
    /// that depends on rounding alone. They are checked for what is exact instead (<see cref="CheckCancelled"/>).
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

    /// <summary>
    /// On each engine, the gradient of every cancelled bias is rounding noise: at most 1e-4 of its layer's weight gradient
    /// (the bottleneck's first bias sums 150x196 values a channel: up to 2.7e-5 over 16 initialisations; an uncancelled
    /// bias gradient is of the weight gradient's order).
    /// </summary>
    public static void CheckCancelled(IReadOnlySet<string> cancelled, string what, params StateDict[] gradients)
    {
        foreach (StateDict g in gradients)
            foreach (string bias in cancelled)
            {
                string weight = bias[..^".bias".Length] + ".weight";
                double noise = g[bias].Data.Max(v => Math.Abs(v)), scale = g[weight].Data.Max(v => Math.Abs(v));
                Assert.True(noise <= 1e-4 * scale, $"{what} {bias}: gradient {noise:G3}, but batch norm cancels it: it should be rounding noise next to {weight}'s {scale:G3}");
            }
    }
}
