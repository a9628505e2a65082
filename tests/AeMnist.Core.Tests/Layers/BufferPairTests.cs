// The two input-gradient buffers a network's layers share: a layer never writes the buffer it reads.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Engines.Native.Layers;

namespace AeMnist.Core.Tests.Layers;

public class BufferPairTests
{
    [Fact]
    public void EachRentIsTheBufferThatDoesNotHoldTheGradientItReads()
    {
        var arena = new BufferPair();
        float[] outside = new float[100];
        Span<float> first = arena.Rent(outside, 64);       // a gradient from elsewhere (the loss): the first buffer
        Span<float> second = arena.Rent(first, 64);        // read from the first: write the second
        Assert.False(first.Overlaps(second));
        Span<float> third = arena.Rent(second[..10], 80);  // read from (part of) the second: the first again, grown
        Assert.False(third.Overlaps(second));
        Span<float> fourth = arena.Rent(third, 16);        // a pass-through layer's reader sees the same buffer: still the other one
        Assert.False(fourth.Overlaps(third));
        Assert.True(fourth.Overlaps(second));
    }

    [Fact]
    public void ANetworkBackwardWithSharedBuffersGivesEveryGradientOfLayersCalledOneByOne()
    {
        // Dense layers with a pass-through (Identity) between them: the network's backward (shared buffers) against the
        // same layers' backward each into its own buffer.
        var rng = new AeMnist.Rng(5);
        Module[] Build() => [new Linear(12, 8), new ReLU(), new Identity(), new Linear(8, 6), new Sigmoid()];
        Module[] shared = Build(), own = Build();
        var sharedParameters = ParameterSet.Create([.. shared.SelectMany((m, i) => m.LocalParameters.Select(p => ($"{i}.{p.Name}", p)))]);
        var ownParameters = ParameterSet.Create([.. own.SelectMany((m, i) => m.LocalParameters.Select(p => ($"{i}.{p.Name}", p)))]);
        for (int i = 0; i < sharedParameters.Data.Length; i++) sharedParameters.Data[i] = ownParameters.Data[i] = rng.NextSingle(-1f, 1f);
        var arena = new BufferPair();
        foreach (Module m in shared) m.Gradients = arena;
        float[] x = [.. Enumerable.Range(0, 40 * 12).Select(_ => rng.NextSingle(-1f, 1f))], dy = [.. Enumerable.Range(0, 40 * 6).Select(_ => rng.NextSingle(-1f, 1f))];
        float[] Run(Module[] layers)
        {
            ReadOnlySpan<float> h = x;
            var shape = new AeMnist.Tensors.TensorShape(40, 12, 1, 1);
            foreach (Module m in layers) { h = m.Forward(h, shape); shape = m.OutputShape(shape); }
            ReadOnlySpan<float> d = dy;
            for (int i = layers.Length - 1; i >= 0; i--) d = layers[i].Backward(d, computeInputGradient: true);
            return d.ToArray();
        }
        float[] expected = Run(own);
        Assert.Equal(expected, Run(shared));
        Assert.Equal(ownParameters.Grad, sharedParameters.Grad);
        // Again, now that the buffers have grown to the largest layer's gradient (the first pass allocates as it goes).
        Assert.Equal(expected, Run(shared));
    }

    // An inference-only pass writes the activations into the shared pair and keeps nothing for Backward: the same
    // outputs as a training-ready pass (with batch norm folded into the convolutions in evaluation mode, and without),
    // and a Backward after it is refused rather than computed from overwritten activations.
    [Theory]
    [InlineData("dense")]
    [InlineData("bottleneck")]
    public void AnInferencePassGivesTheSameOutputsAndRefusesABackward(string kind)
    {
        const int n = 20;
        float[] images = AeMnist.Core.Tests.TestSupport.MnistSample.TrainImages(n);
        var network = AeMnist.Core.Tests.TestSupport.TestModels.Native(kind, 3).Replica(0);
        int count = network.Layers.Count;
        foreach (bool training in new[] { false, true })
        {
            network.Training = training;
            float[] kept = network.Forward(images, n, count).ToArray();
            float[] inferred = network.Forward(images, n, count, inference: true).ToArray();
            Approx.Identical(kept, inferred, $"{kind}, training {training}");
            Assert.Throws<InvalidOperationException>(() => network.Backward(new float[kept.Length], computeInputGradient: false));
            if (!training) continue;  // (evaluation mode folds batch norm into the convolutions: no Backward either way)
            network.Forward(images, n, count);
            network.Parameters.UseGradients(new float[network.Parameters.Length]);
            network.Backward(new float[kept.Length], computeInputGradient: false);  // a full forward again: Backward runs
        }
    }
}
