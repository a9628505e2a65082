// Every trainable architecture on the native engine: interrupted after its first epoch, its checkpoint (weights, batch-norm
// buffers, Adam's moments per parameter) resumes to the same model file, byte for byte, as an uninterrupted run.
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Models;
using AeMnist.Runs;
using AeMnist.Training;

namespace AeMnist.Core.Tests.Training;

public sealed class ResumeTests
{
    private static readonly Lazy<Dataset> Mnist = new(() => MnistFiles.Load(RepoPaths.MnistDirectory));

    private static readonly SplitOptions Split = new(SplitProtocol.Seed, Normal: 4, TrainNormal: 300, TrainAnomalies: 30, TestNormal: 60, TestAnomalies: 60, Seed: 3);

    public static TheoryData<string, LrSchedule> Trained()
    {
        var data = new TheoryData<string, LrSchedule>();
        foreach (Architecture a in Architectures.All.Where(a => !a.FitsExactly)) data.Add(a.Name, LrSchedule.Constant);
        data.Add("dense", LrSchedule.Cosine);  // the rate of the epoch a resume starts in comes from the schedule
        return data;
    }

    [Theory]
    [MemberData(nameof(Trained))]
    public void An_interrupted_run_resumes_to_the_same_bytes(string model, LrSchedule schedule)
    {
        using var runs = new TempDirectory();
        var options = new TrainOptions(Model: model, Epochs: 3, BatchSize: 100, EvalEvery: 1, Patience: 10, Keep: KeepCheckpoint.Best, Schedule: schedule);
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

    [Fact]
    public void The_cosine_schedule_is_PyTorchs_CosineAnnealingLR_stepped_per_epoch()
    {
        var options = new TrainOptions(LearningRate: 0.01, Epochs: 4, Schedule: LrSchedule.Cosine);
        // torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4): get_last_lr() before epochs 0-3.
        Assert.Equal([0.01, 0.008535533905932738, 0.005, 0.0014644660940672626], Enumerable.Range(0, 4).Select(options.LearningRateAt).ToArray(), (a, b) => Math.Abs(a - b) < 1e-15);
        Assert.Equal(0.01, (options with { Schedule = LrSchedule.Constant }).LearningRateAt(3));
        Assert.Throws<ArgumentException>(() => TrainOptions.ParseSchedule("linear"));
    }

    [Fact]
    public void A_cosine_run_differs_from_a_constant_one_and_records_its_schedule()
    {
        using var runs = new TempDirectory();
        var constant = new TrainOptions(Model: "dense", Epochs: 3, BatchSize: 100, EvalEvery: 1, Patience: 10);
        var compute = new ComputeOptions(Threads: 1);
        TrainOutcome a = TrainJob.Execute(new TrainRequest(Split, constant, compute, runs.Path, "constant"), Mnist.Value);
        TrainOutcome b = TrainJob.Execute(new TrainRequest(Split, constant with { Schedule = LrSchedule.Cosine }, compute, runs.Path, "cosine"), Mnist.Value);
        Assert.Equal(a.Result.State.History[0].TrainLoss, b.Result.State.History[0].TrainLoss);  // epoch 0 trains at the full rate
        Assert.NotEqual(a.Result.State.History[2].TrainLoss, b.Result.State.History[2].TrainLoss);
        Assert.Contains("\"lr_schedule\": \"cosine\"", File.ReadAllText(b.Run.RunPath));
        Assert.DoesNotContain("lr_schedule", File.ReadAllText(a.Run.RunPath));
    }
}
