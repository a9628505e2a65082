using AeMnist.Core.Tests.TestSupport;
using AeMnist.Layers;
using AeMnist.Models;
using AeMnist.Optim;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Models;

/// <summary>The engine's shards, threads and interleaved convolutions change speed, never results.</summary>
public class DataParallelTests
{
    private static AutoEncoder Create(string kind, int threads)
    {
        AutoEncoder model = kind == "dense" ? AutoEncoder.CreateDense(784, [64, 32], new Rng(5)) : AutoEncoder.CreateConv(new Rng(5));
        model.Threads = threads;
        return model;
    }

    // Three steps on a batch that is not a multiple of the shard size or of 16, then the errors of every image.
    private static (float[] Parameters, float[] M, float[] Errors, float[] Losses) Train(string kind, int threads)
    {
        float[] images = MnistSample.TrainImages(150);
        AutoEncoder model = Create(kind, threads);
        var adam = new Adam(model.Parameters, new AdamOptions(LearningRate: 0.01));
        float[] losses = new float[3];
        for (int step = 0; step < 3; step++) losses[step] = model.TrainStep(images, 150, adam);
        float[] errors = new float[150];
        model.ReconstructionErrors(images, 150, errors);
        return ((float[])model.Parameters.Data.Clone(), (float[])adam.M.Clone(), errors, losses);
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("conv")]
    public void ResultsAreBitIdenticalForAnyThreadCount(string kind)
    {
        var one = Train(kind, 1);
        foreach (int threads in new[] { 2, 3 })
        {
            var other = Train(kind, threads);
            Approx.Identical(one.Parameters, other.Parameters, $"{kind} parameters, {threads} threads");
            Approx.Identical(one.M, other.M, $"{kind} Adam moments, {threads} threads");
            Approx.Identical(one.Errors, other.Errors, $"{kind} errors, {threads} threads");
            Approx.Identical(one.Losses, other.Losses, $"{kind} losses, {threads} threads");
        }
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("conv")]
    public void ShardedStepMatchesTheWholeBatchComputedLayerByLayer(string kind)
    {
        // Reference: the plain NCHW layers over the whole batch at once (the path the PyTorch fixtures test layer by layer).
        const int n = 150;
        float[] images = MnistSample.TrainImages(n);
        AutoEncoder reference = Create(kind, 1), engine = Create(kind, 2);
        var loss = new MseLoss();
        TensorShape shape = reference.InputShape(n);
        float expectedLoss = loss.Forward(reference.Forward(images, shape), images, shape);
        reference.Parameters.ZeroGrad();
        reference.Backward(loss.Backward(), computeInputGradient: false);

        var adam = new Adam(engine.Parameters, new AdamOptions(LearningRate: 0.01));
        float actualLoss = engine.TrainStep(images, n, adam);  // the gradients stay in Parameters.Grad after the step
        Approx.Equal(expectedLoss, actualLoss, "loss", relative: 1e-6);
        Approx.Equal(reference.Parameters.Grad, engine.Parameters.Grad, "gradients", relative: 1e-4, absolute: 1e-7);
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("conv")]
    public void GatheringByIndexEqualsTrainingOnTheCopiedBatch(string kind)
    {
        float[] images = MnistSample.TrainImages(300);
        int[] order = [.. Enumerable.Range(0, 300).Select(i => (i * 7919) % 300).Take(170)];
        float[] copied = new float[order.Length * 784];
        for (int i = 0; i < order.Length; i++) images.AsSpan(order[i] * 784, 784).CopyTo(copied.AsSpan(i * 784, 784));
        AutoEncoder byCopy = Create(kind, 1), byIndex = Create(kind, 2);
        var adamCopy = new Adam(byCopy.Parameters, new AdamOptions(LearningRate: 0.01));
        var adamIndex = new Adam(byIndex.Parameters, new AdamOptions(LearningRate: 0.01));
        for (int step = 0; step < 2; step++)
            Assert.Equal(byCopy.TrainStep(copied, order.Length, adamCopy), byIndex.TrainStep(images, order, adamIndex));
        Approx.Identical(byCopy.Parameters.Data, byIndex.Parameters.Data, $"{kind} parameters");
        Assert.Throws<ArgumentOutOfRangeException>(() => byIndex.TrainStep(images, [0, 300], adamIndex));
    }

    [Fact]
    public void InterleavedConvolutionsMatchTheNchwLayers()
    {
        const int n = 37;
        float[] images = MnistSample.TrainImages(n);
        ConvAutoEncoder nchw = AutoEncoder.CreateConv(new Rng(8)), interleaved = AutoEncoder.CreateConv(new Rng(8));
        interleaved.UseInterleavedLayout();
        TensorShape shape = nchw.InputShape(n);
        float[] expected = nchw.Forward(images, shape).ToArray(), actual = interleaved.Forward(images, shape).ToArray();
        Approx.Equal(expected, actual, "reconstructions", relative: 1e-5, absolute: 1e-6);
        float[] dOutput = Approx.Random(new Rng(9), n * 784);
        nchw.Parameters.ZeroGrad();
        interleaved.Parameters.ZeroGrad();
        float[] dExpected = nchw.Backward(dOutput, computeInputGradient: true).ToArray();
        float[] dActual = interleaved.Backward(dOutput, computeInputGradient: true).ToArray();
        Approx.Equal(dExpected, dActual, "input gradient", relative: 1e-4, absolute: 1e-6);
        Approx.Equal(nchw.Parameters.Grad, interleaved.Parameters.Grad, "parameter gradients", relative: 1e-4, absolute: 1e-5);
    }
}
