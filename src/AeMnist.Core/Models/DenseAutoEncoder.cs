// The tutorial's AutoEncoder(784, 64, 32), generalised to any list of hidden sizes and any image (its C·H·W values
// flattened); ReLU after every Linear, the last one included. State dict: encoder.{2i}.weight/bias and decoder.{2i}.weight/bias.
using AeMnist.Tensors;
using static AeMnist.Models.Layers;

namespace AeMnist.Models;

// images (C·H·W; 784 for MNIST) -> encoder (hidden[^1]) -> decoder (C·H·W)
public sealed class DenseAutoEncoder : Architecture
{
    public static readonly ArchitectureOption Hidden = new("hidden", "SIZES", "Dense hidden layer sizes, comma-separated", [64, 32], IsList: true);

    public override string Name => "dense";

    public override string Summary => "the tutorial's AutoEncoder(784, 64, 32): Linear + ReLU 784 (any image's C·H·W values) → hidden... → 784";

    public override IReadOnlyList<ArchitectureOption> Options => [Hidden];

    protected override ModelSpec Build(ArchitectureSettings settings, ImageShape image)
    {
        int pixels = image.Length;
        int[] sizes = [pixels, .. settings[Hidden]];
        var encoder = new List<LayerSpec>();
        var decoder = new List<LayerSpec>();
        for (int i = 0; i + 1 < sizes.Length; i++)
            encoder.AddRange([Linear(sizes[i], sizes[i + 1]), ReLU()]);
        for (int i = sizes.Length - 1; i > 0; i--)
            decoder.AddRange([Linear(sizes[i], sizes[i - 1]), ReLU()]);
        return new ModelSpec(this, settings, SampleShape.Vector(pixels), encoder, decoder, image);
    }

    /// <summary>MNIST's 28x28 when the first Linear takes 784 values, else one channel of one row of its inputs.</summary>
    public override ImageShape? ImageFromShapes(IReadOnlyDictionary<string, int[]> shapes) =>
        shapes.TryGetValue("encoder.0.weight", out int[]? w) && w.Length == 2
            ? w[1] == ImageShape.Mnist.Length ? ImageShape.Mnist : new ImageShape(1, 1, w[1])
            : null;

    /// <summary>Hidden sizes from the encoder weights: encoder.{2i}.weight is (hidden[i], in).</summary>
    public override ArchitectureSettings? SettingsFromShapes(IReadOnlyDictionary<string, int[]> shapes)
    {
        var hidden = new List<int>();
        for (int i = 0; shapes.TryGetValue($"encoder.{2 * i}.weight", out int[]? w) && w.Length == 2; i++) hidden.Add(w[0]);
        return hidden.Count == 0 ? null : Settings((Hidden, [.. hidden]));
    }
}
