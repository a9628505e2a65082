using AeMnist.Benchmarking;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Training;

namespace AeMnist.Core.Tests.Benchmarking;

public class BenchmarkGridTests
{
    [Fact]
    public void AModelConfigurationTakesArchitectureAndTrainingOptionsOverItsRecipe()
    {
        BenchmarkModel m = BenchmarkModel.Parse("bottleneck:latent=32:channels=16,32:epochs=3:lr=0.002:noise=0.2:validation=0.2");
        Assert.Equal([32], m.Train.ResolvedSettings[BottleneckAutoEncoder.Latent]);
        Assert.Equal([16, 32], m.Train.ResolvedSettings[BottleneckAutoEncoder.Channels]);
        Assert.Equal(3, m.Train.Epochs);
        Assert.Equal(0.002, m.Train.LearningRate);
        Assert.Equal(0.2, m.Train.Noise);
        Assert.Equal(0.2, m.Validation);
        Assert.Equal(128, m.Train.BatchSize);  // from the bottleneck recipe
        Assert.Equal("bottleneck-latent=32-channels=16,32-epochs=3-lr=0.002-noise=0.2-validation=0.2", m.Slug);
        BenchmarkModel dense = BenchmarkModel.Parse("dense");
        Assert.Equal(new TrainOptions(Model: "dense", Settings: dense.Train.Settings), dense.Train);  // the tutorial's defaults
        Assert.Equal(0.1, dense.Validation);  // but early stopping watches a validation split, never the test split
        Assert.Equal(0.0, BenchmarkModel.Parse("dense:validation=0").Validation);
    }

    [Theory]
    [InlineData("resnet", "--model 'resnet' is not a model")]
    [InlineData("dense:latent=3", "'latent' is neither an option of dense (hidden)")]
    [InlineData("bottleneck:epochs=x", "epochs 'x' is not an integer")]
    [InlineData("bottleneck:epochs", "'epochs' is not KEY=VALUE")]
    [InlineData("bottleneck:keep=worst", "keep 'worst' is not best or last")]
    [InlineData("bottleneck:epochs=0", "--epochs must be positive")]
    [InlineData("bottleneck:validation=1", "validation 1 must be a fraction")]
    [InlineData("bottleneck:lr=1:lr=2", "'lr' is given twice")]
    public void BadConfigurationsAreNamed(string text, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => BenchmarkModel.Parse(text)).Message);

    [Theory]
    [InlineData("0-9", new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 })]
    [InlineData("2,5,8", new[] { 2, 5, 8 })]
    [InlineData("7,0-2,1", new[] { 7, 0, 1, 2 })]
    public void DigitsParse(string text, int[] expected) => Assert.Equal(expected, BenchmarkGrid.ParseDigits(text));

    [Theory]
    [InlineData("10")]
    [InlineData("5-3")]
    [InlineData("a")]
    [InlineData("")]
    public void BadDigitsAreRejected(string text) => Assert.Throws<ArgumentException>(() => BenchmarkGrid.ParseDigits(text));

    [Fact]
    public void SeedsParse()
    {
        Assert.Equal([1UL, 2, 3], BenchmarkGrid.ParseSeeds("1-3"));
        Assert.Equal([4UL, 1], BenchmarkGrid.ParseSeeds("4,1,4"));
        Assert.Throws<ArgumentException>(() => BenchmarkGrid.ParseSeeds("-1"));
    }

    [Fact]
    public void NpyFilesHaveNumPysHeader()
    {
        byte[] bytes = LatentCodes.Npy([1f, 2f, 3f, 4f, 5f, 6f], [2, 3]);
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        int headerLength = bytes[8] | bytes[9] << 8;
        Assert.Equal(0, (10 + headerLength) % 64);
        string header = System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header);
        Assert.EndsWith("\n", header);
        Assert.Equal(6f, BitConverter.ToSingle(bytes, bytes.Length - 4));
        Assert.Equal(10 + headerLength + 24, bytes.Length);
    }
}
