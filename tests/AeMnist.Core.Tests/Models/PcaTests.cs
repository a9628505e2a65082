// The pca model's exact fit: data on a k-dimensional affine subspace is reconstructed exactly by k components, the
// components are orthonormal, and the fit is a pure function of the data.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Models;

namespace AeMnist.Core.Tests.Models;

public class PcaTests
{
    private static float[] SubspaceImages(int n, int k, ulong seed)
    {
        var rng = new Rng(seed);
        float[][] basis = [.. Enumerable.Range(0, k).Select(_ => Approx.Random(rng, 784))];
        float[] mean = Approx.Random(rng, 784, 0.2f, 0.6f);
        var images = new float[n * 784];
        for (int i = 0; i < n; i++)
        {
            double[] c = [.. Enumerable.Range(0, k).Select(_ => (double)rng.NextSingle(-0.1f, 0.1f))];
            for (int j = 0; j < 784; j++) images[i * 784 + j] = (float)(mean[j] + Enumerable.Range(0, k).Sum(t => c[t] * basis[t][j]));
        }
        return images;
    }

    [Fact]
    public void DataOnASubspaceIsReconstructedExactlyByOrthonormalComponents()
    {
        const int n = 60, k = 3;
        Architecture pca = Architectures.Get("pca");
        ModelSpec spec = pca.Spec(pca.Settings((PcaAutoEncoder.Components, [k])));
        float[] images = SubspaceImages(n, k, 5);
        StateDict weights = pca.Fit(spec, images, n);
        NativeModel model = new NativeEngine().LoadNative(spec, weights);
        float[] errors = new float[n];
        model.ReconstructionErrors(images, n, errors);
        Assert.All(errors, e => Assert.InRange(e, 0, 1e-9));
        float[] w = weights["encoder.0.weight"].Data;
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++)
            {
                double dot = Enumerable.Range(0, 784).Sum(j => (double)w[a * 784 + j] * w[b * 784 + j]);
                Assert.Equal(a == b ? 1.0 : 0.0, dot, 1e-4);
            }
        Assert.True(weights.BitEquals(pca.Fit(spec, images, n)), "the same data must give the same bits");
    }

    [Fact]
    public void FewerComponentsThanTheDataNeedsLeaveAnError()
    {
        Architecture pca = Architectures.Get("pca");
        ModelSpec spec = pca.Spec(pca.Settings((PcaAutoEncoder.Components, [2])));
        float[] images = SubspaceImages(40, 4, 6);
        NativeModel model = new NativeEngine().LoadNative(spec, pca.Fit(spec, images, 40));
        float[] errors = new float[40];
        model.ReconstructionErrors(images, 40, errors);
        Assert.True(errors.Average() > 1e-6);
    }
}
