// The tutorial's ConvAutoEncoder: Conv2d(1,3,5), Conv2d(3,5,5), ConvTranspose2d(5,3,5), ConvTranspose2d(3,1,5),
// stride 1, no padding, ReLU after each. 28x28 -> 24x24 -> 20x20 -> 24x24 -> 28x28.
using AeMnist.Layers;
using AeMnist.Tensors;

namespace AeMnist.Models;

// images (N, 1, 28, 28) -> encoder (N, 5, 20, 20) -> decoder (N, 1, 28, 28)
public sealed class ConvAutoEncoder : AutoEncoder
{
    private const int Side = 28;

    internal ConvAutoEncoder()
        : base(
            new Sequential(new Conv2d(1, 3, kernelSize: 5), new ReLU(), new Conv2d(3, 5, kernelSize: 5), new ReLU()),
            new Sequential(new ConvTranspose2d(5, 3, kernelSize: 5), new ReLU(), new ConvTranspose2d(3, 1, kernelSize: 5), new ReLU()),
            Side * Side)
    {
    }

    public override string Kind => "conv";

    public override TensorShape InputShape(int n) => new(n, 1, Side, Side);
}
