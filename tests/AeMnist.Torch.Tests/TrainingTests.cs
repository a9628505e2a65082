// Real training on both engines: the loss curve of a few epochs, held to the native engine; and interrupt and resume on
// the torch engine, which must end with the same bytes as an uninterrupted run (same thread count).
using AeMnist.Core.Tests;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Models;
using AeMnist.Optim;
using AeMnist.Runs;
using AeMnist.Training;
using Xunit.Abstractions;

namespace AeMnist.Torch.Tests;

public sealed class TrainingTests(ITestOutputHelper log)
{
    // 660 training images: 6 batches of at most 128 per epoch; a 300-image monitored test split.
    private static readonly SplitOptions Split = new(SplitProtocol.Seed, Normal: 3, TrainNormal: 600, TrainAnomalies: 60, TestNormal: 150, TestAnomalies: 150, Seed: 5);

    private static TrainOptions Options(string model, int epochs) =>
        new(Model: model, Epochs: epochs, BatchSize: 128, EvalEvery: 1, Patience: 100, Keep: KeepCheckpoint.Last);

    /// <summary>
    /// The loss curves may drift apart as training amplifies float32 rounding; they stay within 1e-3 relative over 4 epochs,
    /// 5e-3 for a model with batch norm (whose gradients already differ where rounding flips a ReLU's mask: see Tolerance.CheckAgainstReference).
    /// </summary>
    private static double CurveRelative(string model) => Architectures.Get(model).Spec().Layers.Any(l => l is BatchNormSpec) ? 5e-3 : 1e-3;

    [Theory]
    [MemberData(nameof(LayerCases.TrainedArchitectureNames), MemberType = typeof(LayerCases))]
    public void TheLossCurveOfRealTrainingMatchesTheNativeEngine(string model)
    {
        using var runs = new TempDirectory();
        TrainOutcome Train(string engine) => TrainJob.Execute(
            new TrainRequest(Split, Options(model, epochs: 4), new ComputeOptions(engine, ComputeOptions.Cpu, Engines.Threads), runs.Path, engine),
            Mnist.Data, Engines.Catalog);
        TrainOutcome native = Train("native"), torch = Train("torch");
        Assert.Equal(StopReason.Completed, torch.Result.Reason);
        Assert.Equal(4, torch.Result.State.History.Count);
        double worst = 0;
        for (int i = 0; i < 4; i++)
        {
            EpochRecord a = native.Result.State.History[i], b = torch.Result.State.History[i];
            log.WriteLine($"epoch {a.Epoch}: train loss native {a.TrainLoss:R} torch {b.TrainLoss:R}; monitor native {a.MonitorLoss:R} torch {b.MonitorLoss:R}");
            worst = Math.Max(worst, Tolerance.Check([(float)a.TrainLoss], [(float)b.TrainLoss], $"epoch {a.Epoch} train loss", log, CurveRelative(model), 0));
            worst = Math.Max(worst, Tolerance.Check([(float)a.MonitorLoss!.Value], [(float)b.MonitorLoss!.Value], $"epoch {a.Epoch} monitor loss", log, CurveRelative(model), 0));
        }
        Assert.True(torch.Result.State.History[^1].TrainLoss < torch.Result.State.History[0].TrainLoss, "the torch engine's loss goes down");
        Tolerance.Check([(float)native.Threshold], [(float)torch.Threshold], "threshold", log, CurveRelative(model), 0);
        // Each engine's model file opens in the other: the same state-dict names and shapes.
        var (spec, weights, _) = DetectorFile.Load(torch.Run.ModelPath, null);
        using IEngine nativeEngine = Engines.Native();
        using IEngineModel reopened = nativeEngine.Load(spec, weights);
        Assert.True(reopened.StateDict().BitEquals(weights));
    }

