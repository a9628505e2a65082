using AeMnist.Core.Tests.TestSupport;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Engines.Native.Layers;
using AeMnist.Models;
using AeMnist.Optim;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Models;


/// <summary>The native engine's shards, threads and interleaved convolutions change speed, never results.</summary>
public class DataParallelTests
{
    // Three steps on a batch that is not a multiple of the shard size or of 16, then the errors of every image.
    private static (StateDict Weights, StateDict Moments, float[] Errors, float[] Losses) Train(string kind, int threads)
    {
        float[] images = MnistSample.TrainImages(150);
        NativeModel model = TestModels.Native(kind, 5, threads);
        var adam = model.CreateAdam(new AdamOptions(LearningRate: 0.01));
        float[] losses = new float[3];
        for (int step = 0; step < 3; step++) losses[step] = TestModels.Step(model, adam, images, 150);
        float[] errors = new float[150];
        model.ReconstructionErrors(images, 150, errors);
        return (model.StateDict(), adam.StateDict(), errors, losses);
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("conv")]
    [InlineData("bottleneck")]
    public void ResultsAreBitIdenticalForAnyThreadCount(string kind)
    {
        var one = Train(kind, 1);
        foreach (int threads in new[] { 2, 3 })
        {
            var other = Train(kind, threads);
            Assert.True(one.Weights.BitEquals(other.Weights), $"{kind} weights, {threads} threads");
            Assert.True(one.Moments.BitEquals(other.Moments), $"{kind} Adam moments, {threads} threads");
            Approx.Identical(one.Errors, other.Errors, $"{kind} errors, {threads} threads");
            Approx.Identical(one.Losses, other.Losses, $"{kind} losses, {threads} threads");
        }
    }

