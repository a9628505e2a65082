// The linear autoencoder the tutorial's text explains: Linear(784, k) then Linear(k, 784), no activation. Its best
// weights are known in closed form (Eckart-Young): the top k principal components of the training images, so this
// architecture is fitted exactly by an eigendecomposition of their covariance instead of trained. It is saved as an
// ordinary model.safetensors (encoder.0 = (components, -components·mean), decoder.0 = (componentsᵀ, mean)), so every
// verb and PyTorch read it like any other model.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using AeMnist.Tensors;
using MathNet.Numerics.LinearAlgebra;
using static AeMnist.Models.Layers;

namespace AeMnist.Models;

// images (C·H·W; 784 for MNIST) -> encoder (components) -> decoder (C·H·W)
public sealed class PcaAutoEncoder : Architecture
{
    /// <summary>The most values an image may have for the fit (its covariance is that size squared, in double).</summary>
    public const int MaxPixels = 8192;

    public static readonly ArchitectureOption Components = new("components", "K", "Principal components kept by the pca model", [16], Max: MaxPixels);

    public override string Name => "pca";

    public override string Summary => "the linear autoencoder (PCA): Linear 784 (any image's C·H·W values) → --components → 784, fitted exactly by eigendecomposition";

    public override IReadOnlyList<ArchitectureOption> Options => [Components];

    public override bool FitsExactly => true;

    /// <summary>One fit (recorded as one epoch), a 10 % validation split as for the bottleneck model, scored by SSIM.</summary>
    public override TrainingRecipe Recipe => new(Epochs: 1, Score: Scoring.ScoreKind.Ssim, Validation: 0.1);

    public override void CheckImage(ImageShape image)
    {
        base.CheckImage(image);
        if (image.Length > MaxPixels)
            throw new ArgumentException($"the {Name} model fits images of at most {MaxPixels} values (its covariance is that size squared); these are {image} = {image.Length} values: resize them with --size");
    }

    protected override ModelSpec Build(ArchitectureSettings settings, ImageShape image)
    {
        int k = settings[Components][0], pixels = image.Length;
        if (k > pixels) throw new ArgumentException($"--components {k} is more than the {pixels} values of an image of {image}");
        return new ModelSpec(this, settings, SampleShape.Vector(pixels), encoder: [Linear(pixels, k)], decoder: [Linear(k, pixels)], image);
    }

    /// <summary>MNIST's 28x28 when the encoder takes 784 values, else one row of its inputs.</summary>
    public override ImageShape? ImageFromShapes(IReadOnlyDictionary<string, int[]> shapes) =>
        shapes.TryGetValue("encoder.0.weight", out int[]? w) && w.Length == 2
            ? w[1] == ImageShape.Mnist.Length ? ImageShape.Mnist : new ImageShape(1, 1, w[1])
            : null;

    public override ArchitectureSettings? SettingsFromShapes(IReadOnlyDictionary<string, int[]> shapes) =>
        shapes.TryGetValue("encoder.0.weight", out int[]? w) && w.Length == 2 ? Settings((Components, [w[0]])) : null;

