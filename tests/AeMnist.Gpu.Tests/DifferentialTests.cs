// The ilgpu engine against the native engine, from the same spec, weights and images, on the torch engine's cases
// (every layer kind with strides, paddings and output paddings; every registered architecture): forward outputs
// (reconstructions, per-image errors, latent codes), the loss and every gradient (plain and denoising targets, and
// accumulation), three Adam steps with weight decay, Adam's state moved between engines, a learning-rate change and the
// state dict's round trip. Small batches: the CPU accelerator runs each GPU thread as .NET code, slowly.
using AeMnist.Engines;
using AeMnist.Models;
using AeMnist.Optim;
using AeMnist.Torch.Tests;
using Xunit.Abstractions;

namespace AeMnist.Gpu.Tests;

public sealed class DifferentialTests(ITestOutputHelper log)
{
    // Odd sizes; an architecture's images are real 28x28 digits, so fewer of them.
    private static int Batch(DifferentialCase c) => c.Spec.Input.Length > 100 ? 5 : 13;

    [Theory]
    [MemberData(nameof(LayerCases.NamesAndInitialisations), MemberType = typeof(LayerCases))]
    public void ForwardOutputsMatch(string name, int initialisation)
    {
        DifferentialCase c = LayerCases.Get(name);
        int batch = Batch(c);
        StateDict weights = c.Spec.InitialWeights(new Rng(11 + (ulong)initialisation));
        float[] images = Mnist.Images(c, batch);
        using IEngine nativeEngine = Engines.Native();
        using IEngineModel native = nativeEngine.Load(c.Spec, weights), gpu = Engines.SharedGpu.Load(c.Spec, weights);

        Tolerance.Check(native.StateDict(), gpu.StateDict(), "loaded weights", relative: 0, absolute: 0);
        int length = c.Spec.Input.Length, latent = c.Spec.Latent.Length;
        float[] a = new float[batch * length], b = new float[batch * length];
        native.Reconstruct(images, batch, a);
        gpu.Reconstruct(images, batch, b);
        Tolerance.Check(a, b, "reconstructions", log);
        float[] ea = new float[batch], eb = new float[batch];
        native.ReconstructionErrors(images, batch, ea);
        gpu.ReconstructionErrors(images, batch, eb);
        Tolerance.Check(ea, eb, "per-image errors", log);
        float[] ca = new float[batch * latent], cb = new float[batch * latent];
        native.Encode(images, batch, ca);
        gpu.Encode(images, batch, cb);
        Tolerance.Check(ca, cb, "latent codes", log);
    }

    [Theory]
    [MemberData(nameof(LayerCases.NamesAndInitialisations), MemberType = typeof(LayerCases))]
    public void LossAndEveryGradientMatch(string name, int initialisation)
    {
        DifferentialCase c = LayerCases.Get(name);
        int batch = Batch(c);
        StateDict weights = c.Spec.InitialWeights(new Rng(12 + (ulong)initialisation));
        // A pool of images larger than two batches (so the ilgpu engine keeps it resident) and a permuted subset of rows.
        float[] images = Mnist.Images(c, 3 * batch);
        float[] targets = Mnist.Images(c, 3 * batch, seed: 99);  // a denoising-style target different from the input
        int[] rows = [.. Enumerable.Range(0, batch).Select(i => (3 * batch - 1 - 2 * i) % (3 * batch))];
        IReadOnlySet<string> cancelled = Tolerance.CancelledBiases(c.Spec);
        using IEngine nativeEngine = Engines.Native();
        using IEngineModel native = nativeEngine.Load(c.Spec, weights), gpu = Engines.SharedGpu.Load(c.Spec, weights);
        foreach ((string what, float[] target) in new[] { ("autoencoder", images), ("other targets", targets) })
        {
            native.ZeroGrad();
            gpu.ZeroGrad();
            float lossA = native.ForwardBackward(images, target, rows), lossB = gpu.ForwardBackward(images, target, rows);
            Tolerance.Check([lossA], [lossB], $"{what}: loss", log);
            Tolerance.Check(native.Gradients(), gpu.Gradients(), $"{what}: gradient", log, except: cancelled);
            Tolerance.CheckCancelled(cancelled, $"{what}: gradient", native.Gradients(), gpu.Gradients());
        }
        // Gradients accumulate until ZeroGrad, on both; batch norm's running statistics moved alike.
        native.ForwardBackward(images, images, rows);
        gpu.ForwardBackward(images, images, rows);
        Tolerance.Check(native.Gradients(), gpu.Gradients(), "accumulated gradient", log, except: cancelled);
        Tolerance.Check(native.StateDict(), gpu.StateDict(), "weights and running statistics after 3 batches", log);
    }