    [Theory]
    [MemberData(nameof(LayerCases.TrainedArchitectureNames), MemberType = typeof(LayerCases))]
    public void AnInterruptedTorchRunResumesToTheSameBytes(string model)
    {
        using var runs = new TempDirectory();
        var compute = new ComputeOptions("torch", ComputeOptions.Cpu, Engines.Threads);
        TrainOptions options = Options(model, epochs: 3) with { Keep = KeepCheckpoint.Best };
        TrainOutcome whole = TrainJob.Execute(new TrainRequest(Split, options, compute, runs.Path, "whole"), Mnist.Data, Engines.Catalog);

        // Interrupted in the middle of epoch 2 (after 2 of its 6 batches), as Ctrl-C would: the current batch finishes.
        using var stop = new CancellationTokenSource();
        EngineCatalog interrupting = NativeEngine.Catalog.With(TorchEngineProvider.Provider with
        {
            Create = o => new StoppingEngine(TorchEngineProvider.Provider.Create(o), afterBatches: 8, stop),
        });
        TrainOutcome first = TrainJob.Execute(new TrainRequest(Split, options, compute, runs.Path, "resumed"), Mnist.Data, interrupting, cancel: stop.Token);
        Assert.Equal(StopReason.Interrupted, first.Result.Reason);
        Assert.True(File.Exists(first.Run.CheckpointPath));
        Assert.Equal((1, 2), (first.Result.State.EpochsDone, first.Result.State.BatchesDone));

        TrainOutcome resumed;
        using (ResumableRun resumable = TrainJob.OpenResumable(first.Run.Path))
            resumed = TrainJob.Resume(resumable, Mnist.Data, engines: Engines.Catalog);
        Assert.Equal("torch", resumed.Request.Compute.Engine);
        Assert.Equal(StopReason.Completed, resumed.Result.Reason);
        Assert.False(File.Exists(first.Run.CheckpointPath));
        Assert.Equal(File.ReadAllBytes(whole.Run.ModelPath), File.ReadAllBytes(resumed.Run.ModelPath));
        Assert.Equal(whole.Result.State.History.Select(h => (h.TrainLoss, h.MonitorLoss)), resumed.Result.State.History.Select(h => (h.TrainLoss, h.MonitorLoss)));
        Assert.Equal(whole.Threshold, resumed.Threshold);
    }

    [Fact]
    public void SameSeedAndThreadsGiveTheSameBytesOnTheTorchEngine()
    {
        using var runs = new TempDirectory();
        var compute = new ComputeOptions("torch", ComputeOptions.Cpu, Engines.Threads);
        byte[] Run(string name) => File.ReadAllBytes(TrainJob.Execute(new TrainRequest(Split, Options("conv", 2), compute, runs.Path, name), Mnist.Data, Engines.Catalog).Run.ModelPath);
        Assert.Equal(Run("a"), Run("b"));
    }

    // Cancels a token after a number of training batches, as a Ctrl-C arriving during that batch would.
    private sealed class StoppingEngine(IEngine inner, int afterBatches, CancellationTokenSource stop) : IEngine
    {
        public string Name => inner.Name;
        public string Device => inner.Device;
        public int Threads => inner.Threads;
        public IEngineModel Load(ModelSpec spec, StateDict weights) => new StoppingModel(inner.Load(spec, weights), afterBatches, stop);
        public void Dispose() => inner.Dispose();
    }

    private sealed class StoppingModel(IEngineModel inner, int afterBatches, CancellationTokenSource stop) : IEngineModel
    {
        private int _batches;
        public ModelSpec Spec => inner.Spec;
        public void ZeroGrad() => inner.ZeroGrad();

        public float ForwardBackward(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, ReadOnlySpan<int> rows, Loss loss)
        {
            float value = inner.ForwardBackward(inputs, targets, rows, loss);
            if (++_batches == afterBatches) stop.Cancel();
            return value;
        }

        public IOptimizer CreateOptimizer(OptimizerOptions options) => inner.CreateOptimizer(options);
        public void Reconstruct(ReadOnlySpan<float> images, int n, Span<float> output) => inner.Reconstruct(images, n, output);
        public void Losses(ReadOnlySpan<float> images, int n, Loss loss, Span<float> losses) => inner.Losses(images, n, loss, losses);
        public void Encode(ReadOnlySpan<float> images, int n, Span<float> codes) => inner.Encode(images, n, codes);
        public StateDict StateDict() => inner.StateDict();
        public void LoadStateDict(StateDict weights) => inner.LoadStateDict(weights);
        public StateDict Gradients() => inner.Gradients();
        public void Dispose() => inner.Dispose();
    }
}