    // The plain NCHW layers of a spec in one Sequential, whole batch at once: the path the PyTorch fixtures test layer by layer.
    private static (Sequential Model, ParameterSet Parameters) NchwReference(ModelSpec spec, StateDict weights)
    {
        Module Build(LayerSpec layer) => layer switch
        {
            LinearSpec l => new Linear(l.InFeatures, l.OutFeatures),
            Conv2dSpec c => new Conv2d(c.InChannels, c.OutChannels, c.KernelSize, c.Stride, c.Padding),
            ConvTranspose2dSpec t => new ConvTranspose2d(t.InChannels, t.OutChannels, t.KernelSize, t.Stride, t.Padding, t.OutputPadding),
            ReLUSpec => new ReLU(),
            BatchNorm2dSpec b => new BatchNorm2d(b.NumFeatures, b.Eps, b.Momentum),
            BatchNorm1dSpec b => new BatchNorm1d(b.NumFeatures, b.Eps, b.Momentum),
            FlattenSpec => new Flatten(),
            UnflattenSpec u => new Unflatten(u.Channels, u.Height, u.Width),
            SigmoidSpec => new Sigmoid(),
            _ => throw new NotSupportedException(layer.ToString()),
        };
        var model = new Sequential(new Sequential([.. spec.Encoder.Select(Build)]), new Sequential([.. spec.Decoder.Select(Build)]));
        ParameterSet parameters = ParameterSet.Create(model);
        string Name(string entry) => entry.StartsWith("0.", StringComparison.Ordinal) ? "encoder." + entry[2..] : "decoder." + entry[2..];
        foreach (ParameterInfo entry in parameters.Entries) weights[Name(entry.Name)].Data.CopyTo(parameters.Values(entry));
        // Batch norm's running statistics, named as the state dict's.
        var named = new List<(string, Parameter)>();
        for (int half = 0; half < 2; half++)
        {
            var part = (Sequential)model[half];
            for (int i = 0; i < part.Count; i++)
                foreach (Parameter b in part[i].LocalBuffers) named.Add(($"{half}.{i}.{b.Name}", b));
        }
        ParameterSet buffers = ParameterSet.Create(named);
        foreach (ParameterInfo entry in buffers.Entries) weights[Name(entry.Name)].Data.CopyTo(buffers.Values(entry));
        return (model, parameters);
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("conv")]
    public void ShardedStepMatchesTheWholeBatchComputedLayerByLayer(string kind)
    {
        const int n = 150;
        float[] images = MnistSample.TrainImages(n);
        NativeModel engine = TestModels.Native(kind, 5, threads: 2);
        var (reference, parameters) = NchwReference(engine.Spec, engine.StateDict());
        var loss = new MseLoss();
        SampleShape input = engine.Spec.Input;
        var shape = new TensorShape(n, input.C, input.H, input.W);
        float expectedLoss = loss.Forward(reference.Forward(images, shape), images, shape);
        parameters.ZeroGrad();
        reference.Backward(loss.Backward(), computeInputGradient: false);

        engine.ZeroGrad();
        float actualLoss = engine.ForwardBackward(images, images, [.. Enumerable.Range(0, n)]);
        Approx.Equal(expectedLoss, actualLoss, "loss", relative: 1e-6);
        Approx.Equal(parameters.Grad, engine.Parameters.Grad, "gradients", relative: 1e-4, absolute: 1e-7);
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("conv")]
    public void GatheringRowsEqualsTrainingOnTheCopiedBatch(string kind)
    {
        float[] images = MnistSample.TrainImages(300);
        int[] order = [.. Enumerable.Range(0, 300).Select(i => (i * 7919) % 300).Take(170)];
        float[] copied = new float[order.Length * 784];
        for (int i = 0; i < order.Length; i++) images.AsSpan(order[i] * 784, 784).CopyTo(copied.AsSpan(i * 784, 784));
        NativeModel byCopy = TestModels.Native(kind, 5, 1), byRow = TestModels.Native(kind, 5, 2);
        var adamCopy = byCopy.CreateAdam(new AdamOptions(LearningRate: 0.01));
        var adamRow = byRow.CreateAdam(new AdamOptions(LearningRate: 0.01));
        for (int step = 0; step < 2; step++)
        {
            float expected = TestModels.Step(byCopy, adamCopy, copied, order.Length);
            byRow.ZeroGrad();
            Assert.Equal(expected, byRow.ForwardBackward(images, images, order));
            adamRow.Step();
        }
        Assert.True(byCopy.StateDict().BitEquals(byRow.StateDict()), $"{kind} weights");
        Assert.Throws<ArgumentOutOfRangeException>(() => byRow.ForwardBackward(images, images, [0, 300]));
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("conv")]
    public void TargetsOtherThanTheInputsAreWhatTheLossCompares(string kind)
    {
        // A denoising step: noisy inputs, clean targets. Its loss is the mean error of the reconstructions of the
        // noisy images against the clean ones, and the gradient differs from a plain step's.
        const int n = 40;
        float[] clean = MnistSample.TrainImages(n), noisy = (float[])clean.Clone();
        var rng = new Rng(3);
        for (int i = 0; i < noisy.Length; i++) noisy[i] = Math.Clamp(noisy[i] + rng.NextSingle(-0.3f, 0.3f), 0, 1);
        int[] rows = [.. Enumerable.Range(0, n)];
        NativeModel model = TestModels.Native(kind, 6, threads: 2);
        float[] output = new float[n * 784];
        model.Reconstruct(noisy, n, output);
        double expected = output.Select((v, i) => (v - clean[i]) * (double)(v - clean[i])).Sum() / output.Length;
        model.ZeroGrad();
        Approx.Equal(expected, model.ForwardBackward(noisy, clean, rows), "denoising loss", relative: 1e-5);
        StateDict denoising = model.Gradients();
        model.ZeroGrad();
        model.ForwardBackward(noisy, noisy, rows);
        Assert.False(denoising.BitEquals(model.Gradients()));
    }

