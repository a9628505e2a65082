// Batch normalisation's element-wise and per-channel steps on a channel-major tensor (C, L), L = N·H·W: a channel's
// values are one contiguous row, so its sums are the fixed-order row sums of ReductionKernels. The per-channel steps
// (statistics, running statistics, gradient means) run in double, as the native engine computes them.
using ILGPU;

namespace AeMnist.Gpu.Kernels;

public static class BatchNormKernels
{
    // x (C, L), mean (C) -> centered (C, L)
    /// <summary>centered[c, j] = x[c, j] - mean[c].</summary>
    public static void Center(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> centered, int rowLength, int length, int block)
    {
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++) centered[i] = x[i] - mean[i / rowLength];
    }

    // mean (C), variance (C), running_mean (C), running_var (C), num_batches_tracked () -> invStd (C)
    /// <summary>
    /// Training (<paramref name="training"/> 1): invStd = 1/sqrt(variance + eps) of the batch's biased variance, and the running
    /// statistics move by momentum towards the batch's mean and unbiased variance (num_batches_tracked += 1, by channel 0).
    /// Evaluation (0): mean = running_mean and invStd = 1/sqrt(running_var + eps).
    /// </summary>
    public static void Statistics(ArrayView<float> mean, ArrayView<float> variance, ArrayView<float> invStd,
        ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> numBatchesTracked, double eps, double momentum, int count, int training,
        int channels, int block)
    {
        for (int first = ElementLoop.First(block); first < channels; first += ElementLoop.Step(block))
            for (int c = first, last = ElementLoop.Last(first, block, channels); c < last; c++)
                StatisticsOne(c, mean, variance, invStd, runningMean, runningVar, numBatchesTracked, eps, momentum, count, training);
    }

    private static void StatisticsOne(int c, ArrayView<float> mean, ArrayView<float> variance, ArrayView<float> invStd,
        ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> numBatchesTracked, double eps, double momentum, int count, int training)
    {
        if (training == 0)
        {
            mean[c] = runningMean[c];
            invStd[c] = (float)(1.0 / Math.Sqrt(runningVar[c] + eps));
            return;
        }
        double v = variance[c];
        invStd[c] = (float)(1.0 / Math.Sqrt(v + eps));
        double unbias = count > 1 ? count / (double)(count - 1) : 1.0;
        runningMean[c] = (float)((1 - momentum) * runningMean[c] + momentum * mean[c]);
        runningVar[c] = (float)((1 - momentum) * runningVar[c] + momentum * v * unbias);
        if (c == 0) numBatchesTracked[0] += 1f;
    }

    // x (C, L), mean (C), invStd (C), weight (C), bias (C) -> xhat (C, L), y (C, L)
    /// <summary>xhat = (x - mean[c])·invStd[c] (x already centred when <paramref name="centered"/> is 1), y = xhat·weight[c] + bias[c].</summary>
    public static void Normalize(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> xhat, ArrayView<float> y, int rowLength, int centered, int length, int block)
    {
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++)
            {
                int c = i / rowLength;
                float h = (centered != 0 ? x[i] : x[i] - mean[c]) * invStd[c];
                xhat[i] = h;
                y[i] = h * weight[c] + bias[c];
            }
    }

    // sumDy (C), sumDyXhat (C) -> dWeight (C) +=, dBias (C) +=, meanDy (C), meanDyXhat (C)
    /// <summary>dWeight += Σ dy·xhat, dBias += Σ dy; the means of both over the count values of a channel.</summary>
    public static void GradientMeans(ArrayView<float> sumDy, ArrayView<float> sumDyXhat, ArrayView<float> dWeight, ArrayView<float> dBias,
        ArrayView<float> meanDy, ArrayView<float> meanDyXhat, int count, int channels, int block)
    {
        for (int first = ElementLoop.First(block); first < channels; first += ElementLoop.Step(block))
            for (int c = first, last = ElementLoop.Last(first, block, channels); c < last; c++)
            {
                dWeight[c] += sumDyXhat[c];
                dBias[c] += sumDy[c];
                meanDy[c] = (float)(sumDy[c] / (double)count);
                meanDyXhat[c] = (float)(sumDyXhat[c] / (double)count);
            }
    }

    // dy (C, L), xhat (C, L) -> dx (C, L)
    /// <summary>dx = (dy - meanDy[c] - xhat·meanDyXhat[c])·weight[c]·invStd[c]: the input gradient through the batch's statistics.</summary>
    public static void Backward(ArrayView<float> dy, ArrayView<float> xhat, ArrayView<float> meanDy, ArrayView<float> meanDyXhat,
        ArrayView<float> weight, ArrayView<float> invStd, ArrayView<float> dx, int rowLength, int length, int block)
    {
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++)
            {
                int c = i / rowLength;
                float scale = weight[c] * invStd[c];
                dx[i] = (dy[i] - meanDy[c] - xhat[i] * meanDyXhat[c]) * scale;
            }
    }
}
