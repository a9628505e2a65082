// Sums on the device in a fixed order: each group reduces one chunk of one row, every thread adding a strided subset in
// order and then a tree in shared memory; a second kernel adds a row's chunk sums in chunk order. No atomics, so the
// same input gives the same bits every time on one device (the tree's shape follows the group size, a device constant).
// Row sums (batch norm's statistics and gradient sums, bias gradients) add in double, as the native engine does: a
// batch norm's gradient is a small difference of such sums.
using ILGPU;

namespace AeMnist.Gpu.Kernels;

public static class ReductionKernels
{
    // x (R, L) [, y (R, L)] -> partials (R, chunks); group (T) with T a power of two, T doubles of shared memory; group x takes items x, x + grid, ...
    /// <summary>Effectively computes partials[r, p] = Σ_{j in chunk p} x[r, j] (or x[r, j]·y[r, j] when <paramref name="product"/> is 1).</summary>
    public static void RowChunkSums(ArrayView<float> x, ArrayView<float> y, ArrayView<double> partials, int length, int chunk, int product, int rows, int chunks)
    {
        for (int item = Grid.IdxX; item < rows * chunks; item += Grid.DimX)
            RowChunk(x, y, partials, length, chunk, product, item / chunks, item % chunks, chunks);
    }

    private static void RowChunk(ArrayView<float> x, ArrayView<float> y, ArrayView<double> partials, int length, int chunk, int product, int row, int part, int chunks)
    {
        ArrayView<double> shared = SharedMemory.GetDynamic<double>();
        int t = Group.IdxX, threads = Group.DimX;
        int start = part * chunk;
        int end = start + chunk < length ? start + chunk : length;
        int rowStart = row * length;
        double sum = 0;
        for (int j = start + t; j < end; j += threads)
            sum += product != 0 ? (double)x[rowStart + j] * y[rowStart + j] : x[rowStart + j];
        shared[t] = sum;
        Group.Barrier();
        for (int s = threads / 2; s > 0; s /= 2)
        {
            if (t < s) shared[t] += shared[t + s];
            Group.Barrier();
        }
        if (t == 0) partials[row * chunks + part] = shared[0];
        Group.Barrier();  // shared memory is reused by the group's next item
    }

    // partials (R, chunks) -> destination (R)
    /// <summary>Effectively computes destination[r] = [destination[r] +] scale·Σ_p partials[r, p], p in increasing order.</summary>
    public static void FinishRows(ArrayView<double> partials, ArrayView<float> destination, int chunks, double scale, int accumulate, int rows, int block)
    {
        for (int first = ElementLoop.First(block); first < rows; first += ElementLoop.Step(block))
            for (int row = first, last = ElementLoop.Last(first, block, rows); row < last; row++)
            {
                double sum = 0;
                for (int p = 0; p < chunks; p++) sum += partials[row * chunks + p];
                float value = (float)(sum * scale);
                destination[row] = accumulate != 0 ? destination[row] + value : value;
            }
    }

    // x (R, L) -> destination (R)
    /// <summary>Naive twin of <see cref="RowChunkSums"/> + <see cref="FinishRows"/>: one thread adds a row in order, in double.</summary>
    public static void RowSumsNaive(Index1D row, ArrayView<float> x, ArrayView<float> destination, int length)
    {
        double sum = 0;
        for (int j = 0; j < length; j++) sum += x[row * length + j];
        destination[row] = (float)sum;
    }

    // prediction (C, N, P), target (C, N, P) -> sums (N), dPrediction (C, N, P); group (T), T doubles of shared memory; group x takes images x, x + grid, ...
    /// <summary>
    /// Per image n: sums[n] = Σ_{c, p} (prediction - target)², and when <paramref name="writeGradient"/> is 1 also
    /// dPrediction = (prediction - target)·<paramref name="gradientScale"/> (MSE's gradient is 2/numel times the difference).
    /// </summary>
    public static void SquaredErrorPerImage(ArrayView<float> prediction, ArrayView<float> target, ArrayView<float> dPrediction, ArrayView<float> sums,
        int channels, int images, int plane, float gradientScale, int writeGradient)
    {
        for (int n = Grid.IdxX; n < images; n += Grid.DimX) SquaredErrorOfImage(prediction, target, dPrediction, sums, channels, images, plane, gradientScale, writeGradient, n);
    }

    private static void SquaredErrorOfImage(ArrayView<float> prediction, ArrayView<float> target, ArrayView<float> dPrediction, ArrayView<float> sums,
        int channels, int images, int plane, float gradientScale, int writeGradient, int n)
    {
        ArrayView<double> shared = SharedMemory.GetDynamic<double>();
        int t = Group.IdxX, threads = Group.DimX;
        int perImage = channels * plane;
        double sum = 0;
        for (int j = t; j < perImage; j += threads)
        {
            int c = j / plane, p = j - c * plane;
            int index = (c * images + n) * plane + p;
            float difference = prediction[index] - target[index];
            if (writeGradient != 0) dPrediction[index] = difference * gradientScale;
            sum += (double)difference * difference;
        }
        shared[t] = sum;
        Group.Barrier();
        for (int s = threads / 2; s > 0; s /= 2)
        {
            if (t < s) shared[t] += shared[t + s];
            Group.Barrier();
        }
        if (t == 0) sums[n] = (float)shared[0];
        Group.Barrier();  // shared memory is reused by the group's next image
    }
}
