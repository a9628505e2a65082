// The pca model's exact fit: data on a k-dimensional affine subspace is reconstructed exactly by k components, the
// components are orthonormal, and the fit is a pure function of the data; its parts (the chunked float covariance, the
// Chebyshev-filtered subspace iteration) against a full double-precision eigendecomposition.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Models;
using MathNet.Numerics.LinearAlgebra;

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

    // MNIST digits (several hundred varying pixels: the covariance in many blocks, each multiplication by it cut into
    // row ranges): the fit on 2 and 3 threads gives the bits of the fit on one (fails when a range skips or repeats a row).
    [Fact]
    public void TheFitHasTheSameBitsOnAnyThreadCount()
    {
        const int n = 500;
        Architecture pca = Architectures.Get("pca");
        ModelSpec spec = pca.Spec();
        float[] images = MnistSample.TrainImages(n);
        StateDict one = pca.Fit(spec, images, n, threads: 1);
        Assert.True(one.BitEquals(pca.Fit(spec, images, n, threads: 2)), "2 threads");
        Assert.True(one.BitEquals(pca.Fit(spec, images, n, threads: 3)), "3 threads");
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

    // The top k eigenvectors of a full symmetric eigendecomposition (MathNet, double), largest first, as rows.
    private static double[,] FullTop(double[] a, int m, int k)
    {
        var evd = Matrix<double>.Build.Dense(m, m, (i, j) => a[i * m + j]).Evd(Symmetricity.Symmetric);
        var top = new double[k, m];
        for (int c = 0; c < k; c++)
            for (int j = 0; j < m; j++) top[c, j] = evd.EigenVectors[j, m - 1 - c];
        return top;
    }

    private static void SameDirections(double[,] expected, double[,] actual, double tolerance, string what)
    {
        for (int c = 0; c < expected.GetLength(0); c++)
        {
            double dot = 0;
            for (int j = 0; j < expected.GetLength(1); j++) dot += expected[c, j] * actual[c, j];
            Assert.True(Math.Abs(Math.Abs(dot) - 1) < tolerance, $"{what}: component {c} has |cos| {Math.Abs(dot):R} with the exact one");
        }
    }

    [Theory]
    [InlineData(200, 10, 0.7)]   // a spectrum decaying like a digit's
    [InlineData(150, 3, 0.95)]   // slow decay: the block's edge close to the wanted eigenvalues
    [InlineData(90, 5, 0.5)]
    public void TopEigenvectorsAreAFullEigendecompositionsTopK(int m, int k, double decay)
    {
        // A = V diag(λ) Vᵀ with a random orthogonal V and λ_i = decay^i (distinct), plus a dominant first eigenvalue.
        var rng = new Rng((ulong)(m + k));
        var random = Matrix<double>.Build.Dense(m, m, (_, _) => rng.NextSingle(-1f, 1f));
        Matrix<double> v = random.QR().Q;
        double[] lambda = [.. Enumerable.Range(0, m).Select(i => (i == 0 ? 20 : 1) * Math.Pow(decay, i))];
        Matrix<double> a = v * Matrix<double>.Build.DenseOfDiagonalArray(lambda) * v.Transpose();
        double[] flat = new double[m * m];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) flat[i * m + j] = 0.5 * (a[i, j] + a[j, i]);
        SameDirections(FullTop(flat, m, k), PcaAutoEncoder.TopEigenvectors(flat, m, k), 1e-9, $"m={m} k={k}");
    }

    [Fact]
    public void CovarianceOfTheActivePixelsMatchesDoublePrecision()
    {
        // 1,300 images (six chunks, the last partial) of which 70 pixels vary: two 64-pixel blocks, the second partial.
        const int n = 1300;
        var rng = new Rng(11);
        var images = new float[n * 784];
        int[] active = [.. Enumerable.Range(0, 70).Select(i => 100 + 7 * i)];
        for (int i = 0; i < n; i++)
            foreach (int p in active) images[i * 784 + p] = rng.NextSingle(0f, 1f) < 0.7f ? 0f : rng.NextSingle(0f, 1f);
        var mean = new double[784];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < 784; j++) mean[j] += images[i * 784 + j] / (double)n;
        double[] actual = PcaAutoEncoder.Covariance(images, n, 784, mean, active);
        int m = active.Length;
        double Exact(int a, int b)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += (images[i * 784 + active[a]] - mean[active[a]]) * (images[i * 784 + active[b]] - mean[active[b]]);
            return sum / (n - 1);
        }
        double[] variance = [.. Enumerable.Range(0, m).Select(a => Exact(a, a))];
        // Within 5·10⁻⁶ of the scale of the entry (√(var_a var_b)): float sums of 256 products, added in double.
        for (int a = 0; a < m; a++)
            for (int b = 0; b < m; b++)
                Assert.True(Math.Abs(Exact(a, b) - actual[a * m + b]) <= 5e-6 * Math.Sqrt(variance[a] * variance[b]), $"covariance ({a}, {b}): {actual[a * m + b]} vs {Exact(a, b)}");
    }

    [Fact]
    public void ComponentsOfDigitsAreThoseOfAFullEigendecomposition()
    {
        // The former fit: the double covariance of all 784 pixels and MathNet's full eigendecomposition.
        const int n = 600, k = 16;
        float[] images = MnistSample.TrainImages(n);
        Architecture pca = Architectures.Get("pca");
        ModelSpec spec = pca.Spec(pca.Settings((PcaAutoEncoder.Components, [k])));
        float[] weight = pca.Fit(spec, images, n)["encoder.0.weight"].Data;
        var mean = new double[784];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < 784; j++) mean[j] += images[i * 784 + j] / (double)n;
        var centred = Matrix<double>.Build.Dense(n, 784, (i, j) => images[i * 784 + j] - mean[j]);
        Matrix<double> covariance = centred.TransposeThisAndMultiply(centred) / (n - 1);
        double[] flat = new double[784 * 784];
        for (int i = 0; i < 784; i++)
            for (int j = 0; j < 784; j++) flat[i * 784 + j] = covariance[i, j];
        var ours = new double[k, 784];
        for (int c = 0; c < k; c++)
            for (int j = 0; j < 784; j++) ours[c, j] = weight[c * 784 + j];
        SameDirections(FullTop(flat, 784, k), ours, 1e-5, "digits");
    }

    [Fact]
    public void PixelsThatNeverVaryGetNoWeightAndSurplusComponentsStayOrthonormal()
    {
        // Three pixels vary; five components: three from the data, two unit vectors on pixels that never vary.
        const int n = 50;
        var rng = new Rng(12);
        var images = new float[n * 784];
        for (int i = 0; i < n; i++)
        {
            images[i * 784 + 10] = 0.25f;  // constant: no variance
            foreach (int p in new[] { 300, 301, 400 }) images[i * 784 + p] = rng.NextSingle(0f, 1f);
        }
        Architecture pca = Architectures.Get("pca");
        ModelSpec spec = pca.Spec(pca.Settings((PcaAutoEncoder.Components, [5])));
        float[] w = pca.Fit(spec, images, n)["encoder.0.weight"].Data;
        for (int c = 0; c < 3; c++)
            for (int j = 0; j < 784; j++)
                if (j is not (300 or 301 or 400)) Assert.Equal(0f, w[c * 784 + j]);
        for (int a = 0; a < 5; a++)
            for (int b = 0; b < 5; b++)
                Assert.Equal(a == b ? 1.0 : 0.0, Enumerable.Range(0, 784).Sum(j => (double)w[a * 784 + j] * w[b * 784 + j]), 1e-6);
    }
}
