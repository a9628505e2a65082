// The losses the engine computes on the device, selected by value: today MSE (nn.MSELoss(), the mean over every
// element of the batch). A loss gives per-image sums (the trainer's loss and the per-image errors come from them) and
// the gradient with respect to the prediction; the model and the layers know nothing else about it.
using AeMnist.Gpu.Kernels;
using AeMnist.Gpu.Layers;
using ILGPU;

namespace AeMnist.Gpu;

/// <summary>A loss the ilgpu engine computes.</summary>
public enum LossKind
{
    /// <summary>Mean squared error over every element (nn.MSELoss()).</summary>
    Mse,
}

internal static class Loss
{
    // prediction (C, N, P), target (C, N, P) -> perImage (N), dPrediction (C, N, P)
    /// <summary>
    /// Per-image sums of the loss into <paramref name="perImage"/> and, when <paramref name="dPrediction"/> is valid, the gradient
    /// of the batch's loss, whose mean runs over <paramref name="batchLength"/> elements.
    /// </summary>
    public static void Forward(DeviceKernels kernels, LossKind kind, DeviceTensor prediction, ArrayView<float> target, ArrayView<float> perImage,
        ArrayView<float> dPrediction = default, long batchLength = 1)
    {
        switch (kind)
        {
            case LossKind.Mse:
                // d/dprediction of mean((prediction - target)²) = (prediction - target)·2/numel, as PyTorch's mse_loss_backward.
                kernels.SquaredErrorPerImage(prediction.Data, target, perImage, prediction.Channels, prediction.Images, prediction.Plane,
                    dPrediction, (float)(2.0 / batchLength));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown loss.");
        }
    }

    /// <summary>The batch's loss from its per-image sums: their total (in double, in image order) over the element count.</summary>
    public static float Reduce(LossKind kind, ReadOnlySpan<float> perImage, long batchLength)
    {
        double total = 0;
        foreach (float sum in perImage) total += sum;
        return kind == LossKind.Mse ? (float)(total / batchLength) : throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown loss.");
    }
}
