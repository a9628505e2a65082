// nn.BatchNorm2d / nn.BatchNorm1d on a channel-major tensor: a channel's N·H·W values are one contiguous row. Training
// normalises by the batch's mean and biased variance (two passes: the mean, then the centred squares, each a
// fixed-order row sum) and moves the running statistics by momentum towards the mean and unbiased variance; inference
// normalises by the running statistics. The whole batch is on the device, so its statistics are the batch's, as PyTorch's.
using AeMnist.Gpu.Kernels;
using ILGPU;

namespace AeMnist.Gpu.Layers;

// input (C, N, H, W), weight (C), bias (C); buffers running_mean (C), running_var (C), num_batches_tracked () -> output (C, N, H, W)
internal sealed class BatchNorm : Module
{
    private readonly Models.BatchNormSpec _spec;
    private readonly int _height, _width;
    private readonly ArrayView<float> _weight, _bias, _dWeight, _dBias, _runningMean, _runningVar, _numBatchesTracked;
    private readonly DeviceBuffer _xhat, _output, _dInput, _channels;
    private DeviceTensor _input;
    private bool _training;  // the last Forward normalised by the batch's statistics

    public BatchNorm(DeviceKernels kernels, DeviceMemory memory, Models.BatchNormSpec spec, Models.SampleShape input, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> dWeight, ArrayView<float> dBias, ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> numBatchesTracked) : base(kernels)
    {
        _spec = spec;
        (_height, _width) = (input.H, input.W);
        (_weight, _bias, _dWeight, _dBias) = (weight, bias, dWeight, dBias);
        (_runningMean, _runningVar, _numBatchesTracked) = (runningMean, runningVar, numBatchesTracked);
        _xhat = Buffer(memory);
        _output = Buffer(memory);
        _dInput = Buffer(memory);
        _channels = Buffer(memory);
    }

    private int C => _spec.NumFeatures;

    // Per-channel scratch: mean, variance, invStd, then Σdy, Σdy·xhat, their means.
    private ArrayView<float> Channel(int index) => _channels.Get(7L * C).SubView((long)index * C, C);

    public override DeviceTensor Forward(DeviceTensor input, bool training)
    {
        CheckShape(input, C, _height, _width, _spec.ToString());
        int length = input.Images * input.Plane;
        ArrayView<float> xhat = _xhat.Get((long)C * length), output = _output.Get((long)C * length);
        ArrayView<float> mean = Channel(0), variance = Channel(1), invStd = Channel(2);
        if (training)
        {
            Kernels.RowSums(input.Data, mean, C, length, scale: 1.0 / length);                   // mean = Σx / count
            Kernels.Center(input.Data, mean, xhat, C, length);                                 // xhat holds x - mean for now
            Kernels.RowSums(xhat, variance, C, length, scale: 1.0 / length, y: xhat);            // biased variance = Σ(x - mean)² / count
        }
        Kernels.Statistics(mean, variance, invStd, _runningMean, _runningVar, _numBatchesTracked, C, _spec.Eps, _spec.Momentum, length, training);
        Kernels.Normalize(training ? xhat : input.Data, mean, invStd, _weight, _bias, xhat, output, C, length, centered: training);
        _input = input;
        _training = training;
        return input with { Data = output };
    }

    public override DeviceTensor Backward(DeviceTensor dOutput, bool computeInputGradient)
    {
        if (!_training) throw new InvalidOperationException("BatchNorm.Backward after an inference Forward: the engine trains in training mode only.");
        int length = dOutput.Images * dOutput.Plane;
        ArrayView<float> xhat = _xhat.Get((long)C * length);
        ArrayView<float> sumDy = Channel(3), sumDyXhat = Channel(4), meanDy = Channel(5), meanDyXhat = Channel(6);
        Kernels.RowSums(dOutput.Data, sumDy, C, length);
        Kernels.RowSums(dOutput.Data, sumDyXhat, C, length, y: xhat);
        Kernels.GradientMeans(sumDy, sumDyXhat, _dWeight, _dBias, meanDy, meanDyXhat, C, length);  // dW += Σdy·xhat, db += Σdy
        if (!computeInputGradient) return default;
        ArrayView<float> dInput = _dInput.Get((long)C * length);
        Kernels.BatchNormBackward(dOutput.Data, xhat, meanDy, meanDyXhat, _weight, Channel(2), dInput, C, length);
        return _input with { Data = dInput };
    }
}
