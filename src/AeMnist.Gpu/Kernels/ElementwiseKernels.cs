// Element-wise kernels: activations and their gradients, and the layout moves. Each thread of the grid takes blocks of
// `block` consecutive elements, blocks strided by the grid's thread count (ElementLoop): a GPU runs blocks of 1 (a
// grid-stride loop, coalesced), ILGPU's CPU accelerator a few one-thread groups with one long block each. Inside
// the engine every activation is channel-major, (C, N, P) with P = H*W (a vector of F features is (F, N, 1)), so every
// Linear and convolution is one plain GEMM over the whole batch and a channel's values are contiguous for batch norm.
using ILGPU;

namespace AeMnist.Gpu.Kernels;

public static class ElementwiseKernels
{
    // x (L) -> y (L)
    /// <summary>y = max(x, 0); NaN stays NaN and -0 becomes +0, as the native engine's ReLU.</summary>
    public static void Relu(ArrayView<float> x, ArrayView<float> y, int length, int block)
    {
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++)
            {
                float v = x[i];
                y[i] = v > 0f || float.IsNaN(v) ? v : 0f;
            }
    }

    // y (L), dy (L) -> dx (L)
    /// <summary>dx = dy where the ReLU's output is positive, else 0.</summary>
    public static void ReluBackward(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int length, int block)
    {
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++) dx[i] = y[i] > 0f ? dy[i] : 0f;
    }

    // x (L) -> y (L)
    /// <summary>y = 1 / (1 + exp(-x)).</summary>
    public static void Sigmoid(ArrayView<float> x, ArrayView<float> y, int length, int block)
    {
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++) y[i] = 1f / (1f + MathF.Exp(-x[i]));
    }

    // y (L), dy (L) -> dx (L)
    /// <summary>dx = dy·(1 - y)·y, in PyTorch's order.</summary>
    public static void SigmoidBackward(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int length, int block)
    {
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++) dx[i] = dy[i] * (1f - y[i]) * y[i];
    }

    // set (rows, C*P), rows (N) -> x (C, N, P)
    /// <summary>Gathers image rows[n] of a resident set into the channel-major batch: x[c, n, p] = set[rows[n], c*P + p].</summary>
    public static void GatherToChannelMajor(ArrayView<float> set, ArrayView<int> rows, ArrayView<float> x, int images, int plane, int perImage, int length, int block)
    {
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++)
            {
                int p = i % plane, rest = i / plane;
                int n = rest % images, c = rest / images;
                x[i] = set[rows[n] * perImage + c * plane + p];
            }
    }

    // x (C, N, P) -> rows (N, C*P)
    /// <summary>rows[n, c*P + p] = x[c, n, p]: a channel-major batch back to one row per image.</summary>
    public static void ToSampleMajor(ArrayView<float> x, ArrayView<float> rows, int channels, int images, int plane, int length, int block)
    {
        int perImage = channels * plane;
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++)
            {
                int n = i / perImage, j = i - n * perImage;
                int c = j / plane, p = j - c * plane;
                rows[i] = x[(c * images + n) * plane + p];
            }
    }

    // x (C, N, P) -> y (C*P, N)
    /// <summary>Flatten: y[c*P + p, n] = x[c, n, p]. With <paramref name="inverse"/> 1, Unflatten: y[c, n, p] = x[c*P + p, n].</summary>
    public static void Flatten(ArrayView<float> x, ArrayView<float> y, int images, int plane, int inverse, int length, int block)
    {
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++)
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
}

/// <summary>
/// The element loop of every element-wise kernel: thread t of the grid handles blocks [t·block, t·block + block),
/// then every (grid threads · block) further. block 1 is a GPU's grid-stride loop.
/// </summary>
public static class ElementLoop
{
    public static int First(int block) => Grid.GlobalIndex.X * block;

    public static int Step(int block) => Grid.DimX * Group.DimX * block;

    public static int Last(int first, int block, int length) => first + block < length ? first + block : length;
}
