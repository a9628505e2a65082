// nn.Linear on a channel-major batch: the batch's features are the columns of one (In, N) matrix, so forward and both
// gradients are one GEMM each. The weight gradient's sum over the batch may be split (fixed-order chunks).
using AeMnist.Gpu.Kernels;
using ILGPU;

namespace AeMnist.Gpu.Layers;

// input (In, N), weight (Out, In), bias (Out) -> output (Out, N)
internal sealed class Linear : Module
{
    private readonly ArrayView<float> _weight, _bias, _dWeight, _dBias;
    private readonly DeviceBuffer _output, _dInput;
    private DeviceTensor _input;  // Forward's input, kept for the weight gradient

    public Linear(DeviceKernels kernels, DeviceMemory memory, int inFeatures, int outFeatures, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> dWeight, ArrayView<float> dBias) : base(kernels)
    {
        (InFeatures, OutFeatures) = (inFeatures, outFeatures);
        (_weight, _bias, _dWeight, _dBias) = (weight, bias, dWeight, dBias);
        _output = Buffer(memory);
        _dInput = Buffer(memory);
    }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    public override DeviceTensor Forward(DeviceTensor input, bool training)
    {
        CheckShape(input, InFeatures, 1, 1, $"Linear({InFeatures}, {OutFeatures})");
        int n = input.Images;
        ArrayView<float> output = _output.Get((long)OutFeatures * n);
        Kernels.Gemm(_weight, input.Data, output, OutFeatures, n, InFeatures, bias: _bias);  // Y = W·X + b
        _input = input;
        return new DeviceTensor(output, OutFeatures, n, 1, 1);
    }

    public override DeviceTensor Backward(DeviceTensor dOutput, bool computeInputGradient)
    {
        int n = dOutput.Images;
        Kernels.Gemm(dOutput.Data, _input.Data, _dWeight, OutFeatures, InFeatures, n, transposeB: true, accumulate: true, splitK: true);  // dW += dY·Xᵀ
        Kernels.RowSums(dOutput.Data, _dBias, OutFeatures, n, accumulate: true);                                                       // db += Σ_n dY
        if (!computeInputGradient) return default;
        ArrayView<float> dInput = _dInput.Get((long)InFeatures * n);
        Kernels.Gemm(_weight, dOutput.Data, dInput, InFeatures, n, OutFeatures, transposeA: true);                                      // dX = Wᵀ·dY
        return new DeviceTensor(dInput, InFeatures, n, 1, 1);
    }
}
