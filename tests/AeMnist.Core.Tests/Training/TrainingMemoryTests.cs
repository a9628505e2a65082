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
    public void With_batch_norm_every_shard_of_a_batch_holds_its_activations()
    {
        // The bottleneck model trains each 64-image shard of a batch on its own network (batch norm needs the whole batch):
        // a batch of 2048 holds 32 shards' activations, which the estimate once counted for the two threads only.
        ModelSpec spec = Architectures.Get("bottleneck").Spec();
        long small = TrainingMemory.Parts(spec, new TrainOptions(BatchSize: 128), Split(60000, 10000), 2).Activations;
        long large = TrainingMemory.Parts(spec, new TrainOptions(BatchSize: 2048), Split(60000, 10000), 2).Activations;
        Assert.Equal((2 + 32) / (double)(2 + 2), large / (double)small, 9);
        string message = TrainingMemory.Explain(Architectures.Get("bottleneck").Spec(image: new AeMnist.Tensors.ImageShape(3, 256, 256)),
            new TrainOptions(BatchSize: 4096), Split(6000, 100), 2);
        Assert.Contains("each of a batch's 64 shards of 64 images keeps its activations", message);
        Assert.Contains("use a smaller --batch-size", message);
        // Without batch norm the shards take turns on each thread's network: the batch does not change the activations.
        Assert.Equal(TrainingMemory.Parts(Dense(64, 32), new TrainOptions(BatchSize: 128), Split(60000, 10000), 2).Activations,
            TrainingMemory.Parts(Dense(64, 32), new TrainOptions(BatchSize: 2048), Split(60000, 10000), 2).Activations);
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
