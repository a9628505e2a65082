// nn.Sigmoid: 1 / (1 + exp(-x)); the output is kept, since the gradient is dy·(1 - y)·y.
using AeMnist.Gpu.Kernels;
using ILGPU;

namespace AeMnist.Gpu.Layers;

// input (C, N, H, W) -> output (C, N, H, W)
internal sealed class Sigmoid : Module
{
    private readonly DeviceBuffer _output, _dInput;
    private DeviceTensor _result;  // Forward's output, kept for Backward

    public Sigmoid(DeviceKernels kernels, DeviceMemory memory) : base(kernels)
    {
        _output = Buffer(memory);
        _dInput = Buffer(memory);
    }

    public override DeviceTensor Forward(DeviceTensor input, bool training)
    {
        ArrayView<float> output = _output.Get(input.Length);
        Kernels.Sigmoid(input.Data, output, input.Length);
        return _result = input with { Data = output };
    }

    public override DeviceTensor Backward(DeviceTensor dOutput, bool computeInputGradient)
    {
        if (!computeInputGradient) return default;
        ArrayView<float> dInput = _dInput.Get(dOutput.Length);
        Kernels.SigmoidBackward(_result.Data, dOutput.Data, dInput, dOutput.Length);
        return dOutput with { Data = dInput };
    }
}