    [Theory]
    [MemberData(nameof(LayerCases.NamesAndInitialisations), MemberType = typeof(LayerCases))]
    public void ThreeAdamStepsMatch(string name, int initialisation)
    {
        // Each step from the native engine's weights and moments (EngineComparison.AdamStep, as the torch engine's tests): a step's
        // rounding-sized differences change the next gradients, so after them the engines stay close, not element for element.
        DifferentialCase c = LayerCases.Get(name);
        int batch = Batch(c);
        StateDict weights = c.Spec.InitialWeights(new Rng(13 + (ulong)initialisation));
        float[] images = Mnist.Images(c, batch + 2);
        var options = new AdamOptions(LearningRate: 0.01, WeightDecay: 1e-4);
        IReadOnlySet<string> cancelled = Tolerance.CancelledBiases(c.Spec);
        using IEngine nativeEngine = Engines.Native();
        using IEngineModel native = nativeEngine.Load(c.Spec, weights);
        IOptimizer adamA = native.CreateAdam(options);
        for (int step = 1; step <= 3; step++)
        {
            int[] rows = [.. Enumerable.Range(0, batch + 2).Where(i => i % 3 != step % 3)];
            using IEngineModel gpu = Engines.SharedGpu.Load(c.Spec, native.StateDict());
            IOptimizer adamB = gpu.CreateAdam(options);
            if (step > 1) adamB.LoadStateDict(adamA.StateDict(), adamA.StepCount);
            native.ZeroGrad();
            gpu.ZeroGrad();
            native.ForwardBackward(images, images, rows);
            gpu.ForwardBackward(images, images, rows);
            adamA.Step();
            adamB.Step();
            Assert.Equal(step, adamB.StepCount);
            EngineComparison.AdamStep("ilgpu", native.StateDict(), gpu.StateDict(), adamA.StateDict(), adamB.StateDict(), options, step, $"step {step}", log, cancelled,
                Tolerance.Relative, Tolerance.Absolute);
        }
    }

    [Theory]
    [MemberData(nameof(LayerCases.NamesAndInitialisations), MemberType = typeof(LayerCases))]
    public void AdamStateAndWeightsMoveBetweenEngines(string name, int initialisation)
    {
        // The native Adam's moments and weights, loaded into the ilgpu engine, come back out unchanged and give the same next step.
        DifferentialCase c = LayerCases.Get(name);
        int batch = Batch(c);
        StateDict weights = c.Spec.InitialWeights(new Rng(14 + (ulong)initialisation));
        float[] images = Mnist.Images(c, batch);
        int[] rows = [.. Enumerable.Range(0, batch)];
        var options = new AdamOptions(LearningRate: 0.01);
        IReadOnlySet<string> cancelled = Tolerance.CancelledBiases(c.Spec);
        using IEngine nativeEngine = Engines.Native();
        using IEngineModel native = nativeEngine.Load(c.Spec, weights);
        IOptimizer adamA = native.CreateAdam(options);
        for (int step = 0; step < 2; step++)
        {
            native.ZeroGrad();
            native.ForwardBackward(images, images, rows);
            adamA.Step();
        }
        using IEngineModel gpu = Engines.SharedGpu.Load(c.Spec, native.StateDict());
        Assert.True(native.StateDict().BitEquals(gpu.StateDict()), "the weights and buffers come back out of the ilgpu engine unchanged");
        IOptimizer adamB = gpu.CreateAdam(options);
        adamB.LoadStateDict(adamA.StateDict(), adamA.StepCount);
        Assert.True(adamA.StateDict().BitEquals(adamB.StateDict()), "the moments come back out of the ilgpu engine unchanged");
        native.ZeroGrad();
        gpu.ZeroGrad();
        native.ForwardBackward(images, images, rows);
        gpu.ForwardBackward(images, images, rows);
        adamA.Step();
        adamB.Step();
        Assert.Equal(3, adamB.StepCount);
        EngineComparison.AdamStep("ilgpu", native.StateDict(), gpu.StateDict(), adamA.StateDict(), adamB.StateDict(), options, 3, "the third step", log, cancelled,
            Tolerance.Relative, Tolerance.Absolute);
    }

