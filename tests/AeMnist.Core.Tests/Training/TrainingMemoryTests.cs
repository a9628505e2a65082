using AeMnist.Data;
using AeMnist.Models;
using AeMnist.Training;

namespace AeMnist.Core.Tests.Training;

/// <summary>The out-of-memory message blames what takes the memory (issue 12), not always --batch-size.</summary>
public sealed class TrainingMemoryTests
{
    private static DataSplit Split(int train, int monitor) =>
        new(new SplitOptions(), Enumerable.Range(0, train).ToArray(), [], Enumerable.Range(0, monitor).ToArray());

    private static ModelSpec Dense(params int[] hidden) => Architectures.Get("dense").Spec(Architectures.Get("dense").Settings((DenseAutoEncoder.Hidden, hidden)));

    [Fact]
    public void A_large_model_blames_the_hidden_sizes()
    {
        ModelSpec spec = Dense(4096, 4096);
        string message = TrainingMemory.Explain(spec, new TrainOptions(BatchSize: 64), Split(5500, 2000), 2);
        Assert.Contains("use smaller --hidden sizes", message);
        Assert.DoesNotContain("--batch-size", message);
    }

    [Fact]
    public void A_large_batch_blames_the_batch_size()
    {
        string message = TrainingMemory.Explain(Dense(256, 128), new TrainOptions(BatchSize: 60000), Split(60000, 10000), 2);
        Assert.Contains("use a smaller --batch-size", message);
        Assert.Contains("938 x ", message);  // shards of 64 images
    }

    [Fact]
    public void A_large_split_blames_the_counts()
    {
        string message = TrainingMemory.Explain(Dense(8), new TrainOptions(BatchSize: 64), Split(60000, 10000), 1);
        Assert.Contains("the split's 70000 images", message);
    }

    [Fact]
    public void The_tutorial_run_fits_and_a_batch_larger_than_the_split_counts_as_the_split()
    {
        TrainingMemory.Check(Dense(64, 32), new TrainOptions(), Split(5500, 2000), 2);
        long huge = TrainingMemory.Estimate(Dense(64, 32), new TrainOptions(BatchSize: int.MaxValue), Split(5500, 2000), 2);
        long whole = TrainingMemory.Estimate(Dense(64, 32), new TrainOptions(BatchSize: 5500), Split(5500, 2000), 2);
        Assert.Equal(whole, huge);
    }
}
