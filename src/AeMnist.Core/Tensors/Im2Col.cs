// im2col and col2im: the unfolding that turns Conv2d and ConvTranspose2d into GEMMs, each with a naive twin.
// Square kernels, one stride and one padding for both axes; one image, or a batch whose column matrices sit side by side.
using System.Runtime.CompilerServices;

namespace AeMnist.Tensors;

/// <summary>
/// Where a K x K window with the given stride and padding visits an image (C, H, W), producing OutHeight x OutWidth
/// positions. For a convolution Out = (H + 2*Padding - K) / Stride + 1; a transposed convolution reuses the
/// geometry of its output image with its input size as Out.
/// </summary>
public readonly record struct ConvGeometry(int Channels, int Height, int Width, int KernelSize, int Stride, int Padding, int OutHeight, int OutWidth)
{
    /// <summary>The geometry of Conv2d over a (C, H, W) image.</summary>
    public static ConvGeometry ForConv(int channels, int height, int width, int kernelSize, int stride, int padding)
    {
        int outHeight = (height + 2 * padding - kernelSize) / stride + 1;
        int outWidth = (width + 2 * padding - kernelSize) / stride + 1;
        var geometry = new ConvGeometry(channels, height, width, kernelSize, stride, padding, outHeight, outWidth);
        geometry.Validate();
        return geometry;
    }

    /// <summary>Rows of the column matrix: C*K*K.</summary>
    public int ColumnRows => Channels * KernelSize * KernelSize;

    /// <summary>Columns of the column matrix: OutHeight*OutWidth.</summary>
    public int ColumnCols => OutHeight * OutWidth;

    /// <summary>Floats in one image: C*H*W.</summary>
    public int ImageLength => Channels * Height * Width;

    /// <summary>Throws <see cref="ArgumentException"/> unless all sizes are usable.</summary>
    public void Validate()
    {
        if (Channels < 1 || Height < 1 || Width < 1 || KernelSize < 1 || Stride < 1 || Padding < 0 || OutHeight < 1 || OutWidth < 1)
            throw new ArgumentException($"Invalid convolution geometry {this}: the kernel does not fit the padded image or a size is out of range.");
    }
}

public static unsafe class Im2Col
{
    // image (C, H, W) -> columns (C*K*K, Ho*Wo)
    /// <summary>Effectively computes columns[(c*K + ki)*K + kj, oy*Wo + ox] = image[c, oy*S - P + ki, ox*S - P + kj], or 0 outside the image.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unfold(ReadOnlySpan<float> image, Span<float> columns, in ConvGeometry g)
    {
        Check(image, columns, g);
        fixed (float* x = image, col = columns) UnfoldCore(x, col, g, g.ColumnCols);
    }

    // images (N, C, H, W) -> columns (C*K*K, N*Ho*Wo)
    /// <summary>
    /// Effectively computes columns[r, b*Ho*Wo + q] = the <see cref="Unfold"/> of image b at (r, q): the column matrix of
    /// the whole batch side by side, so that one GEMM convolves every image.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void UnfoldBatch(ReadOnlySpan<float> images, int n, Span<float> columns, in ConvGeometry g)
    {
        CheckBatch(images, columns, n, g);
        nint stride = (nint)n * g.ColumnCols;
        fixed (float* x = images, col = columns)
            for (int b = 0; b < n; b++) UnfoldCore(x + (nint)b * g.ImageLength, col + (nint)b * g.ColumnCols, g, stride);
    }

    /// <summary>Naive twin of <see cref="UnfoldBatch"/>.</summary>
    public static void UnfoldBatchNaive(ReadOnlySpan<float> images, int n, Span<float> columns, in ConvGeometry g)
    {
        CheckBatch(images, columns, n, g);
        var one = new float[g.ColumnRows * g.ColumnCols];
        for (int b = 0; b < n; b++)
        {
            UnfoldNaive(images.Slice(b * g.ImageLength, g.ImageLength), one, g);
            for (int r = 0; r < g.ColumnRows; r++)
                one.AsSpan(r * g.ColumnCols, g.ColumnCols).CopyTo(columns.Slice((r * n + b) * g.ColumnCols, g.ColumnCols));
        }
    }

