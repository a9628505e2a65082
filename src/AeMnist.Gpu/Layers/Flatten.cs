// nn.Flatten and nn.Unflatten(1, (C, H, W)): per image the same values in PyTorch's (C, H, W) order, so on the
// channel-major layout they are a permutation, (C, N, H·W) <-> (C·H·W, N). A flatten of vectors moves nothing.
using AeMnist.Gpu.Kernels;
using ILGPU;

namespace AeMnist.Gpu.Layers;

// Flatten: input (C, N, H, W) -> output (C*H*W, N); Unflatten: input (C*H*W, N) -> output (C, N, H, W)
internal sealed class Flatten : Module
{
    private readonly Models.SampleShape _unflattened;
    private readonly bool _inverse;
    private readonly DeviceBuffer _output, _dInput;

    /// <summary><paramref name="unflattened"/>: the (C, H, W) side; <paramref name="inverse"/>: this is an Unflatten.</summary>
    public Flatten(DeviceKernels kernels, DeviceMemory memory, Models.SampleShape unflattened, bool inverse) : base(kernels)
    {
        _unflattened = unflattened;
        _inverse = inverse;
        _output = Buffer(memory);
        _dInput = Buffer(memory);
    }

    public override DeviceTensor Forward(DeviceTensor input, bool training) => Move(input, _output, _inverse);

    public override DeviceTensor Backward(DeviceTensor dOutput, bool computeInputGradient) =>
        computeInputGradient ? Move(dOutput, _dInput, !_inverse) : default;

    // flatten: (C, N, P) -> (C*P, N); unflatten: back.
    private DeviceTensor Move(DeviceTensor x, DeviceBuffer buffer, bool unflatten)
    {
        int n = x.Images;
        var flat = new DeviceTensor(default, _unflattened.Length, n, 1, 1);
        var shaped = new DeviceTensor(default, _unflattened.C, n, _unflattened.H, _unflattened.W);
        if (_unflattened.IsVector) return (unflatten ? shaped : flat) with { Data = x.Data };
        ArrayView<float> output = buffer.Get(x.Length);
        Kernels.Flatten(x.Data, output, _unflattened.C, n, _unflattened.H * _unflattened.W, unflatten);
        return (unflatten ? shaped : flat) with { Data = output };
    }
}