    [Fact]
    public void ConvolutionsRunInterleavedAndMatchTheNchwLayers()
    {
        const int n = 37;
        float[] images = MnistSample.TrainImages(n);
        NativeModel engine = TestModels.Native("conv", 8);
        Network replica = engine.Replica(0);
        Assert.All(Enumerable.Range(0, replica.Layers.Count), i => Assert.True(replica.IsInterleaved(i)));
        Assert.IsType<InterleavedConv2d>(replica.Layers[0]);
        Assert.IsType<InterleavedConvTranspose2d>(replica.Layers[4]);
        Assert.False(TestModels.Native("dense", 8).Replica(0).IsInterleaved(1));  // ReLUs between Linear layers stay NCHW
        Assert.False(TestModels.Native("dense", 8).Replica(0).IsLanes(1));

        var (reference, parameters) = NchwReference(engine.Spec, engine.StateDict());
        var shape = new TensorShape(n, 1, 28, 28);
        float[] expected = reference.Forward(images, shape).ToArray();
        float[] actual = replica.Forward(images, n, replica.Layers.Count).ToArray();
        Approx.Equal(expected, actual, "reconstructions", relative: 1e-5, absolute: 1e-6);
        float[] dOutput = Approx.Random(new Rng(9), n * 784);
        parameters.ZeroGrad();
        replica.Parameters.UseGradients(new float[replica.Parameters.Length]);
        float[] dExpected = reference.Backward(dOutput, computeInputGradient: true).ToArray();
        float[] dActual = replica.Backward(dOutput, computeInputGradient: true).ToArray();
        Approx.Equal(dExpected, dActual, "input gradient", relative: 1e-4, absolute: 1e-6);
        Approx.Equal(parameters.Grad, replica.Parameters.Grad, "parameter gradients", relative: 1e-4, absolute: 1e-5);
    }

    // The bottleneck: three shards (64, 64, 22 images) whose batch-norm statistics are synchronised give the step of one
    // lanes network over all 150 images; and one network over 37 images (a partial group of 16 lanes) gives the step of
    // the NCHW layers (held to PyTorch). The NCHW comparison needs few images: its convolutions sum in another order,
    // and with more images some ReLU after batch norm meets an input within rounding of zero, so the two masks differ.
    [Fact]
    public void BottleneckShardsEqualOneWholeBatchNetworkAndTheNchwLayers()
    {
        const int n = 150;
        float[] images = MnistSample.TrainImages(n);
        NativeModel engine = TestModels.Native("bottleneck", 5, threads: 2);
        engine.ZeroGrad();
        float actualLoss = engine.ForwardBackward(images, images, [.. Enumerable.Range(0, n)]);
        float[] sharded = (float[])engine.Parameters.Grad.Clone();

        (float Loss, float[] Grad) Whole(int count)
        {
            Network network = engine.Replica(0);
            network.Training = true;
            var grad = new float[network.Parameters.Length];
            network.Parameters.UseGradients(grad);
            var loss = new MseLoss();
            var shape = new TensorShape(count, 1, 28, 28);
            float value = loss.Forward(network.Forward(images.AsSpan(0, count * 784), count, network.Layers.Count), images.AsSpan(0, count * 784), shape);
            network.Backward(loss.Backward(), computeInputGradient: false);
            network.Training = false;
            return (value, grad);
        }
        (float wholeLoss, float[] wholeGrad) = Whole(n);
        Approx.Equal(wholeLoss, actualLoss, "loss", relative: 1e-6);
        Approx.Equal(wholeGrad, sharded, "gradients, shards vs one network", relative: 1e-4, absolute: 1e-7);

        const int few = 37;
        (float fewLoss, float[] fewGrad) = Whole(few);
        var (reference, parameters) = NchwReference(engine.Spec, engine.StateDict());
        var mse = new MseLoss();
        var input = new TensorShape(few, 1, 28, 28);
        float expectedLoss = mse.Forward(reference.Forward(images.AsSpan(0, few * 784), input), images.AsSpan(0, few * 784), input);
        parameters.ZeroGrad();
        reference.Backward(mse.Backward(), computeInputGradient: false);
        Approx.Equal(expectedLoss, fewLoss, "loss vs NCHW", relative: 1e-6);
        Approx.Equal(parameters.Grad, fewGrad, "gradients vs NCHW", relative: 1e-4, absolute: 1e-6);
    }

