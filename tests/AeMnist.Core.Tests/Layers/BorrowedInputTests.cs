// A layer inside a Network keeps a pointer to its input instead of a copy (Module.BorrowsInput) when the input is one of
// the network's own pinned activations, or the caller's images when the caller says it keeps them until Backward.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Engines.Native;
using AeMnist.Models;

namespace AeMnist.Core.Tests.Layers;

public class BorrowedInputTests
{
    // The caller's images change between Forward and Backward. Not kept: every weight gradient is that of the images the
    // Forward saw (the first Linear copied them), also when a Flatten hands the images through to it unchanged. Kept: the
    // layer read them in place (no copy), so the change shows in the gradient; this is how the native model's gathered
    // shards are used.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ALayerReadsTheCallersImagesInBackwardOnlyWhenTheCallerKeepsThem(bool flattenFirst)
    {
        const int n = 8;
        Architecture dense = Architectures.Get("dense");
        ModelSpec spec = flattenFirst
            ? new ModelSpec(dense, dense.Settings(new Dictionary<string, string>()), new SampleShape(1, 28, 28),
                [new FlattenSpec(), new LinearSpec(784, 8), new ReLUSpec()], [new LinearSpec(8, 784), new UnflattenSpec(1, 28, 28)])
            : TestModels.Dense(16);
        var network = new Network(spec) { Training = true };
        var rng = new AeMnist.Rng(3);
        for (int i = 0; i < network.Parameters.Length; i++) network.Parameters.Data[i] = rng.NextSingle(-0.1f, 0.1f);
        float[] images = [.. Enumerable.Range(0, n * 784).Select(_ => rng.NextSingle(0f, 1f))];
        float[] dOutput = [.. Enumerable.Range(0, n * 784).Select(_ => rng.NextSingle(-1f, 1f))];
        float[] Gradients(bool kept, bool changeImages)
        {
            float[] given = GC.AllocateArray<float>(images.Length, pinned: true);
            images.CopyTo(given, 0);
            var grad = new float[network.Parameters.Length];
            network.Parameters.UseGradients(grad);
            network.Forward(given, n, network.Layers.Count, imagesKept: kept);
            if (changeImages) Array.Fill(given, 0.5f);
            network.Backward(dOutput, computeInputGradient: false);
            return grad;
        }
        float[] expected = Gradients(kept: false, changeImages: false);
        Assert.Equal(expected, Gradients(kept: false, changeImages: true));
        Assert.Equal(expected, Gradients(kept: true, changeImages: false));
        Assert.NotEqual(expected, Gradients(kept: true, changeImages: true));
    }
}
