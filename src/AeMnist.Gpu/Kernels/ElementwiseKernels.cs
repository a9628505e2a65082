// Element-wise kernels, one thread per output element: activations and their gradients, and the layout moves. Inside
// the engine every activation is channel-major, (C, N, P) with P = H*W (a vector of F features is (F, N, 1)), so every
// Linear and convolution is one plain GEMM over the whole batch and a channel's values are contiguous for batch norm.
using ILGPU;

namespace AeMnist.Gpu.Kernels;

public static class ElementwiseKernels
{
    // x (L) -> y (L)
    /// <summary>y = max(x, 0); NaN stays NaN and -0 becomes +0, as the native engine's ReLU.</summary>
    public static void Relu(Index1D i, ArrayView<float> x, ArrayView<float> y)
    {
        float v = x[i];
        y[i] = v > 0f || float.IsNaN(v) ? v : 0f;
    }

    // y (L), dy (L) -> dx (L)
    /// <summary>dx = dy where the ReLU's output is positive, else 0.</summary>
    public static void ReluBackward(Index1D i, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx) => dx[i] = y[i] > 0f ? dy[i] : 0f;

    // x (L) -> y (L)
    /// <summary>y = 1 / (1 + exp(-x)).</summary>
    public static void Sigmoid(Index1D i, ArrayView<float> x, ArrayView<float> y) => y[i] = 1f / (1f + MathF.Exp(-x[i]));

    // y (L), dy (L) -> dx (L)
    /// <summary>dx = dy·(1 - y)·y, in PyTorch's order.</summary>
    public static void SigmoidBackward(Index1D i, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx) => dx[i] = dy[i] * (1f - y[i]) * y[i];

    // set (rows, C*P), rows (N) -> x (C, N, P)
    /// <summary>Gathers image rows[n] of a resident set into the channel-major batch: x[c, n, p] = set[rows[n], c*P + p].</summary>
    public static void GatherToChannelMajor(Index1D i, ArrayView<float> set, ArrayView<int> rows, ArrayView<float> x, int images, int plane, int perImage)
    {
        int p = i % plane, rest = i / plane;
        int n = rest % images, c = rest / images;
        x[i] = set[rows[n] * perImage + c * plane + p];
    }

    // x (C, N, P) -> rows (N, C*P)
    /// <summary>rows[n, c*P + p] = x[c, n, p]: a channel-major batch back to one row per image.</summary>
    public static void ToSampleMajor(Index1D i, ArrayView<float> x, ArrayView<float> rows, int channels, int images, int plane)
    {
        int perImage = channels * plane;
        int n = i / perImage, j = i - n * perImage;
        int c = j / plane, p = j - c * plane;
        rows[i] = x[(c * images + n) * plane + p];
    }

    // x (C, N, P) -> y (C*P, N)
    /// <summary>Flatten: y[c*P + p, n] = x[c, n, p]. With <paramref name="inverse"/> 1, Unflatten: y[c, n, p] = x[c*P + p, n].</summary>
    public static void Flatten(Index1D i, ArrayView<float> x, ArrayView<float> y, int images, int plane, int inverse)
    {
        if (inverse == 0)
        {
            int n = i % images, f = i / images;
            int c = f / plane, p = f - c * plane;
            y[i] = x[(c * images + n) * plane + p];
        }
        else
        {
            int p = i % plane, rest = i / plane;
            int n = rest % images, c = rest / images;
            y[i] = x[(c * plane + p) * images + n];
        }
    }
}