    /// <summary>
    /// The exact fit: the top k principal components of the <paramref name="n"/> images, each signed so that its
    /// largest-magnitude entry is positive. Pixels that never vary (the blank border of a digit) carry no variance and are
    /// left out; the covariance of the others is a float GEMM per chunk of images, summed in double
    /// (<see cref="Covariance"/>), and its top k eigenvectors come from Chebyshev-filtered subspace iteration
    /// (<see cref="TopEigenvectors"/>), not a full eigendecomposition (4.4 s for digit 2 on one core before, about 0.1 s
    /// now; docs/benchmarks.md). On <paramref name="threads"/> threads, the covariance's blocks and the rows of each
    /// multiplication by it are shared out; every value is still computed by one chain in a fixed order, so the result
    /// never depends on the thread count or the machine's cores.
    /// </summary>
    public override StateDict Fit(ModelSpec spec, ReadOnlySpan<float> images, int n, int threads = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        int k = spec.Settings[Components][0], Pixels = spec.Input.Length;
        if (n < 2) throw new ArgumentException($"the pca model needs at least 2 training images, got {n}");
        (double[] mean, int[] active) = MeanAndActivePixels(images, n, Pixels);
        double[,] components = new double[k, Pixels];  // zero on the pixels that never vary
        if (active.Length > 0)
        {
            double[] covariance = Covariance(images, n, Pixels, mean, active, threads);
            double[,] top = TopEigenvectors(covariance, active.Length, Math.Min(k, active.Length), threads);
            for (int c = 0; c < top.GetLength(0); c++)
                for (int a = 0; a < active.Length; a++) components[c, active[a]] = top[c, a];
        }
        // Components past the active pixels' count (a k larger than the data's dimension) complete an orthonormal basis
        // with unit vectors on unused pixels, as any eigendecomposition of the zero eigenvalues would.
        for (int c = active.Length, next = 0; c < k; c++)
        {
            while (Array.IndexOf(active, next) >= 0) next++;
            components[c, next++] = 1;
        }
        var encoderWeight = new float[k * Pixels];
        var encoderBias = new float[k];
        var decoderWeight = new float[Pixels * k];
        var decoderBias = new float[Pixels];
        for (int c = 0; c < k; c++)
        {
            int peak = 0;
            for (int j = 1; j < Pixels; j++)
                if (Math.Abs(components[c, j]) > Math.Abs(components[c, peak])) peak = j;
            double sign = components[c, peak] < 0 ? -1 : 1;
            double bias = 0;
            for (int j = 0; j < Pixels; j++)
            {
                double value = sign * components[c, j];
                encoderWeight[c * Pixels + j] = (float)value;
                decoderWeight[j * k + c] = (float)value;
                bias -= value * mean[j];
            }
            encoderBias[c] = (float)bias;
        }
        for (int j = 0; j < Pixels; j++) decoderBias[j] = (float)mean[j];
        return new StateDict([
            new NamedTensor("encoder.0.weight", [k, Pixels], encoderWeight),
            new NamedTensor("encoder.0.bias", [k], encoderBias),
            new NamedTensor("decoder.0.weight", [Pixels, k], decoderWeight),
            new NamedTensor("decoder.0.bias", [Pixels], decoderBias),
        ]);
    }

    // The mean image (each pixel summed in double in image order) and the pixels that are not the same in every image.
    // Vectors run across the pixels, so each pixel's sum is the same chain as the scalar loop's.
    private static unsafe (double[] Mean, int[] Active) MeanAndActivePixels(ReadOnlySpan<float> images, int n, int pixels)
    {
        int Pixels = pixels;
        var mean = new double[Pixels];
        var varies = new int[Pixels];  // all ones where a pixel differs from the first image's
        fixed (float* x = images)
        fixed (double* sum = mean)
        fixed (int* differs = varies)
            for (int i = 0; i < n; i++)
            {
                float* row = x + (nint)i * Pixels;
                int j = 0;
                if (Vector512.IsHardwareAccelerated)
                    for (; j + 16 <= Pixels; j += 16)
                    {
                        Vector512<float> value = Vector512.Load(row + j);
                        (Vector512<double> low, Vector512<double> high) = Vector512.Widen(value);
                        (Vector512.Load(sum + j) + low).Store(sum + j);
                        (Vector512.Load(sum + j + 8) + high).Store(sum + j + 8);
                        (Vector512.Load(differs + j) | ~Vector512.Equals(value, Vector512.Load(x + j)).AsInt32()).Store(differs + j);
                    }
                for (; j < Pixels; j++)
                {
                    sum[j] += row[j];
                    differs[j] |= row[j] != x[j] ? -1 : 0;
                }
            }
        for (int j = 0; j < Pixels; j++) mean[j] /= n;
        var active = new List<int>();
        for (int j = 0; j < Pixels; j++)
            if (varies[j] != 0) active.Add(j);
        return (mean, [.. active]);
    }

    private const int Chunk = 256;      // images per float GEMM of the covariance
    private const int BlockColumns = 64;