    // Row r of the image's columns starts at col + r*rowStride.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnfoldCore(float* x, float* col, in ConvGeometry g, nint rowStride)
    {
        int k = g.KernelSize, s = g.Stride, p = g.Padding, ow = g.OutWidth;
        for (int c = 0; c < g.Channels; c++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++)
                {
                    float* row = col + ((c * k + ki) * k + kj) * rowStride;
                    ValidRange(g.Width, kj, s, p, ow, out int lo, out int hi);
                    for (int oy = 0; oy < g.OutHeight; oy++)
                    {
                        float* segment = row + oy * ow;
                        int iy = oy * s - p + ki;
                        if (iy < 0 || iy >= g.Height || lo >= hi)
                        {
                            new Span<float>(segment, ow).Clear();
                            continue;
                        }
                        // Padding edges are a pixel or two: plain stores, not a Clear call each.
                        for (int ox = 0; ox < lo; ox++) segment[ox] = 0f;
                        for (int ox = hi; ox < ow; ox++) segment[ox] = 0f;
                        float* source = x + (nint)(c * g.Height + iy) * g.Width + (lo * s - p + kj);
                        if (s == 1) new ReadOnlySpan<float>(source, hi - lo).CopyTo(new Span<float>(segment + lo, hi - lo));
                        else for (int ox = lo; ox < hi; ox++, source += s) segment[ox] = *source;
                    }
                }
    }

    /// <summary>Naive twin of <see cref="Unfold"/>.</summary>
    public static void UnfoldNaive(ReadOnlySpan<float> image, Span<float> columns, in ConvGeometry g)
    {
        Check(image, columns, g);
        int k = g.KernelSize;
        for (int c = 0; c < g.Channels; c++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++)
                    for (int oy = 0; oy < g.OutHeight; oy++)
                        for (int ox = 0; ox < g.OutWidth; ox++)
                        {
                            int iy = oy * g.Stride - g.Padding + ki, ix = ox * g.Stride - g.Padding + kj;
                            bool inside = iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width;
                            columns[((c * k + ki) * k + kj) * g.ColumnCols + oy * g.OutWidth + ox] =
                                inside ? image[(c * g.Height + iy) * g.Width + ix] : 0f;
                        }
    }

    // columns (C*K*K, Ho*Wo) -> image (C, H, W)
    /// <summary>
    /// Effectively computes image = 0, then image[c, oy*S - P + ki, ox*S - P + kj] += columns[(c*K + ki)*K + kj, oy*Wo + ox]
    /// for every in-image position, in row-major order of columns (the adjoint of <see cref="Unfold"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fold(ReadOnlySpan<float> columns, Span<float> image, in ConvGeometry g)
    {
        Check(image, columns, g);
        image.Clear();
        fixed (float* x = image, col = columns) FoldCore(col, x, g, g.ColumnCols);
    }

    // columns (C*K*K, N*Ho*Wo) -> images (N, C, H, W)
    /// <summary>Effectively computes image b = the <see cref="Fold"/> of columns[:, b*Ho*Wo .. (b+1)*Ho*Wo) (the adjoint of <see cref="UnfoldBatch"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FoldBatch(ReadOnlySpan<float> columns, int n, Span<float> images, in ConvGeometry g)
    {
        CheckBatch(images, columns, n, g);
        images.Clear();
        nint stride = (nint)n * g.ColumnCols;
        fixed (float* x = images, col = columns)
            for (int b = 0; b < n; b++) FoldCore(col + (nint)b * g.ColumnCols, x + (nint)b * g.ImageLength, g, stride);
    }

