// The two halves of a convolution as GEMM on the device: im2col lays every receptive field of a channel-major batch out
// as a column (so Conv2d's forward and ConvTranspose2d's input gradient are one GEMM each), and col2im gathers columns
// back onto the image (Conv2d's input gradient, ConvTranspose2d's forward). col2im gathers, one thread per output pixel,
// in a fixed (kh, kw) order: no atomics.
using ILGPU;

namespace AeMnist.Gpu.Kernels;

/// <summary>
/// A convolution's geometry over a channel-major batch: input (Channels, Images, Height, Width), kernel Kernel x Kernel,
/// stride, zero padding, and its output (OutHeight, OutWidth) = ((Height + 2·Padding - Kernel) / Stride + 1, ...).
/// </summary>
public struct ConvGeometry
{
    public int Channels, Images, Height, Width, OutHeight, OutWidth, Kernel, Stride, Padding;

    /// <summary>Rows of the column matrix: Channels·Kernel².</summary>
    public readonly int Rows => Channels * Kernel * Kernel;

    /// <summary>Columns of the column matrix: Images·OutHeight·OutWidth.</summary>
    public readonly int Columns => Images * OutHeight * OutWidth;
}

public static class ConvKernels
{
    // x (C, N, H, W) -> columns (C*K*K, N*Ho*Wo)
    /// <summary>columns[(c·K + kh)·K + kw, (n·Ho + oh)·Wo + ow] = x[c, n, oh·S - P + kh, ow·S - P + kw], 0 outside the image.</summary>
    public static void Im2Col(ArrayView<float> x, ArrayView<float> columns, ConvGeometry g, int length, int block)
    {
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++) Im2ColOne(i, x, columns, g);
    }

    private static void Im2ColOne(int i, ArrayView<float> x, ArrayView<float> columns, ConvGeometry g)
    {
        int count = g.Images * g.OutHeight * g.OutWidth;
        int row = i / count, column = i - row * count;
        int kw = row % g.Kernel, rest = row / g.Kernel;
        int kh = rest % g.Kernel, c = rest / g.Kernel;
        int ow = column % g.OutWidth;
        rest = column / g.OutWidth;
        int oh = rest % g.OutHeight, n = rest / g.OutHeight;
        int ih = oh * g.Stride - g.Padding + kh, iw = ow * g.Stride - g.Padding + kw;
        columns[i] = ih >= 0 && ih < g.Height && iw >= 0 && iw < g.Width ? x[((c * g.Images + n) * g.Height + ih) * g.Width + iw] : 0f;
    }

    // columns (C*K*K, N*Ho*Wo) [, bias (C)] -> x (C, N, H, W)
    /// <summary>
    /// The adjoint of <see cref="Im2Col"/>: x[c, n, ih, iw] = [bias[c] +] Σ_{kh, kw} columns[(c·K + kh)·K + kw, (n·Ho + oh)·Wo + ow]
    /// over the (oh, ow) with oh·S - P + kh = ih and ow·S - P + kw = iw, kh then kw increasing.
    /// </summary>
    public static void Col2Im(ArrayView<float> columns, ArrayView<float> x, ArrayView<float> bias, ConvGeometry g, int hasBias, int length, int block)
    {
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++) Col2ImOne(i, columns, x, bias, g, hasBias);
    }

    private static void Col2ImOne(int i, ArrayView<float> columns, ArrayView<float> x, ArrayView<float> bias, ConvGeometry g, int hasBias)
    {
        int iw = i % g.Width, rest = i / g.Width;
        int ih = rest % g.Height;
        rest /= g.Height;
        int n = rest % g.Images, c = rest / g.Images;
        int count = g.Images * g.OutHeight * g.OutWidth;
        float sum = 0f;
        for (int kh = 0; kh < g.Kernel; kh++)
        {
            int hs = ih + g.Padding - kh;
            if (hs < 0 || hs % g.Stride != 0) continue;
            int oh = hs / g.Stride;
            if (oh >= g.OutHeight) continue;
            for (int kw = 0; kw < g.Kernel; kw++)
            {
                int ws = iw + g.Padding - kw;
                if (ws < 0 || ws % g.Stride != 0) continue;
                int ow = ws / g.Stride;
                if (ow >= g.OutWidth) continue;
                sum += columns[((c * g.Kernel + kh) * g.Kernel + kw) * count + (n * g.OutHeight + oh) * g.OutWidth + ow];
            }
        }
        x[i] = hasBias != 0 ? sum + bias[c] : sum;
    }
}