    /// <summary>
    /// The covariance (m, m) of the active pixels, row-major, in double: Σ (x − mean)(x − mean)ᵀ / (n − 1). The centred images
    /// are cast to float, stored by 64-pixel column blocks, and multiplied 256 images at a time (Gemm.MatMulTransposeA, the
    /// upper triangle of blocks only), each chunk's float sums of 256 products added in double: a few 10⁻⁶ of the entry's
    /// scale (√(var_a var_b)) at most, the float32 rounding of the sums, which moves no component of a float32 model measurably (tested against a full
    /// double-precision eigendecomposition), at a fraction of a double GEMM's time.
    /// </summary>
    internal static unsafe double[] Covariance(ReadOnlySpan<float> images, int n, int imageLength, ReadOnlySpan<double> mean, int[] active, int threads = 1)
    {
        int Pixels = imageLength;
        int m = active.Length, blocks = (m + BlockColumns - 1) / BlockColumns;
        var covariance = GC.AllocateUninitializedArray<double>(m * m);  // every entry is written below
        // Column block b of the centred images, (n, width) contiguous, as the GEMM wants it (every value written below).
        // One pooled array holds every block (block b from n * 64 * b): a fit allocates no 10-15 MB of fresh memory.
        float[] pooled = System.Buffers.ArrayPool<float>.Shared.Rent(n * m);
        try
        {
            ArraySegment<float>[] columns = [.. Enumerable.Range(0, blocks).Select(b => new ArraySegment<float>(pooled, n * BlockColumns * b, n * Width(b, m)))];
            var activeMean = new double[m];
            for (int c = 0; c < m; c++) activeMean[c] = mean[active[c]];
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads };
            fixed (float* images0 = images)
            {
                float* x = images0;  // (a fixed local cannot be captured)
                Parallel.For(0, blocks, parallel, b =>
                {
                    int width = Width(b, m);
                    fixed (int* pixels = active)
                    fixed (double* centre = activeMean)
                    fixed (float* target = columns[b].AsSpan())
                    {
                        int* blockPixels = pixels + b * BlockColumns;
                        double* blockMean = centre + b * BlockColumns;
                        for (int i = 0; i < n; i++)
                        {
                            float* row = x + (nint)i * Pixels, to = target + (nint)i * width;
                            int c = 0;
                            if (Avx2.IsSupported)
                                for (; c + 8 <= width; c += 8)
                                {
                                    // (float)(pixel − mean) as below: the pixels gathered, widened exactly, subtracted and rounded in double.
                                    Vector256<float> value = Avx2.GatherVector256(row, Vector256.Load(blockPixels + c), 4);
                                    (Vector256<double> low, Vector256<double> high) = Vector256.Widen(value);
                                    Vector256.Narrow(low - Vector256.Load(blockMean + c), high - Vector256.Load(blockMean + c + 4)).Store(to + c);
                                }
                            for (; c < width; c++) to[c] = (float)(row[blockPixels[c]] - blockMean[c]);
                        }
                    }
                });
            }
            // The blocks of the upper triangle, each computed whole by one thread: its chunks' float products added in
            // double, in chunk order, into its own part of the covariance.
            (int Row, int Column)[] pairs = [.. Enumerable.Range(0, blocks).SelectMany(bi => Enumerable.Range(bi, blocks - bi).Select(bj => (bi, bj)))];
            Parallel.For(0, pairs.Length, parallel,
                () => (Product: new float[BlockColumns * BlockColumns], Sums: new double[BlockColumns * BlockColumns]),
                (pair, _, scratch) =>
                {
                    (int bi, int bj) = pairs[pair];
                    int wi = Width(bi, m), wj = Width(bj, m);
                    Span<float> p = scratch.Product.AsSpan(0, wi * wj);
                    double[] sums = scratch.Sums;
                    Array.Clear(sums);
                    for (int start = 0; start < n; start += Chunk)
                    {
                        int rows = Math.Min(Chunk, n - start);
                        Tensors.Gemm.MatMulTransposeA(columns[bi].AsSpan(start * wi, rows * wi), columns[bj].AsSpan(start * wj, rows * wj), p, wi, rows, wj);
                        AddWidened(p, sums);
                    }
                    for (int i = 0; i < wi; i++)
                        for (int j = 0; j < wj; j++) covariance[(bi * BlockColumns + i) * m + bj * BlockColumns + j] = sums[i * wj + j];
                    return scratch;
                },
                _ => { });
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(pooled);
        }
        for (int i = 0; i < m; i++)
            for (int j = i; j < m; j++)
            {
                double value = covariance[i * m + j] / (n - 1);
                covariance[i * m + j] = value;
                covariance[j * m + i] = value;
            }
        return covariance;
    }

    // sums[e] += x[e], the floats widened to double.
    private static unsafe void AddWidened(ReadOnlySpan<float> x, Span<double> sums)
    {
        fixed (float* px = x)
        fixed (double* ps = sums)
        {
            int e = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; e + 8 <= x.Length; e += 8)
                {
                    (Vector256<double> low, Vector256<double> high) = Vector256.Widen(Vector256.Load(px + e));
                    (Vector256.Load(ps + e) + low).Store(ps + e);
                    (Vector256.Load(ps + e + 4) + high).Store(ps + e + 4);
                }
            for (; e < x.Length; e++) ps[e] += px[e];
        }
    }

    private static int Width(int block, int m) => Math.Min(BlockColumns, m - block * BlockColumns);

    /// <summary>
    /// The k eigenvectors of the largest eigenvalues of the symmetric positive semi-definite (m, m) matrix <paramref name="a"/>,
    /// largest first, as rows. A full eigendecomposition of a 784 x 784 matrix takes seconds; PCA needs only the top k.
    /// So: Chebyshev-filtered subspace iteration (Zhou and Saad, 2007). A block of b = max(2k, k + 16) seeded random vectors
    /// is multiplied by a degree-6 Chebyshev polynomial of the matrix that is small on [0, θ_b] (θ_b the block's smallest
    /// Ritz value) and grows fast above it, orthonormalised, and a Rayleigh-Ritz step (the b x b projected problem solved by
    /// MathNet) gives the Ritz pairs; rounds repeat until every wanted pair's residual ‖Av − θv‖ is below 10⁻¹⁰ of the
    /// largest eigenvalue, where the eigenvectors are accurate far past float32. Against plain subspace iteration, whose
    /// error shrinks by λ_{b+1}/λ_k per multiplication (0.42 on a digit's images), the filter shrinks it about three times
    /// faster per multiplication, and a round orthonormalises once. When the block would be half the matrix or more (k near
    /// m) the full eigendecomposition is cheaper and is used instead.
    /// </summary>
    internal static double[,] TopEigenvectors(double[] a, int m, int k, int threads = 1)
    {
        MathNet.Numerics.Control.UseSingleThread();
        int b = (Math.Max(2 * k, k + 16) + 7) / 8 * 8;  // whole vectors of 8 doubles
        var result = new double[k, m];
        if (2 * b >= m)
        {
            var evd = Matrix<double>.Build.Dense(m, m, (i, j) => a[i * m + j]).Evd(Symmetricity.Symmetric);
            for (int c = 0; c < k; c++)
                for (int j = 0; j < m; j++) result[c, j] = evd.EigenVectors[j, m - 1 - c];  // ascending eigenvalues
            return result;
        }
        // Blocks are row-major (m, b): row j holds the j-th entry of every vector, so each operation below runs its vectors
        // across the block's columns and every element is one chain in a fixed order (any vector width, the same bits).
        var rng = new Rng(0x5ca1ab1e);
        double[] q = new double[m * b], z = new double[m * b], previous = new double[m * b], next = new double[m * b];
        double[] small = new double[b * b], factor = new double[b * b];  // qᵀ A q, and the Ritz coefficients
        for (int i = 0; i < q.Length; i++) q[i] = rng.NextSingle(-1f, 1f);
        double upper = 0;  // the top of the interval the filter damps; 0 until a Rayleigh-Ritz step has bounded it
        for (int round = 0; ; round++)
        {
            if (upper > 0) ChebyshevFilter(a, m, q, b, upper, previous, z, next, threads);
            Orthonormalize(q, m, b);
            Multiply(a, m, m, q, b, z, threads);                                // z = A q
            Gram(q, z, m, b, small);                                            // qᵀ A q
            var projected = Matrix<double>.Build.Dense(b, b, (i, j) => 0.5 * (small[i * b + j] + small[j * b + i]));
            var evd = projected.Evd(Symmetricity.Symmetric);                    // ascending eigenvalues
            for (int i = 0; i < b; i++)
                for (int j = 0; j < b; j++) factor[i * b + j] = evd.EigenVectors[i, b - 1 - j];  // Ritz coefficients, largest first
            Multiply(q, m, b, factor, b, previous, threads);                    // Ritz vectors v = q s
            Multiply(z, m, b, factor, b, next, threads);                        // and A v = z s
            double largest = evd.EigenValues[b - 1].Real, smallest = evd.EigenValues[0].Real, worst = 0;
            for (int c = 0; c < k; c++)
            {
                double norm = 0, theta = evd.EigenValues[b - 1 - c].Real;
                for (int j = 0; j < m; j++) norm = Math.FusedMultiplyAdd(next[j * b + c] - theta * previous[j * b + c], next[j * b + c] - theta * previous[j * b + c], norm);
                worst = Math.Max(worst, Math.Sqrt(norm));
            }
            (q, previous) = (previous, q);
            if (worst <= 1e-10 * Math.Max(largest, double.Epsilon) || round == MaxRounds)
            {
                for (int c = 0; c < k; c++)
                    for (int j = 0; j < m; j++) result[c, j] = q[j * b + c];
                return result;
            }
            upper = Math.Max(smallest, 1e-12 * largest);
        }
    }

    private const int MaxRounds = 200;
    private const int FilterDegree = 8;

    // q <- T_d(L(A)) q, L mapping [0, upper] onto [-1, 1]: the three-term recurrence, each step scaled by the largest
    // magnitude so that nothing overflows (one scale for every column: no direction changes).
    private static void ChebyshevFilter(double[] a, int m, double[] q, int b, double upper, double[] previous, double[] z, double[] next, int threads)
    {
        double center = upper / 2, half = upper / 2;
        Array.Copy(q, previous, q.Length);
        Multiply(a, m, m, q, b, z, threads);
        for (int i = 0; i < q.Length; i++) q[i] = (z[i] - center * previous[i]) / half;
        for (int degree = 2; degree <= FilterDegree; degree++)
        {
            Multiply(a, m, m, q, b, z, threads);
            double max = 0;
            for (int i = 0; i < q.Length; i++)
            {
                next[i] = 2 * (z[i] - center * q[i]) / half - previous[i];
                max = Math.Max(max, Math.Abs(next[i]));
            }
            double scale = max > 0 ? 1 / max : 1;
            for (int i = 0; i < q.Length; i++)
            {
                previous[i] = q[i] * scale;
                q[i] = next[i] * scale;
            }
        }
    }

    // q (m, b), row-major, m ≥ b <- the thin Q of its Householder QR (LAPACK's dgeqr2 then dorg2r, in place): the filtered
    // block's columns all lean towards the top eigenvectors (their condition number grows with the filter's degree), which
    // Cholesky-based QR cannot take. Row-major, each reflector updates the trailing columns a row at a time, across the
    // row; every sum is one chain in a fixed order. For a digit's 609 x 32 block: 0.44-0.6 ms (2.7 ms the first call, with
    // the JIT), against MathNet's 2.2-4 ms (8.9 ms the first).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Orthonormalize(double[] q, int m, int b)
    {
        Span<double> a = q.AsSpan(0, m * b);
        var tau = new double[b];  // b can be thousands (a large --components): not on the stack
        var w = new double[b];
        for (int j = 0; j < b; j++)
        {
            // The reflector H = I − τ v vᵀ with v = (1, a[j+1.., j] / (α − β)) that maps column j below the diagonal onto β e₁.
            double alpha = a[j * b + j], norm = 0;
            for (int i = j + 1; i < m; i++) norm = Math.FusedMultiplyAdd(a[i * b + j], a[i * b + j], norm);
            if (norm == 0)
            {
                tau[j] = 0;
                continue;
            }
            double beta = -Math.CopySign(Math.Sqrt(Math.FusedMultiplyAdd(alpha, alpha, norm)), alpha), scale = 1 / (alpha - beta);
            tau[j] = (beta - alpha) / beta;
            for (int i = j + 1; i < m; i++) a[i * b + j] *= scale;
            a[j * b + j] = beta;
            ApplyReflector(a, m, b, j, tau[j], w);
        }
        // Q = H₀ H₁ … [I; 0], built from the last reflector back, over the reflectors' own storage.
        for (int j = b - 1; j >= 0; j--)
        {
            if (j < b - 1) ApplyReflector(a, m, b, j, tau[j], w);
            for (int i = j + 1; i < m; i++) a[i * b + j] *= -tau[j];
            a[j * b + j] = 1 - tau[j];
            for (int i = 0; i < j; i++) a[i * b + j] = 0;
        }
    }

    // Columns j+1.. of rows j.. <- H_j times them, v_j = (1, a[j+1.., j]): w = vᵀ A, then A −= τ v w, a row at a time.
    // Vectors across the row; the loops are our own (not TensorPrimitives) so that the first fit runs optimised code.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ApplyReflector(Span<double> a, int m, int b, int j, double tau, Span<double> w)
    {
        int width = b - j - 1;
        if (width == 0 || tau == 0) return;
        fixed (double* pa = a, sums = w)
        {
            double* top = pa + (nint)j * b + j + 1;
            new Span<double>(top, width).CopyTo(new Span<double>(sums, width));
            for (int i = j + 1; i < m; i++)
            {
                double* row = pa + (nint)i * b;
                MultiplyAdd(row + j + 1, row[j], sums, sums, width);   // w += v_i · row
            }
            for (int c = 0; c < width; c++) sums[c] *= -tau;         // w = −τ w
            for (int c = 0; c < width; c++) top[c] += sums[c];       // row j: v_j = 1
            for (int i = j + 1; i < m; i++)
            {
                double* row = pa + (nint)i * b;
                MultiplyAdd(sums, row[j], row + j + 1, row + j + 1, width);  // row += v_i · w
            }
        }
    }

    // destination[c] = fma(x[c], scale, addend[c]) for c < count: element by element, the same at any vector width.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe void MultiplyAdd(double* x, double scale, double* addend, double* destination, int count)
    {
        int c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<double> s = Vector512.Create(scale);
            for (; c + 8 <= count; c += 8) Vector512.FusedMultiplyAdd(Vector512.Load(x + c), s, Vector512.Load(addend + c)).Store(destination + c);
        }
        for (; c < count; c++) destination[c] = Math.FusedMultiplyAdd(x[c], scale, addend[c]);
    }

    // g (b, b) = xᵀ y for row-major blocks (m, b): row by row, each element one chain over the rows in order.
    private static unsafe void Gram(double[] x, double[] y, int m, int b, double[] g)
    {
        Array.Clear(g);
        fixed (double* px = x, py = y, pg = g)
            for (int j = 0; j < m; j++)
            {
                double* yj = py + (nint)j * b;
                for (int c = 0; c < b; c++)
                {
                    double xjc = px[(nint)j * b + c];
                    double* row = pg + (nint)c * b;
                    int d = 0;
                    if (Vector512.IsHardwareAccelerated)
                    {
                        Vector512<double> broadcast = Vector512.Create(xjc);
                        for (; d + 8 <= b; d += 8) Vector512.FusedMultiplyAdd(broadcast, Vector512.Load(yj + d), Vector512.Load(row + d)).Store(row + d);
                    }
                    for (; d < b; d++) row[d] = Math.FusedMultiplyAdd(xjc, yj[d], row[d]);
                }
            }
    }

    // y (rows, b) = x (rows, inner) · w (inner, b), all row-major: each element one fused multiply-add chain over inner in order.
    // On several threads each takes a range of rows (whole 4-row tiles, the odd rows with the last): the same chains.
    private static void Multiply(double[] x, int rows, int inner, double[] w, int b, double[] y, int threads)
    {
        int parts = Math.Min(threads, rows / 64);  // a part of at least 64 rows (about 1 MFLOP here) is worth a thread
        if (parts <= 1)
        {
            MultiplyRows(x, inner, w, b, y, 0, rows);
            return;
        }
        int tiles = rows / 4;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
        {
            int first = tiles * part / parts * 4, end = part == parts - 1 ? rows : tiles * (part + 1) / parts * 4;
            MultiplyRows(x, inner, w, b, y, first, end);
        });
    }

    // Rows [first, end) of Multiply; first is a multiple of 4.
    private static unsafe void MultiplyRows(double[] x, int inner, double[] w, int b, double[] y, int first, int end)
    {
        fixed (double* px = x, pw = w, py = y)
        {
            int i = first, rows = end;
            if (Vector512.IsHardwareAccelerated && b % 8 == 0)
            {
                // 4 rows x up to 4 vectors of 8 columns in registers, the row of x broadcast.
                for (; i + 4 <= rows; i += 4)
                    for (int c = 0; c < b; c += 32)
                        Tile(px + (nint)i * inner, inner, pw + c, b, py + (nint)i * b + c, Math.Min(4, (b - c) / 8));
            }
            for (; i < rows; i++)
            {
                double* row = py + (nint)i * b;
                new Span<double>(row, b).Clear();
                for (int j = 0; j < inner; j++)
                {
                    double xij = px[(nint)i * inner + j];
                    double* wj = pw + (nint)j * b;
                    for (int c = 0; c < b; c++) row[c] = Math.FusedMultiplyAdd(xij, wj[c], row[c]);
                }
            }
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile(double* x, int inner, double* w, int b, double* y, int vectors)
    {
        Vector512<double> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<double> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        double* x0 = x, x1 = x + inner, x2 = x + 2 * (nint)inner, x3 = x + 3 * (nint)inner;
        for (int j = 0; j < inner; j++, w += b)
        {
            Vector512<double> w0 = Vector512.Load(w), w1 = vectors > 1 ? Vector512.Load(w + 8) : default;
            Vector512<double> w2 = vectors > 2 ? Vector512.Load(w + 16) : default, w3 = vectors > 3 ? Vector512.Load(w + 24) : default;
            Vector512<double> a = Vector512.Create(x0[j]);
            c00 = Vector512.FusedMultiplyAdd(a, w0, c00); c01 = Vector512.FusedMultiplyAdd(a, w1, c01); c02 = Vector512.FusedMultiplyAdd(a, w2, c02); c03 = Vector512.FusedMultiplyAdd(a, w3, c03);
            a = Vector512.Create(x1[j]);
            c10 = Vector512.FusedMultiplyAdd(a, w0, c10); c11 = Vector512.FusedMultiplyAdd(a, w1, c11); c12 = Vector512.FusedMultiplyAdd(a, w2, c12); c13 = Vector512.FusedMultiplyAdd(a, w3, c13);
            a = Vector512.Create(x2[j]);
            c20 = Vector512.FusedMultiplyAdd(a, w0, c20); c21 = Vector512.FusedMultiplyAdd(a, w1, c21); c22 = Vector512.FusedMultiplyAdd(a, w2, c22); c23 = Vector512.FusedMultiplyAdd(a, w3, c23);
            a = Vector512.Create(x3[j]);
            c30 = Vector512.FusedMultiplyAdd(a, w0, c30); c31 = Vector512.FusedMultiplyAdd(a, w1, c31); c32 = Vector512.FusedMultiplyAdd(a, w2, c32); c33 = Vector512.FusedMultiplyAdd(a, w3, c33);
        }
        double* y1 = y + b, y2 = y + 2 * (nint)b, y3 = y + 3 * (nint)b;
        c00.Store(y); c10.Store(y1); c20.Store(y2); c30.Store(y3);
        if (vectors > 1) { c01.Store(y + 8); c11.Store(y1 + 8); c21.Store(y2 + 8); c31.Store(y3 + 8); }
        if (vectors > 2) { c02.Store(y + 16); c12.Store(y1 + 16); c22.Store(y2 + 16); c32.Store(y3 + 16); }
        if (vectors > 3) { c03.Store(y + 24); c13.Store(y1 + 24); c23.Store(y2 + 24); c33.Store(y3 + 24); }
    }
}
