// A spec's layers on the device: one switch from LayerSpec to layer, each reading its parameters' views by state-dict
// name. Forward runs the first k layers (the encoder for codes, all for reconstructions); Backward runs all in reverse.
using AeMnist.Gpu.Kernels;
using AeMnist.Gpu.Layers;
using AeMnist.Models;

namespace AeMnist.Gpu;

internal sealed class Network : IDisposable
{
    private readonly Module[] _layers;

    public Network(ModelSpec spec, DeviceKernels kernels, DeviceMemory memory, DeviceParameters p)
    {
        var layers = new List<Module>();
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            LayerSpec layer = spec.Layers[i];
            string name = spec.LayerName(i) + ".";
            SampleShape input = spec.Shapes[i];
            layers.Add(layer switch
            {
                LinearSpec l => new Linear(kernels, memory, l.InFeatures, l.OutFeatures, p.Value(name + "weight"), p.Value(name + "bias"),
                    p.Gradient(name + "weight"), p.Gradient(name + "bias")),
                Conv2dSpec c => new Conv2d(kernels, memory, c, input, p.Value(name + "weight"), p.Value(name + "bias"), p.Gradient(name + "weight"), p.Gradient(name + "bias")),
                ConvTranspose2dSpec t => new ConvTranspose2d(kernels, memory, t, input, p.Value(name + "weight"), p.Value(name + "bias"),
                    p.Gradient(name + "weight"), p.Gradient(name + "bias")),
                BatchNormSpec b => new BatchNorm(kernels, memory, b, input, p.Value(name + "weight"), p.Value(name + "bias"), p.Gradient(name + "weight"),
                    p.Gradient(name + "bias"), p.Value(name + "running_mean"), p.Value(name + "running_var"), p.Value(name + "num_batches_tracked")),
                ReLUSpec => new ReLU(kernels, memory),
                SigmoidSpec => new Sigmoid(kernels, memory),
                FlattenSpec => new Flatten(kernels, memory, input, inverse: false),
                UnflattenSpec => new Flatten(kernels, memory, spec.Shapes[i + 1], inverse: true),
                _ => throw new NotSupportedException($"The ilgpu engine has no implementation of {layer} ({layer.GetType().Name}); add it to AeMnist.Gpu's Network."),
            });
        }
        _layers = [.. layers];
    }

    /// <summary>Layers 0 .. <paramref name="count"/> - 1 on <paramref name="x"/>.</summary>
    public DeviceTensor Forward(DeviceTensor x, bool training, int count)
    {
        for (int i = 0; i < count; i++) x = _layers[i].Forward(x, training);
        return x;
    }

    /// <summary>Every layer backwards from the loss's gradient; the first layer computes no input gradient.</summary>
    public void Backward(DeviceTensor dOutput)
    {
        for (int i = _layers.Length - 1; i >= 0; i--) dOutput = _layers[i].Backward(dOutput, computeInputGradient: i > 0);
    }

    public void Dispose()
    {
        foreach (Module layer in _layers) layer.Dispose();
    }
}
