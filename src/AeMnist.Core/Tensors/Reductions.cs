// Reductions for bias gradients and the squared error, each with a naive twin.
// Sums run in a fixed order, the same on every code path and vector width, so each fast kernel equals its naive
// twin bit for bit and results repeat exactly on any machine.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AeMnist.Tensors;

public static class Reductions
{
    private const int Lanes = 16;

    // x (rows, cols) -> destination (cols)
    /// <summary>Effectively computes destination[j] += Σ_i x[i, j], adding rows in order (a Linear bias gradient).</summary>
    public static void SumRows(ReadOnlySpan<float> x, Span<float> destination, int rows)
    {
        Elementwise.CheckBlocks(x, rows, destination.Length, nameof(x));
        for (int i = 0; i < rows; i++)
            Elementwise.AddInPlace(destination, x.Slice(i * destination.Length, destination.Length));
    }

    /// <summary>Naive twin of <see cref="SumRows"/> (same order, so equal bit for bit).</summary>
    public static void SumRowsNaive(ReadOnlySpan<float> x, Span<float> destination, int rows)
    {
        Elementwise.CheckBlocks(x, rows, destination.Length, nameof(x));
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < destination.Length; j++) destination[j] += x[i * destination.Length + j];
    }

    // x (N, C, S) -> destination (C)
    /// <summary>
    /// Effectively computes destination[c] += Σ_{n,s} x[n, c, s] (a convolution's bias gradient). Each (n, c) plane is
    /// summed in 16 interleaved lanes, reduced by a fixed tree, the tail added in order, then added to destination
    /// in n order: the same bits at every vector width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void SumChannels(ReadOnlySpan<float> x, Span<float> destination, int n, int spatial)
    {
        int channels = destination.Length;
        Elementwise.CheckBlocks(x, n * channels, spatial, nameof(x));
        if (!Vector512.IsHardwareAccelerated)
        {
            SumChannelsNaive(x, destination, n, spatial);
            return;
        }
        int body = spatial - spatial % Lanes;
        fixed (float* px = x)
            for (int b = 0; b < n; b++)
                for (int c = 0; c < channels; c++)
                {
                    float* plane = px + (nint)(b * channels + c) * spatial;
                    Vector512<float> lanes = Vector512<float>.Zero;
                    for (int s = 0; s < body; s += Lanes) lanes += Vector512.Load(plane + s);
                    float sum = ReduceLanes(lanes);
                    for (int s = body; s < spatial; s++) sum += plane[s];
                    destination[c] += sum;
                }
    }

    /// <summary>Naive twin of <see cref="SumChannels"/>, with the lanes and the reduction tree written out.</summary>
    public static void SumChannelsNaive(ReadOnlySpan<float> x, Span<float> destination, int n, int spatial)
    {
        int channels = destination.Length;
        Elementwise.CheckBlocks(x, n * channels, spatial, nameof(x));
        Span<float> lanes = stackalloc float[Lanes];
        int body = spatial - spatial % Lanes;
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
            {
                int plane = (b * channels + c) * spatial;
                lanes.Clear();
                for (int s = 0; s < body; s++) lanes[s % Lanes] += x[plane + s];
                for (int width = Lanes / 2; width >= 1; width /= 2)
                    for (int l = 0; l < width; l++) lanes[l] += lanes[l + width];
                float sum = lanes[0];
                for (int s = body; s < spatial; s++) sum += x[plane + s];
                destination[c] += sum;
            }
    }

    // The tree (l, l+8), (l, l+4), (l, l+2), (0, 1) over 16 lanes; shared by every kernel that sums in lanes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float ReduceLanes(Vector512<float> lanes)
    {
        Vector256<float> t8 = lanes.GetLower() + lanes.GetUpper();
        Vector128<float> t4 = t8.GetLower() + t8.GetUpper();
        Vector128<float> t2 = t4 + Vector128.Shuffle(t4, Vector128.Create(2, 3, 0, 1));
        return t2.GetElement(0) + t2.GetElement(1);
    }

    // prediction (rows, cols), target (rows, cols) -> difference (rows, cols), rowSums (rows)
    /// <summary>
    /// Effectively computes difference = prediction - target and rowSums[i] = Σ_j difference[i, j]², each row on its
    /// own in Gemm.RowDots's order (16 interleaved fused multiply-add lanes, a fixed tree, then the tail), so a row's
    /// sum depends neither on the other rows nor on the machine's vector width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void SquaredErrorRows(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> difference, Span<float> rowSums)
    {
        CheckSquaredError(prediction, target, difference, rowSums, out int cols);
        if (!Vector512.IsHardwareAccelerated)
        {
            SquaredErrorRowsNaive(prediction, target, difference, rowSums);
            return;
        }
        int body = cols - cols % Lanes;
        fixed (float* p = prediction, t = target, d = difference)
            for (int i = 0; i < rowSums.Length; i++)
            {
                float* pr = p + (nint)i * cols, tr = t + (nint)i * cols, dr = d + (nint)i * cols;
                Vector512<float> lanes = Vector512<float>.Zero;
                for (int j = 0; j < body; j += Lanes)
                {
                    Vector512<float> diff = Vector512.Load(pr + j) - Vector512.Load(tr + j);
                    diff.Store(dr + j);
                    lanes = Vector512.FusedMultiplyAdd(diff, diff, lanes);
                }
                float sum = ReduceLanes(lanes);
                for (int j = body; j < cols; j++)
                {
                    float diff = pr[j] - tr[j];
                    dr[j] = diff;
                    sum = MathF.FusedMultiplyAdd(diff, diff, sum);
                }
                rowSums[i] = sum;
            }
    }

    /// <summary>
    /// The per-image mean squared error, the one definition every engine and score gives to the bit: effectively
    /// destination[i] = (Σ_j (prediction[i, j] - target[i, j])²) / cols, the row sums of <see cref="SquaredErrorRows"/>
    /// (float, fixed lane order) divided in float. <paramref name="difference"/> is scratch of the inputs' length.
    /// </summary>
    public static void MeanSquaredErrorRows(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> difference, Span<float> destination)
    {
        SquaredErrorRows(prediction, target, difference, destination);
        int cols = destination.Length == 0 ? 0 : prediction.Length / destination.Length;
        for (int i = 0; i < destination.Length; i++) destination[i] /= cols;
    }

    /// <summary>Naive twin of <see cref="SquaredErrorRows"/>, with the lanes and the reduction tree written out.</summary>
    public static void SquaredErrorRowsNaive(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> difference, Span<float> rowSums)
    {
        CheckSquaredError(prediction, target, difference, rowSums, out int cols);
        Span<float> lanes = stackalloc float[Lanes];
        int body = cols - cols % Lanes;
        for (int i = 0; i < rowSums.Length; i++)
        {
            lanes.Clear();
            for (int j = 0; j < cols; j++) difference[i * cols + j] = prediction[i * cols + j] - target[i * cols + j];
            for (int j = 0; j < body; j++)
            {
                float diff = difference[i * cols + j];
                lanes[j % Lanes] = MathF.FusedMultiplyAdd(diff, diff, lanes[j % Lanes]);
            }
            for (int width = Lanes / 2; width >= 1; width /= 2)
                for (int l = 0; l < width; l++) lanes[l] += lanes[l + width];
            float sum = lanes[0];
            for (int j = body; j < cols; j++) sum = MathF.FusedMultiplyAdd(difference[i * cols + j], difference[i * cols + j], sum);
            rowSums[i] = sum;
        }
    }

    // prediction (R, L), target (R, L) lanes tensors (Lanes) -> gradient (R, L), rowSums (n)
    /// <summary>
    /// The squared error and its gradient on lanes tensors, as the rows would give them: effectively computes, for each of the
    /// first n lanes (samples) j, rowSums[j] = Σ_k (prediction[d(k), j] − target[d(k), j])² over the sample's R values k in
    /// rows order (d(k) = <paramref name="order"/>[k], or k when it is empty: Lanes.ToRows's map), in exactly
    /// <see cref="SquaredErrorRows"/>'s order, and gradient[r, j] = (prediction[r, j] − target[r, j]) · scale, 0 in the padding
    /// lanes: Lanes.ToRows, SquaredErrorRows, Elementwise.Scale and Lanes.FromRows to the bit, without the two relayouts.
    /// </summary>
    /// <remarks>
    /// Sixteen samples at a time: SquaredErrorRows's 16 lanes of partial sums (value k to lane k mod 16) become 16
    /// vectors, one sample a lane, and its tree (l, l+8), (l, l+4), (l, l+2), (0, 1) runs across them.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void SquaredErrorLanes(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, int n, ReadOnlySpan<int> order, float scale,
        Span<float> gradient, Span<float> rowSums)
    {
        int length = CheckSquaredErrorLanes(prediction, target, n, order, gradient, rowSums, out int lanes);
        // Vector512 on every machine (emulated without AVX-512: each lane's operations and fused multiply-adds are the same),
        // so the bits never depend on the vector width.
        int body = length - length % Lanes;
        Vector512<float> factor = Vector512.Create(scale);
        fixed (float* p = prediction, t = target, g = gradient, sums = rowSums)
        fixed (int* map = order)
            for (int v = 0; v < lanes; v += Lanes)
            {
                Vector512<float> valid = Vector512.LessThan(Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create((float)(n - v)));
                var at = new LanesError(p + v, t + v, g + v, map, lanes, factor, valid);
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                Vector512<float> a8 = default, a9 = default, a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
                for (int k = 0; k < body; k += Lanes)
                {
                    a0 = at.Add(k, a0); a1 = at.Add(k + 1, a1); a2 = at.Add(k + 2, a2); a3 = at.Add(k + 3, a3);
                    a4 = at.Add(k + 4, a4); a5 = at.Add(k + 5, a5); a6 = at.Add(k + 6, a6); a7 = at.Add(k + 7, a7);
                    a8 = at.Add(k + 8, a8); a9 = at.Add(k + 9, a9); a10 = at.Add(k + 10, a10); a11 = at.Add(k + 11, a11);
                    a12 = at.Add(k + 12, a12); a13 = at.Add(k + 13, a13); a14 = at.Add(k + 14, a14); a15 = at.Add(k + 15, a15);
                }
                a0 += a8; a1 += a9; a2 += a10; a3 += a11; a4 += a12; a5 += a13; a6 += a14; a7 += a15;
                a0 += a4; a1 += a5; a2 += a6; a3 += a7;
                a0 += a2; a1 += a3;
                Vector512<float> sum = a0 + a1;
                for (int k = body; k < length; k++) sum = at.Add(k, sum);
                for (int j = 0; j < Lanes && v + j < n; j++) sums[v + j] = sum.GetElement(j);
            }
    }

    // One value of sixteen samples: the gradient stored (zero in the padding lanes) and the square added to a partial sum.
    private readonly unsafe struct LanesError(float* prediction, float* target, float* gradient, int* map, int lanes, Vector512<float> factor, Vector512<float> valid)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Add(int k, Vector512<float> partial)
        {
            nint row = (nint)(map is null ? k : map[k]) * lanes;
            Vector512<float> difference = Vector512.Load(prediction + row) - Vector512.Load(target + row);
            ((difference * factor) & valid).Store(gradient + row);
            return Vector512.FusedMultiplyAdd(difference, difference, partial);
        }
    }

    /// <summary>Naive twin of <see cref="SquaredErrorLanes"/>: the relayouts and row kernels it stands for, written out.</summary>
    public static void SquaredErrorLanesNaive(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, int n, ReadOnlySpan<int> order, float scale,
        Span<float> gradient, Span<float> rowSums)
    {
        int length = CheckSquaredErrorLanes(prediction, target, n, order, gradient, rowSums, out _);
        float[] p = new float[n * length], t = new float[n * length], difference = new float[n * length];
        Tensors.Lanes.ToRowsNaive(prediction, n, length, p, order);
        Tensors.Lanes.ToRowsNaive(target, n, length, t, order);
        SquaredErrorRowsNaive(p, t, difference, rowSums);
        for (int i = 0; i < difference.Length; i++) difference[i] *= scale;
        Tensors.Lanes.FromRowsNaive(difference, n, length, gradient, order);
    }

    private static int CheckSquaredErrorLanes(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, int n, ReadOnlySpan<int> order,
        ReadOnlySpan<float> gradient, ReadOnlySpan<float> rowSums, out int lanes)
    {
        lanes = Tensors.Lanes.Padded(n);
        if (n < 1 || rowSums.Length != n)
            throw new ArgumentException($"SquaredErrorLanes needs n >= 1 samples and n row sums, got n={n} and {rowSums.Length}.", nameof(rowSums));
        Elementwise.CheckSameLength(prediction, target, nameof(target));
        Elementwise.CheckSameLength(prediction, gradient, nameof(gradient));
        if (prediction.Length % lanes != 0)
            throw new ArgumentException($"prediction has {prediction.Length} elements, not whole rows of {lanes} lanes.", nameof(prediction));
        int length = prediction.Length / lanes;
        Tensors.Lanes.CheckOrder(order, length);
        return length;
    }

    private static void CheckSquaredError(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, ReadOnlySpan<float> difference, ReadOnlySpan<float> rowSums, out int cols)
    {
        Elementwise.CheckSameLength(prediction, target, nameof(target));
        Elementwise.CheckSameLength(prediction, difference, nameof(difference));
        if (rowSums.Length == 0)
        {
            if (prediction.Length != 0) throw new ArgumentException("rowSums is empty but prediction is not.", nameof(rowSums));
            cols = 0;
            return;
        }
        if (prediction.Length % rowSums.Length != 0)
            throw new ArgumentException($"prediction has {prediction.Length} elements, not a multiple of {rowSums.Length} rows.", nameof(rowSums));
        cols = prediction.Length / rowSums.Length;
    }
}
