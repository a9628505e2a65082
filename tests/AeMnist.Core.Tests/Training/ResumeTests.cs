// Every trainable architecture on the native engine: interrupted after its first epoch, its checkpoint (weights, batch-norm
// buffers, Adam's moments per parameter) resumes to the same model file, byte for byte, as an uninterrupted run.
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Models;
using AeMnist.Training;

namespace AeMnist.Core.Tests.Training;

public sealed class ResumeTests
{
    private static readonly Lazy<MnistDataset> Mnist = new(() => MnistDataset.Load(RepoPaths.MnistDirectory));

    private static readonly SplitOptions Split = new(SplitProtocol.Seed, Normal: 4, TrainNormal: 300, TrainAnomalies: 30, TestNormal: 60, TestAnomalies: 60, Seed: 3);

    public static TheoryData<string> Trained => [.. Architectures.All.Where(a => !a.FitsExactly).Select(a => a.Name)];

    [Theory]
    [MemberData(nameof(Trained))]
    public void An_interrupted_run_resumes_to_the_same_bytes(string model)
    {
        using var runs = new TempDirectory();
        var options = new TrainOptions(Model: model, Epochs: 3, BatchSize: 100, EvalEvery: 1, Patience: 10, Keep: KeepCheckpoint.Best);
        var compute = new ComputeOptions(Threads: 2);
        TrainOutcome whole = TrainJob.Execute(new TrainRequest(Split, options, compute, runs.Path, "whole"), Mnist.Value);

        using var stop = new CancellationTokenSource();
        TrainOutcome first = TrainJob.Execute(new TrainRequest(Split, options, compute, runs.Path, "resumed"), Mnist.Value, onEpoch: _ => stop.Cancel(), cancel: stop.Token);
        Assert.Equal(StopReason.Interrupted, first.Result.Reason);
        Assert.Equal(RunState.Resumable, first.Run.State);

        TrainOutcome resumed;
        using (ResumableRun resumable = TrainJob.OpenResumable(first.Run.Path))
            resumed = TrainJob.Resume(resumable, Mnist.Value, threads: 1);
        Assert.Equal(StopReason.Completed, resumed.Result.Reason);
        Assert.Equal(File.ReadAllBytes(whole.Run.ModelPath), File.ReadAllBytes(resumed.Run.ModelPath));
    }
}