    /// <summary>Naive twin of <see cref="FoldBatch"/>.</summary>
    public static void FoldBatchNaive(ReadOnlySpan<float> columns, int n, Span<float> images, in ConvGeometry g)
    {
        CheckBatch(images, columns, n, g);
        var one = new float[g.ColumnRows * g.ColumnCols];
        for (int b = 0; b < n; b++)
        {
            for (int r = 0; r < g.ColumnRows; r++)
                columns.Slice((r * n + b) * g.ColumnCols, g.ColumnCols).CopyTo(one.AsSpan(r * g.ColumnCols, g.ColumnCols));
            FoldNaive(one, images.Slice(b * g.ImageLength, g.ImageLength), g);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FoldCore(float* col, float* x, in ConvGeometry g, nint rowStride)
    {
        int k = g.KernelSize, s = g.Stride, p = g.Padding, ow = g.OutWidth;
        for (int c = 0; c < g.Channels; c++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++)
                {
                    float* row = col + ((c * k + ki) * k + kj) * rowStride;
                    ValidRange(g.Width, kj, s, p, ow, out int lo, out int hi);
                    if (lo >= hi) continue;
                    for (int oy = 0; oy < g.OutHeight; oy++)
                    {
                        int iy = oy * s - p + ki;
                        if (iy < 0 || iy >= g.Height) continue;
                        float* segment = row + oy * ow;
                        float* target = x + (nint)(c * g.Height + iy) * g.Width + (lo * s - p + kj);
                        if (s == 1) Elementwise.AddInPlace(new Span<float>(target, hi - lo), new ReadOnlySpan<float>(segment + lo, hi - lo));
                        else for (int ox = lo; ox < hi; ox++, target += s) *target += segment[ox];
                    }
                }
    }

    /// <summary>Naive twin of <see cref="Fold"/> (same order of additions, so equal bit for bit).</summary>
    public static void FoldNaive(ReadOnlySpan<float> columns, Span<float> image, in ConvGeometry g)
    {
        Check(image, columns, g);
        image.Clear();
        int k = g.KernelSize;
        for (int c = 0; c < g.Channels; c++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++)
                    for (int oy = 0; oy < g.OutHeight; oy++)
                        for (int ox = 0; ox < g.OutWidth; ox++)
                        {
                            int iy = oy * g.Stride - g.Padding + ki, ix = ox * g.Stride - g.Padding + kj;
                            if (iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width)
                                image[(c * g.Height + iy) * g.Width + ix] += columns[((c * k + ki) * k + kj) * g.ColumnCols + oy * g.OutWidth + ox];
                        }
    }

    // The output columns [lo, hi) whose input column ox*S - P + kj falls inside [0, width).
    private static void ValidRange(int width, int kj, int stride, int padding, int outWidth, out int lo, out int hi)
    {
        int first = padding - kj;              // smallest ox*S allowed
        int last = width - 1 + padding - kj;   // largest ox*S allowed
        lo = first <= 0 ? 0 : (first + stride - 1) / stride;
        hi = last < 0 ? 0 : Math.Min(outWidth, last / stride + 1);
        if (hi < lo) hi = lo;
    }

    // x (A, B, S) -> destination (B, A, S)
    /// <summary>Effectively computes destination[j, i, :] = x[i, j, :]: (N, C, S) ⇄ (C, N, S), between NCHW tensors and batched GEMM layouts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SwapLeadingAxes(ReadOnlySpan<float> x, Span<float> destination, int a, int b, int s)
    {
        if (a < 0 || b < 0 || s < 0 || x.Length != (long)a * b * s || destination.Length != x.Length)
            throw new ArgumentException($"SwapLeadingAxes of ({a}, {b}, {s}) needs {(long)a * b * s} elements on each side, got {x.Length} and {destination.Length}.");
        for (int i = 0; i < a; i++)
            for (int j = 0; j < b; j++)
                x.Slice((i * b + j) * s, s).CopyTo(destination.Slice((j * a + i) * s, s));
    }

    private static void CheckBatch(ReadOnlySpan<float> images, ReadOnlySpan<float> columns, int n, in ConvGeometry g)
    {
        g.Validate();
        if (n < 0) throw new ArgumentException($"The batch size must not be negative, got {n}.", nameof(n));
        if (images.Length != (long)n * g.ImageLength)
            throw new ArgumentException($"images has {images.Length} elements, expected N*C*H*W = {n}*{g.ImageLength}.", nameof(images));
        if (columns.Length != (long)g.ColumnRows * n * g.ColumnCols)
            throw new ArgumentException($"columns has {columns.Length} elements, expected (C*K*K)*(N*Ho*Wo) = {g.ColumnRows}*{n * g.ColumnCols}.", nameof(columns));
    }

    private static void Check(ReadOnlySpan<float> image, ReadOnlySpan<float> columns, in ConvGeometry g)
    {
        g.Validate();
        if (image.Length != g.ImageLength)
            throw new ArgumentException($"image has {image.Length} elements, expected C*H*W = {g.ImageLength}.", nameof(image));
        if (columns.Length != g.ColumnRows * g.ColumnCols)
            throw new ArgumentException($"columns has {columns.Length} elements, expected (C*K*K)*(Ho*Wo) = {g.ColumnRows * g.ColumnCols}.", nameof(columns));
    }
}
