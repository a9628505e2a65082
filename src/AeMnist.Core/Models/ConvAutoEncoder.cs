// The tutorial's ConvAutoEncoder: Conv2d(1,3,5), Conv2d(3,5,5), ConvTranspose2d(5,3,5), ConvTranspose2d(3,1,5),
// stride 1, no padding, ReLU after each. 28x28 -> 24x24 -> 20x20 -> 24x24 -> 28x28.
using static AeMnist.Models.Layers;

namespace AeMnist.Models;

// images (1, 28, 28) -> encoder (5, 20, 20) -> decoder (1, 28, 28)
public sealed class ConvAutoEncoder : Architecture
{
    public override string Name => "conv";

    public override string Summary => "the tutorial's ConvAutoEncoder: Conv2d 1→3→5, ConvTranspose2d 5→3→1, 5x5 kernels, ReLU after each";

    protected override ModelSpec Build(ArchitectureSettings settings) => new(this, settings, new SampleShape(1, 28, 28),
        encoder: [Conv2d(1, 3, kernelSize: 5), ReLU(), Conv2d(3, 5, kernelSize: 5), ReLU()],
        decoder: [ConvTranspose2d(5, 3, kernelSize: 5), ReLU(), ConvTranspose2d(3, 1, kernelSize: 5), ReLU()]);
}