    // A lanes autoencoder takes its loss on the lanes layout when the targets are its inputs (Reductions.SquaredErrorLanes,
    // no relayout of the output and its gradient); targets in another array (the same values) take the rows' loss. The
    // two steps must agree to the bit: loss, every gradient, the running statistics. The bottleneck in three shards (the
    // last, 22 images, a partial group of lanes) on 1 and 2 threads, and a model whose 2-channel output is stored in
    // another row order than PyTorch's.
    private sealed class ChannelsNormArchitecture : Architecture
    {
        public override string Name => "channels-norm";

        public override string Summary => "a strided, padded convolution pair with batch norm on 2-channel images";

        protected override ModelSpec Build(ArchitectureSettings settings, AeMnist.Tensors.ImageShape image) => new(this, settings, new SampleShape(2, 9, 9),
            [AeMnist.Models.Layers.Conv2d(2, 4, kernelSize: 3, stride: 2, padding: 1), AeMnist.Models.Layers.BatchNorm2d(4), AeMnist.Models.Layers.ReLU()],
            [AeMnist.Models.Layers.ConvTranspose2d(4, 2, kernelSize: 3, stride: 2, padding: 1), AeMnist.Models.Layers.Sigmoid()]);
    }

    [Theory]
    [InlineData("bottleneck", 1)]
    [InlineData("bottleneck", 2)]
    [InlineData("channels-norm", 1)]
    public void TheLanesLossGivesTheRowsLossStepBitForBit(string kind, int threads)
    {
        const int n = 150;
        ModelSpec spec = kind == "bottleneck" ? TestModels.Spec("bottleneck") : new ChannelsNormArchitecture().Spec();
        float[] images = kind == "bottleneck" ? MnistSample.TrainImages(n) : Approx.Random(new Rng(11), n * spec.Input.Length, 0f, 1f);
        float[] copy = (float[])images.Clone();
        int[] rows = [.. Enumerable.Range(0, n).Reverse()];
        NativeModel lanesLoss = TestModels.Native(spec, 5, threads), rowsLoss = TestModels.Native(spec, 5, threads);
        Assert.True(lanesLoss.Replica(0).LossInLanes);
        lanesLoss.ZeroGrad();
        rowsLoss.ZeroGrad();
        float a = lanesLoss.ForwardBackward(images, images, rows), b = rowsLoss.ForwardBackward(images, copy, rows);
        Assert.Equal(BitConverter.SingleToInt32Bits(b), BitConverter.SingleToInt32Bits(a));
        Assert.True(rowsLoss.Gradients().BitEquals(lanesLoss.Gradients()), "gradients differ");
        Assert.True(rowsLoss.StateDict().BitEquals(lanesLoss.StateDict()), "running statistics differ");
        Assert.Contains(lanesLoss.Gradients().Tensors, t => t.Data.Any(v => v != 0));
    }

    // A model in the lanes layout whose input, output and latent codes have several channels: the network moves their
    // rows between PyTorch's (C, H, W) order and the layout's (H*W, C) where it converts.
    private sealed class ChannelsArchitecture : Architecture
    {
        public override string Name => "channels";

        public override string Summary => "a strided, padded convolution pair on 2-channel images";

        protected override ModelSpec Build(ArchitectureSettings settings, AeMnist.Tensors.ImageShape image) => new(this, settings, new SampleShape(2, 9, 9),
            [AeMnist.Models.Layers.Conv2d(2, 4, kernelSize: 3, stride: 2, padding: 1), AeMnist.Models.Layers.ReLU()],
            [AeMnist.Models.Layers.ConvTranspose2d(4, 2, kernelSize: 3, stride: 2, padding: 1), AeMnist.Models.Layers.Sigmoid()]);
    }

