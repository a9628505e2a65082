// Principal component analysis of latent codes for the report's 2-D projection: the top components by subspace
// (block power) iteration on the centred data, never forming the d x d covariance (a conv code has 2,000 values).
using System.Numerics.Tensors;

namespace AeMnist.Reporting;

public static class Pca
{
    /// <summary>
    /// Projects <paramref name="n"/> rows of <paramref name="d"/> values onto their first <paramref name="k"/>
    /// principal components. Effectively computes the top right singular vectors V of the centred data X and returns
    /// X·V (n x k, row-major), the share of the total variance each component carries, and the components (k x d).
    /// Deterministic: fixed start vectors, iterations until the basis moves less than 1e-7 (at most <paramref name="iterations"/>), and each component's sign chosen so its
    /// largest-magnitude entry is positive.
    /// </summary>
    public static (double[] Scores, double[] Explained, double[] Components) Project(ReadOnlySpan<float> data, int n, int d, int k = 2, int iterations = 100)
    {
        if (n < 1 || d < 1 || k < 1 || k > d) throw new ArgumentException($"Cannot take {k} components of {n} rows of {d} values.");
        if (data.Length != (long)n * d) throw new ArgumentException($"data has {data.Length} values, expected {n} x {d}.", nameof(data));
        var x = new double[n * d];
        var mean = new double[d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) mean[j] += data[i * d + j];
        for (int j = 0; j < d; j++) mean[j] /= n;
        double total = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
            {
                double v = float.IsFinite(data[i * d + j]) ? data[i * d + j] - mean[j] : 0;
                x[i * d + j] = v;
                total += v * v;
            }

        // V (k x d): start from a fixed, non-degenerate basis, then V <- orth(Xᵀ X V) repeatedly.
        var v_ = new double[k * d];
        var rng = new Rng(12345);
        for (int i = 0; i < v_.Length; i++) v_[i] = rng.NextDouble() - 0.5;
        Orthonormalise(v_, k, d);
        var xv = new double[n * k];
        var previous = new double[k * d];
        for (int it = 0; it < iterations; it++)
        {
            v_.CopyTo(previous, 0);
            Multiply(x, v_, xv, n, d, k);
            Array.Clear(v_);
            for (int i = 0; i < n; i++)
                for (int c = 0; c < k; c++)
                {
                    double s = xv[i * k + c];
                    if (s != 0) TensorPrimitives.MultiplyAdd(x.AsSpan(i * d, d), s, v_.AsSpan(c * d, d), v_.AsSpan(c * d, d));
                }
            Orthonormalise(v_, k, d);
            double change = 0;
            for (int i = 0; i < v_.Length; i++) change = Math.Max(change, Math.Abs(v_[i] - previous[i]));
            if (change < 1e-7) break;
        }
        // Order by variance (the block iteration converges to the subspace; the Rayleigh quotients order it).
        Multiply(x, v_, xv, n, d, k);
        var variance = new double[k];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < k; c++) variance[c] += xv[i * k + c] * xv[i * k + c];
        int[] order = [.. Enumerable.Range(0, k).OrderByDescending(c => variance[c])];
        var components = new double[k * d];
        for (int c = 0; c < k; c++)
        {
            int src = order[c];
            int argmax = 0;
            for (int j = 1; j < d; j++) if (Math.Abs(v_[src * d + j]) > Math.Abs(v_[src * d + argmax])) argmax = j;
            double sign = v_[src * d + argmax] < 0 ? -1 : 1;
            for (int j = 0; j < d; j++) components[c * d + j] = sign * v_[src * d + j];
        }
        var scores = new double[n * k];
        Multiply(x, components, scores, n, d, k);
        var explained = new double[k];
        for (int c = 0; c < k; c++) explained[c] = total > 0 ? variance[order[c]] / total : 0;
        return (scores, explained, components);
    }

    // out (n x k) = x (n x d) · vᵀ where v is (k x d).
    private static void Multiply(double[] x, double[] v, double[] output, int n, int d, int k)
    {
        for (int i = 0; i < n; i++)
            for (int c = 0; c < k; c++) output[i * k + c] = TensorPrimitives.Dot<double>(x.AsSpan(i * d, d), v.AsSpan(c * d, d));
    }

    // Modified Gram-Schmidt on the k rows of v; a row that vanishes becomes a unit vector on a fresh axis.
    private static void Orthonormalise(double[] v, int k, int d)
    {
        for (int c = 0; c < k; c++)
        {
            for (int p = 0; p < c; p++)
            {
                double dot = 0;
                for (int j = 0; j < d; j++) dot += v[c * d + j] * v[p * d + j];
                for (int j = 0; j < d; j++) v[c * d + j] -= dot * v[p * d + j];
            }
            double norm = 0;
            for (int j = 0; j < d; j++) norm += v[c * d + j] * v[c * d + j];
            norm = Math.Sqrt(norm);
            if (norm < 1e-300)
            {
                Array.Clear(v, c * d, d);
                v[c * d + (c % d)] = 1;
                continue;
            }
            for (int j = 0; j < d; j++) v[c * d + j] /= norm;
        }
    }
}
