// Reductions for bias gradients and the squared error, each with a naive twin.
// Sums run in a fixed order, so results repeat exactly; the fast and naive twins may differ in the last bits
// where TensorPrimitives sums across vector lanes.
using System.Numerics.Tensors;

namespace AeMnist.Tensors;

public static class Reductions
{
    // x (rows, cols) -> destination (cols)
    /// <summary>Effectively computes destination[j] += Σ_i x[i, j], adding rows in order (a Linear bias gradient).</summary>
    public static void SumRows(ReadOnlySpan<float> x, Span<float> destination, int rows)
    {
        Elementwise.CheckBlocks(x, rows, destination.Length, nameof(x));
        for (int i = 0; i < rows; i++)
            TensorPrimitives.Add(destination, x.Slice(i * destination.Length, destination.Length), destination);
    }

    /// <summary>Naive twin of <see cref="SumRows"/> (same order, so equal bit for bit).</summary>
    public static void SumRowsNaive(ReadOnlySpan<float> x, Span<float> destination, int rows)
    {
        Elementwise.CheckBlocks(x, rows, destination.Length, nameof(x));
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < destination.Length; j++) destination[j] += x[i * destination.Length + j];
    }

    // x (N, C, S) -> destination (C)
    /// <summary>Effectively computes destination[c] += Σ_{n,s} x[n, c, s] (a convolution's bias gradient).</summary>
    public static void SumChannels(ReadOnlySpan<float> x, Span<float> destination, int n, int spatial)
    {
        int channels = destination.Length;
        Elementwise.CheckBlocks(x, n * channels, spatial, nameof(x));
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
                destination[c] += TensorPrimitives.Sum(x.Slice((b * channels + c) * spatial, spatial));
    }

    /// <summary>Naive twin of <see cref="SumChannels"/>.</summary>
    public static void SumChannelsNaive(ReadOnlySpan<float> x, Span<float> destination, int n, int spatial)
    {
        int channels = destination.Length;
        Elementwise.CheckBlocks(x, n * channels, spatial, nameof(x));
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
            {
                float sum = 0f;
                for (int s = 0; s < spatial; s++) sum += x[(b * channels + c) * spatial + s];
                destination[c] += sum;
            }
    }

    // prediction (rows, cols), target (rows, cols) -> difference (rows, cols), rowSums (rows)
    /// <summary>
    /// Effectively computes difference = prediction - target and rowSums[i] = Σ_j difference[i, j]².
    /// Each row is reduced on its own, so a row's sum does not depend on the other rows.
    /// </summary>
    public static void SquaredErrorRows(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> difference, Span<float> rowSums)
    {
        CheckSquaredError(prediction, target, difference, rowSums, out int cols);
        TensorPrimitives.Subtract(prediction, target, difference);
        for (int i = 0; i < rowSums.Length; i++)
            rowSums[i] = TensorPrimitives.SumOfSquares(difference.Slice(i * cols, cols));
    }

    /// <summary>Naive twin of <see cref="SquaredErrorRows"/>.</summary>
    public static void SquaredErrorRowsNaive(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> difference, Span<float> rowSums)
    {
        CheckSquaredError(prediction, target, difference, rowSums, out int cols);
        for (int i = 0; i < rowSums.Length; i++)
        {
            float sum = 0f;
            for (int j = 0; j < cols; j++)
            {
                float d = prediction[i * cols + j] - target[i * cols + j];
                difference[i * cols + j] = d;
                sum += d * d;
            }
            rowSums[i] = sum;
        }
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
