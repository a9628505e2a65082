// What every layer of the ilgpu engine is: Forward and Backward over channel-major device tensors, its parameters as
// views into the model's flat buffers, its activations in device buffers sized by the largest batch seen.
using AeMnist.Gpu.Kernels;
using ILGPU;

namespace AeMnist.Gpu.Layers;

/// <summary>An activation on the device, channel-major: (Channels, Images, Height·Width); a vector of F features is (F, N, 1, 1).</summary>
internal readonly record struct DeviceTensor(ArrayView<float> Data, int Channels, int Images, int Height, int Width)
{
    public int Plane => Height * Width;

    public int Length => Channels * Images * Plane;
}

// input (C, N, H, W) -> output (C', N, H', W')
internal abstract class Module(DeviceKernels kernels) : IDisposable
{
    private readonly List<DeviceBuffer> _buffers = [];

    protected DeviceKernels Kernels { get; } = kernels;

    /// <summary>
    /// The layer's output. <paramref name="training"/>: batch norm uses the batch's statistics and moves its running
    /// ones, and the layer keeps what Backward needs; otherwise (inference) the running statistics.
    /// </summary>
    public abstract DeviceTensor Forward(DeviceTensor input, bool training);

    /// <summary>Adds this batch's parameter gradients (+=) and returns dInput (not computed for the first layer).</summary>
    public abstract DeviceTensor Backward(DeviceTensor dOutput, bool computeInputGradient);

    /// <summary>A device buffer the layer owns (released with it).</summary>
    protected DeviceBuffer Buffer(DeviceMemory memory)
    {
        var buffer = new DeviceBuffer(memory);
        _buffers.Add(buffer);
        return buffer;
    }

    public void Dispose()
    {
        foreach (DeviceBuffer buffer in _buffers) buffer.Dispose();
    }

    protected static void CheckShape(DeviceTensor tensor, int channels, int height, int width, string layer)
    {
        if (tensor.Channels != channels || tensor.Height != height || tensor.Width != width)
            throw new ArgumentException($"{layer} expects ({channels}, {height}, {width}) per image, got ({tensor.Channels}, {tensor.Height}, {tensor.Width}).");
    }
}