    [Fact]
    public void ANewLearningRateTakesEffect()
    {
        // A schedule's epoch boundary: after SetLearningRate(lr / 4) the next step is the step of an Adam built with lr / 4.
        DifferentialCase c = LayerCases.Get("linear-relu-sigmoid");
        StateDict weights = c.Spec.InitialWeights(new Rng(15));
        float[] images = Mnist.Images(c, 9);
        int[] rows = [.. Enumerable.Range(0, 9)];
        using IEngineModel changed = Engines.SharedGpu.Load(c.Spec, weights), built = Engines.SharedGpu.Load(c.Spec, weights);
        IOptimizer a = changed.CreateAdam(new AdamOptions(LearningRate: 0.04)), b = built.CreateAdam(new AdamOptions(LearningRate: 0.01));
        a.SetLearningRate(0.01);
        foreach (var (model, adam) in new[] { (changed, a), (built, b) })
        {
            model.ZeroGrad();
            model.ForwardBackward(images, images, rows);
            adam.Step();
        }
        Assert.True(changed.StateDict().BitEquals(built.StateDict()), "the new learning rate was not used");
        Assert.False(changed.StateDict().BitEquals(weights), "the step moved nothing");
    }

    [Fact]
    public void SameInputsGiveTheSameBits()
    {
        // No atomics: two models from the same weights, fed the same batches, agree bit for bit (the bottleneck model: batch
        // norm, split-K weight gradients, strided and transposed convolutions).
        DifferentialCase c = LayerCases.Get("bottleneck");
        StateDict weights = c.Spec.InitialWeights(new Rng(16));
        float[] images = Mnist.Images(c, 4);
        int[] rows = [0, 1, 2, 3];
        StateDict Train()
        {
            using IEngineModel model = Engines.SharedGpu.Load(c.Spec, weights);
            IOptimizer adam = model.CreateAdam(new AdamOptions());
            for (int step = 0; step < 2; step++)
            {
                model.ZeroGrad();
                model.ForwardBackward(images, images, rows);
                adam.Step();
            }
            return new StateDict([.. model.StateDict().Tensors, .. adam.StateDict().Tensors]);
        }
        Assert.True(Train().BitEquals(Train()));
    }

    [Fact]
    public void ALayerTheEngineDoesNotKnowIsAClearError()
    {
        var spec = new LayerTestArchitecture("mystery", SampleShape.Vector(4), [new MysteryLayerSpec()], [new MysteryLayerSpec()]).Spec();
        var e = Assert.Throws<NotSupportedException>(() => Engines.SharedGpu.Load(spec, spec.InitialWeights(new Rng(1))));
        Assert.StartsWith("The ilgpu engine has no implementation of Mystery() (MysteryLayerSpec)", e.Message);
    }

    [Fact]
    public void WeightsOfTheWrongShapeAreRejectedByName()
    {
        ModelSpec spec = Architectures.Get("conv").Spec();
        StateDict weights = spec.InitialWeights(new Rng(1));
        var wrong = new StateDict(weights.Tensors.Select(t => t.Name == "decoder.0.bias" ? t with { Shape = [1, t.Data.Length] } : t));
        var e = Assert.Throws<ArgumentException>(() => Engines.SharedGpu.Load(spec, wrong));
        Assert.Contains("'decoder.0.bias' has shape [1, 3], expected [3]", e.Message);
    }

    private sealed record MysteryLayerSpec : LayerSpec
    {
        public override SampleShape OutputShape(SampleShape input) => input;

        public override string ToString() => "Mystery()";
    }
}
