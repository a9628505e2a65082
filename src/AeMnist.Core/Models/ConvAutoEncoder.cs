// The tutorial's ConvAutoEncoder: Conv2d(1,3,5), Conv2d(3,5,5), ConvTranspose2d(5,3,5), ConvTranspose2d(3,1,5),
// stride 1, no padding, ReLU after each. 28x28 -> 24x24 -> 20x20 -> 24x24 -> 28x28. Images of C channels take
// Conv2d(C,3,5) and give back ConvTranspose2d(3,C,5); any height and width of at least 9.
using AeMnist.Tensors;
using static AeMnist.Models.Layers;

namespace AeMnist.Models;

// images (C, H, W) -> encoder (5, H - 8, W - 8) -> decoder (C, H, W)
public sealed class ConvAutoEncoder : Architecture
{
    public override string Name => "conv";

    public override string Summary => "the tutorial's ConvAutoEncoder: Conv2d 1→3→5, ConvTranspose2d 5→3→1, 5x5 kernels, ReLU after each";

    public override void CheckImage(ImageShape image)
    {
        base.CheckImage(image);
        if (image.Height < 9 || image.Width < 9)
            throw new ArgumentException($"the {Name} model needs images of at least 9x9 (two 5x5 convolutions without padding); these are {image}: resize them with --size");
    }

    protected override ModelSpec Build(ArchitectureSettings settings, ImageShape image) => new(this, settings, new SampleShape(image.Channels, image.Height, image.Width),
        encoder: [Conv2d(image.Channels, 3, kernelSize: 5), ReLU(), Conv2d(3, 5, kernelSize: 5), ReLU()],
        decoder: [ConvTranspose2d(5, 3, kernelSize: 5), ReLU(), ConvTranspose2d(3, image.Channels, kernelSize: 5), ReLU()]);

    /// <summary>The input channels from encoder.0.weight (3, C, 5, 5); the size MNIST's.</summary>
    public override ImageShape? ImageFromShapes(IReadOnlyDictionary<string, int[]> shapes) =>
        shapes.TryGetValue("encoder.0.weight", out int[]? w) && w.Length == 4 ? ImageShape.Mnist with { Channels = w[1] } : null;
}
