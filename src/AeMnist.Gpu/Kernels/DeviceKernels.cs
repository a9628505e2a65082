// The kernels of one accelerator, loaded (compiled) on first use, with the launch arithmetic beside them: group sizes,
// GEMM tiling and split-K, reduction chunks. Layers call these methods; only this file knows how a kernel is launched.
// Every method checks its views' lengths first and throws ArgumentException naming them.
using ILGPU;
using ILGPU.Runtime;

namespace AeMnist.Gpu.Kernels;

internal sealed class DeviceKernels : IDisposable
{
    /// <summary>Values of a row that one group of a row reduction adds (chunks are added in order afterwards).</summary>
    public const int ReduceChunk = 4096;

    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>> _gemm;
    private readonly Lazy<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>> _gemmNaive;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int, int>> _sumSplits;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<double>, int, int, int, int, int>> _rowChunkSums;
    private readonly Lazy<Action<KernelConfig, ArrayView<double>, ArrayView<float>, int, double, int, int, int>> _finishRows;
    private readonly Lazy<Action<Index1D, ArrayView<float>, ArrayView<float>, int>> _rowSumsNaive;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, int>> _squaredError;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int>> _relu, _sigmoid;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>> _reluBackward, _sigmoidBackward;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, int>> _gather;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int, int, int>> _toSampleMajor;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int, int, int>> _flatten;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ConvGeometry, int, int>> _im2col;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvGeometry, int, int, int>> _col2im;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>> _center;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, double, double, int, int, int, int>> _statistics;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>> _normalize;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>> _gradientMeans;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>> _bnBackward;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamScalars, int, int>> _adam;
    private readonly DeviceMemory _memory;
    private readonly DeviceBuffer _splitWorkspace;
    private readonly DeviceBuffer<double> _reduceWorkspace;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _none;