    [Fact]
    public void ImagesOfSeveralChannelsEnterAndLeaveTheLanesLayoutInPyTorchsOrder()
    {
        const int n = 37;
        ModelSpec spec = new ChannelsArchitecture().Spec();
        NativeModel engine = TestModels.Native(spec, 3);
        Assert.True(engine.Replica(0).IsLanes(0));
        float[] images = Approx.Random(new Rng(4), n * spec.Input.Length, 0f, 1f);
        var (reference, parameters) = NchwReference(spec, engine.StateDict());
        var shape = new TensorShape(n, 2, 9, 9);
        float[] expected = reference.Forward(images, shape).ToArray();
        float[] actual = new float[expected.Length];
        engine.Reconstruct(images, n, actual);
        Approx.Equal(expected, actual, "reconstructions", relative: 1e-5, absolute: 1e-6);
        float[] codes = new float[n * spec.Latent.Length];
        engine.Encode(images, n, codes);
        Approx.Equal(((Sequential)reference[0]).Forward(images, shape).ToArray(), codes, "latent codes", relative: 1e-5, absolute: 1e-6);

        var loss = new MseLoss();
        float expectedLoss = loss.Forward(reference.Forward(images, shape), images, shape);
        parameters.ZeroGrad();
        reference.Backward(loss.Backward(), computeInputGradient: false);
        engine.ZeroGrad();
        Approx.Equal(expectedLoss, engine.ForwardBackward(images, images, [.. Enumerable.Range(0, n)]), "loss", relative: 1e-6);
        Approx.Equal(parameters.Grad, engine.Parameters.Grad, "gradients", relative: 1e-4, absolute: 1e-7);
    }

    // The lanes kernels sum in the im2col engine's orders, so the evaluation-mode forward pass (reconstructions, errors,
    // codes of a trained model) is the NCHW layers' to the bit, and so the training forward but for batch norm's sums.
    [Fact]
    public void TheBottlenecksForwardPassIsTheNchwLayersBitForBit()
    {
        const int n = 150;
        float[] images = MnistSample.TrainImages(n);
        NativeModel engine = TestModels.Native("bottleneck", 5, threads: 2);
        var (reference, _) = NchwReference(engine.Spec, engine.StateDict());
        foreach (Module layer in ((Sequential)reference[0]).Children.Select(c => c.Module).Concat(((Sequential)reference[1]).Children.Select(c => c.Module)))
            if (layer is BatchNorm bn) bn.Training = false;
        var shape = new TensorShape(n, 1, 28, 28);
        float[] expected = reference.Forward(images, shape).ToArray();
        float[] actual = new float[expected.Length];
        engine.Reconstruct(images, n, actual);
        Approx.Identical(expected, actual, "reconstructions");
        float[] codes = new float[n * engine.Spec.Latent.Length];
        engine.Encode(images, n, codes);
        Approx.Identical(((Sequential)reference[0]).Forward(images, shape).ToArray(), codes, "latent codes");
    }

    [Fact]
    public void TheBottleneckRunsInTheLanesLayoutWithItsReLUsFoldedIntoBatchNorm()
    {
        NativeModel engine = TestModels.Native("bottleneck", 8);
        Network replica = engine.Replica(0);
        Assert.All(Enumerable.Range(0, replica.Layers.Count), i => Assert.True(replica.IsLanes(i)));
        Assert.IsType<LanesConv2d>(replica.Layers[0]);
        Assert.True(replica.Layers[1] is BatchNorm2d { FusedRelu: true });
        Assert.IsType<Identity>(replica.Layers[2]);
        Assert.True(replica.Layers[6] is Flatten { OrderFolded: true });  // batch norm 4 writes PyTorch's flattening order
        Assert.IsType<LanesLinear>(replica.Layers[7]);
        Assert.True(replica.Layers[11] is Unflatten { OrderFolded: true });
        Assert.IsType<LanesConvTranspose2d>(replica.Layers[12]);
        Assert.IsType<Sigmoid>(replica.Layers[16]);
        Assert.Equal(64, engine.ShardSize);
    }
}