    /// <summary>
    /// The kernels of <paramref name="accelerator"/>. A GPU's GEMM groups are 16x16 threads (a 64x64 tile) where the device
    /// allows it, its reductions 256 threads. ILGPU's CPU accelerator runs a group's threads as OS threads that meet at every
    /// barrier, which costs about 100 µs each; one-thread groups (a 4x4 tile) run the same code 20-50 times faster there.
    /// Tests pass other sizes to cover the multi-thread paths on the CPU.
    /// </summary>
    public DeviceKernels(Accelerator accelerator, DeviceMemory memory, int? gemmThreads = null, int? reduceThreads = null)
    {
        Accelerator = accelerator;
        _memory = memory;
        bool cpu = accelerator.AcceleratorType == AcceleratorType.CPU;
        int most = accelerator.MaxNumThreadsPerGroup;
        GemmThreads = gemmThreads ?? (cpu ? 1 : most >= 256 ? 16 : most >= 64 ? 8 : most >= 16 ? 4 : 1);
        ReduceThreads = reduceThreads ?? (cpu ? 1 : Math.Min(256, 1 << (int)Math.Log2(most)));
        ElementThreads = cpu ? 1 : Math.Min(256, most);
        MaxGroups = cpu ? Math.Max(1, accelerator.NumMultiprocessors) : int.MaxValue;
        if (GemmThreads * GemmThreads > most || ReduceThreads > most || (ReduceThreads & (ReduceThreads - 1)) != 0)
            throw new ArgumentException($"Groups of {GemmThreads}x{GemmThreads} and {ReduceThreads} threads do not fit {accelerator.Name} ({most} threads a group), or {ReduceThreads} is no power of two.");
        _splitWorkspace = new DeviceBuffer(memory);
        _reduceWorkspace = new DeviceBuffer<double>(memory);
        _none = accelerator.Allocate1D<float>(1);
        _gemm = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernels.Tiled));
        _gemmNaive = new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernels.Naive));
        _sumSplits = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int, int>(GemmKernels.SumSplits));
        _rowChunkSums = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<double>, int, int, int, int, int>(ReductionKernels.RowChunkSums));
        _finishRows = new(() => accelerator.LoadStreamKernel<ArrayView<double>, ArrayView<float>, int, double, int, int, int>(ReductionKernels.FinishRows));
        _rowSumsNaive = new(() => accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(ReductionKernels.RowSumsNaive));
        _squaredError = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, int>(ReductionKernels.SquaredErrorPerImage));
        _relu = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(ElementwiseKernels.Relu));
        _sigmoid = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(ElementwiseKernels.Sigmoid));
        _reluBackward = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ElementwiseKernels.ReluBackward));
        _sigmoidBackward = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ElementwiseKernels.SigmoidBackward));
        _gather = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, int>(ElementwiseKernels.GatherToChannelMajor));
        _toSampleMajor = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int, int, int>(ElementwiseKernels.ToSampleMajor));
        _flatten = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int, int, int>(ElementwiseKernels.Flatten));
        _im2col = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ConvGeometry, int, int>(ConvKernels.Im2Col));
        _col2im = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvGeometry, int, int, int>(ConvKernels.Col2Im));
        _center = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(BatchNormKernels.Center));
        _statistics = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, double, double, int, int, int, int>(BatchNormKernels.Statistics));
        _normalize = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(BatchNormKernels.Normalize));
        _gradientMeans = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(BatchNormKernels.GradientMeans));
        _bnBackward = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(BatchNormKernels.Backward));
        _adam = new(() => accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamScalars, int, int>(AdamKernels.Step));
    }

    public Accelerator Accelerator { get; }

    /// <summary>The GEMM's group is GemmThreads x GemmThreads threads; each computes 4x4 outputs.</summary>
    public int GemmThreads { get; }

    /// <summary>Threads of a reduction group (a power of two).</summary>
    public int ReduceThreads { get; }

    /// <summary>Threads of an element-wise kernel's group.</summary>
    public int ElementThreads { get; }

    /// <summary>The most groups a launch uses: unbounded on a GPU (one group per tile, row chunk or image); the CPU accelerator's multiprocessors there.</summary>
    public int MaxGroups { get; }

    // An element-wise launch over length items: a GPU's grid-stride loop (blocks of 1), or one long block per CPU group.
    private (KernelConfig Config, int Block) Elements(long length)
    {
        bool gpu = MaxGroups == int.MaxValue;
        long groups = Math.Max(1, Math.Min((length + ElementThreads - 1) / ElementThreads, gpu ? 1 << 16 : MaxGroups));
        long threads = groups * ElementThreads;
        return (new KernelConfig((int)groups, ElementThreads), gpu ? 1 : (int)((length + threads - 1) / threads));
    }

    /// <summary>A one-element view standing for "no bias".</summary>
    public ArrayView<float> None => _none.View;

    // A (M, K) or, transposed, stored (K, M); B (K, N) or stored (N, K) -> C (M, N)
    /// <summary>
    /// C = [C +] op(A)·op(B) [+ bias per row] on the tiled kernel. <paramref name="splitK"/> lets a long K (a weight gradient's
    /// sum over the batch) be cut into chunks whose partial products are added in chunk order; the chunking is a function of
    /// (M, N, K) only, so a result never depends on the device's size.
    /// </summary>
    public void Gemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, int m, int n, int k, bool transposeA = false, bool transposeB = false,
        bool accumulate = false, ArrayView<float> bias = default, bool splitK = false, bool naive = false)
    {
        Check(a, (long)m * k, nameof(a));
        Check(b, (long)k * n, nameof(b));
        Check(c, (long)m * n, nameof(c));
        bool hasBias = bias.IsValid && bias.Length > 0;
        if (hasBias) Check(bias, m, nameof(bias));
        if (hasBias && splitK) throw new ArgumentException("A split GEMM takes no bias.", nameof(bias));
        if (m == 0 || n == 0) return;
        var g = new GemmArgs
        {
            M = m, N = n, K = k,
            ARow = transposeA ? 1 : k, ACol = transposeA ? m : 1,
            BRow = transposeB ? 1 : n, BCol = transposeB ? k : 1,
            KChunk = Math.Max(k, 1), Accumulate = accumulate ? 1 : 0, HasBias = hasBias ? 1 : 0,
        };
        ArrayView<float> biasView = hasBias ? bias : None;
        if (naive)
        {
            _gemmNaive.Value(m * n, a, b, c, biasView, g);
            return;
        }
        (int splits, int chunk) = splitK ? SplitK(m, n, k) : (1, g.KChunk);
        int tile = GemmKernels.PerThread * GemmThreads;
        long tiles = (long)((n + tile - 1) / tile) * ((m + tile - 1) / tile);
        var groups = new Index3D((int)Math.Min(tiles, MaxGroups), 1, splits);
        var shared = SharedMemoryConfig.RequestDynamic<float>(GemmKernels.KTile * 2 * tile);
        var config = new KernelConfig(groups, new Index3D(GemmThreads, GemmThreads, 1), shared);
        if (splits == 1)
        {
            _gemm.Value(config, a, b, c, biasView, g);
            return;
        }
        g.KChunk = chunk;
        g.SplitStride = m * n;
        g.Accumulate = 0;
        ArrayView<float> workspace = _splitWorkspace.Get((long)splits * m * n);
        _gemm.Value(config, a, b, workspace, biasView, g);
        var (elements, block) = Elements(m * n);
        _sumSplits.Value(elements, workspace, c, m * n, splits, accumulate ? 1 : 0, block);
    }

    /// <summary>
    /// How many chunks a split GEMM cuts K into: enough (64x64-tile) groups to fill a large GPU, at least 256 values of k each,
    /// at most 64 chunks.
    /// </summary>
    public static (int Splits, int Chunk) SplitK(int m, int n, int k)
    {
        long tiles = (long)((m + 63) / 64) * ((n + 63) / 64);
        int wanted = (int)Math.Min(64, Math.Max(1, (256 + tiles - 1) / tiles));
        int splits = Math.Clamp(Math.Min(wanted, k / 256), 1, 64);
        int chunk = ((k + splits - 1) / splits + GemmKernels.KTile - 1) / GemmKernels.KTile * GemmKernels.KTile;
        return ((k + chunk - 1) / chunk, chunk);
    }

    // x (R, L) [, y (R, L)] -> destination (R)
    /// <summary>destination[r] = [destination[r] +] scale·Σ_j x[r, j] [·y[r, j]], in a fixed order.</summary>
    public void RowSums(ArrayView<float> x, ArrayView<float> destination, int rows, int length, double scale = 1, bool accumulate = false,
        ArrayView<float> y = default)
    {
        Check(x, (long)rows * length, nameof(x));
        Check(destination, rows, nameof(destination));
        bool product = y.IsValid && y.Length > 0;
        if (product) Check(y, (long)rows * length, nameof(y));
        if (rows == 0) return;
        int chunks = Math.Max(1, (length + ReduceChunk - 1) / ReduceChunk);
        ArrayView<double> partials = _reduceWorkspace.Get((long)rows * chunks);
        var config = new KernelConfig((int)Math.Min((long)rows * chunks, MaxGroups), ReduceThreads, SharedMemoryConfig.RequestDynamic<double>(ReduceThreads));
        _rowChunkSums.Value(config, x, product ? y : x, partials, length, ReduceChunk, product ? 1 : 0, rows, chunks);
        var (elements, block) = Elements(rows);
        _finishRows.Value(elements, partials, destination, chunks, scale, accumulate ? 1 : 0, rows, block);
    }

    /// <summary>Naive twin of <see cref="RowSums"/>: one thread per row, in order.</summary>
    public void RowSumsNaive(ArrayView<float> x, ArrayView<float> destination, int rows, int length)
    {
        Check(x, (long)rows * length, nameof(x));
        Check(destination, rows, nameof(destination));
        if (rows > 0) _rowSumsNaive.Value(rows, x, destination, length);
    }

    // prediction (C, N, P), target (C, N, P) -> sums (N) [, dPrediction (C, N, P)]
    /// <summary>Per-image Σ (prediction - target)²; with a gradient view, also dPrediction = (prediction - target)·gradientScale.</summary>
    public void SquaredErrorPerImage(ArrayView<float> prediction, ArrayView<float> target, ArrayView<float> sums, int channels, int images, int plane,
        ArrayView<float> dPrediction = default, float gradientScale = 0f)
    {
        long length = (long)channels * images * plane;
        Check(prediction, length, nameof(prediction));
        Check(target, length, nameof(target));
        Check(sums, images, nameof(sums));
        bool gradient = dPrediction.IsValid && dPrediction.Length > 0;
        if (gradient) Check(dPrediction, length, nameof(dPrediction));
        if (images == 0) return;
        var config = new KernelConfig(Math.Min(images, MaxGroups), ReduceThreads, SharedMemoryConfig.RequestDynamic<double>(ReduceThreads));
        _squaredError.Value(config, prediction, target, gradient ? dPrediction : None, sums, channels, images, plane, gradientScale, gradient ? 1 : 0);
    }

    public void Relu(ArrayView<float> x, ArrayView<float> y, int length) => Run(_relu, x, y, length);

    public void Sigmoid(ArrayView<float> x, ArrayView<float> y, int length) => Run(_sigmoid, x, y, length);

    public void ReluBackward(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int length) => Run(_reluBackward, y, dy, dx, length);

    public void SigmoidBackward(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int length) => Run(_sigmoidBackward, y, dy, dx, length);

    // set (rows, C*P), rows (N) -> x (C, N, P)
    public void Gather(ArrayView<float> set, ArrayView<int> rows, ArrayView<float> x, int images, int channels, int plane)
    {
        Check(x, (long)channels * images * plane, nameof(x));
        if (rows.Length < images) throw new ArgumentException($"rows has {rows.Length} entries, expected {images}.", nameof(rows));
        if (images > 0) Launch(_gather, channels * images * plane, (c, l, b) => _gather.Value(c, set, rows, x, images, plane, channels * plane, l, b));
    }

    // x (C, N, P) -> rows (N, C*P)
    public void ToSampleMajor(ArrayView<float> x, ArrayView<float> rows, int channels, int images, int plane)
    {
        long length = (long)channels * images * plane;
        Check(x, length, nameof(x));
        Check(rows, length, nameof(rows));
        if (length > 0) Launch(_toSampleMajor, length, (c, l, b) => _toSampleMajor.Value(c, x, rows, channels, images, plane, l, b));
    }

    // x (C, N, P) -> y (C*P, N), or back when inverse
    public void Flatten(ArrayView<float> x, ArrayView<float> y, int channels, int images, int plane, bool inverse)
    {
        long length = (long)channels * images * plane;
        Check(x, length, nameof(x));
        Check(y, length, nameof(y));
        if (length > 0) Launch(_flatten, length, (c, l, b) => _flatten.Value(c, x, y, images, plane, inverse ? 1 : 0, l, b));
    }

    // x (C, N, H, W) -> columns (C*K*K, N*Ho*Wo)
    public void Im2Col(ArrayView<float> x, ArrayView<float> columns, ConvGeometry g)
    {
        Check(x, (long)g.Channels * g.Images * g.Height * g.Width, nameof(x));
        Check(columns, (long)g.Rows * g.Columns, nameof(columns));
        if ((long)g.Rows * g.Columns > 0) Launch(_im2col, (long)g.Rows * g.Columns, (c, l, b) => _im2col.Value(c, x, columns, g, l, b));
    }

    // columns (C*K*K, N*Ho*Wo) -> x (C, N, H, W) [+ bias (C)]
    public void Col2Im(ArrayView<float> columns, ArrayView<float> x, ConvGeometry g, ArrayView<float> bias = default)
    {
        long length = (long)g.Channels * g.Images * g.Height * g.Width;
        Check(columns, (long)g.Rows * g.Columns, nameof(columns));
        Check(x, length, nameof(x));
        bool hasBias = bias.IsValid && bias.Length > 0;
        if (hasBias) Check(bias, g.Channels, nameof(bias));
        if (length > 0) Launch(_col2im, length, (c, l, b) => _col2im.Value(c, columns, x, hasBias ? bias : None, g, hasBias ? 1 : 0, l, b));
    }

    public void Center(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> centered, int channels, int length)
    {
        Check(x, (long)channels * length, nameof(x));
        Check(centered, (long)channels * length, nameof(centered));
        Check(mean, channels, nameof(mean));
        if ((long)channels * length > 0) Launch(_center, (long)channels * length, (c, l, b) => _center.Value(c, x, mean, centered, length, l, b));
    }

    public void Statistics(ArrayView<float> mean, ArrayView<float> variance, ArrayView<float> invStd, ArrayView<float> runningMean, ArrayView<float> runningVar,
        ArrayView<float> numBatchesTracked, int channels, double eps, double momentum, int count, bool training)
    {
        foreach ((ArrayView<float> view, string name) in new[] { (mean, nameof(mean)), (variance, nameof(variance)), (invStd, nameof(invStd)),
                     (runningMean, nameof(runningMean)), (runningVar, nameof(runningVar)) })
            Check(view, channels, name);
        Check(numBatchesTracked, 1, nameof(numBatchesTracked));
        Launch(_statistics, channels, (c, l, b) => _statistics.Value(c, mean, variance, invStd, runningMean, runningVar, numBatchesTracked, eps, momentum, count, training ? 1 : 0, l, b));
    }

    public void Normalize(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> xhat, ArrayView<float> y, int channels, int length, bool centered)
    {
        long total = (long)channels * length;
        Check(x, total, nameof(x));
        Check(xhat, total, nameof(xhat));
        Check(y, total, nameof(y));
        if (total > 0) Launch(_normalize, total, (c, l, b) => _normalize.Value(c, x, mean, invStd, weight, bias, xhat, y, length, centered ? 1 : 0, l, b));
    }

    public void GradientMeans(ArrayView<float> sumDy, ArrayView<float> sumDyXhat, ArrayView<float> dWeight, ArrayView<float> dBias,
        ArrayView<float> meanDy, ArrayView<float> meanDyXhat, int channels, int count) =>
        Launch(_gradientMeans, channels, (c, l, b) => _gradientMeans.Value(c, sumDy, sumDyXhat, dWeight, dBias, meanDy, meanDyXhat, count, l, b));

    public void BatchNormBackward(ArrayView<float> dy, ArrayView<float> xhat, ArrayView<float> meanDy, ArrayView<float> meanDyXhat, ArrayView<float> weight,
        ArrayView<float> invStd, ArrayView<float> dx, int channels, int length)
    {
        long total = (long)channels * length;
        Check(dy, total, nameof(dy));
        Check(xhat, total, nameof(xhat));
        Check(dx, total, nameof(dx));
        if (total > 0) Launch(_bnBackward, total, (c, l, b) => _bnBackward.Value(c, dy, xhat, meanDy, meanDyXhat, weight, invStd, dx, length, l, b));
    }

    public void AdamStep(ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v, AdamScalars scalars)
    {
        long length = parameters.Length;
        Check(gradients, length, nameof(gradients));
        Check(m, length, nameof(m));
        Check(v, length, nameof(v));
        if (length > 0) Launch(_adam, length, (c, l, b) => _adam.Value(c, parameters, gradients, m, v, scalars, l, b));
    }

    public void Dispose()
    {
        _splitWorkspace.Dispose();
        _reduceWorkspace.Dispose();
        _none.Dispose();
    }

    private void Run(Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int>> kernel, ArrayView<float> x, ArrayView<float> y, int length)
    {
        Check(x, length, nameof(x));
        Check(y, length, nameof(y));
        if (length > 0) Launch(kernel, length, (c, l, b) => kernel.Value(c, x, y, l, b));
    }

    private void Run(Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>> kernel, ArrayView<float> a, ArrayView<float> b,
        ArrayView<float> c, int length)
    {
        Check(a, length, nameof(a));
        Check(b, length, nameof(b));
        Check(c, length, nameof(c));
        if (length > 0) Launch(kernel, length, (config, l, block) => kernel.Value(config, a, b, c, l, block));
    }

    // Launches an element-wise kernel over length items (the kernel argument only names which).
    private void Launch<T>(Lazy<T> kernel, long length, Action<KernelConfig, int, int> launch)
    {
        _ = kernel;
        var (config, block) = Elements(length);
        launch(config, (int)length, block);
    }

    private static void Check(ArrayView<float> view, long length, string name)
    {
        if (!view.IsValid && length > 0 || view.Length < length)
            throw new ArgumentException($"{name} has {view.Length} elements, expected at least {length}.", name);
        if (length > int.MaxValue) throw new ArgumentException($"{name} would hold {length} elements, more than a kernel indexes.", name);
    }
}
