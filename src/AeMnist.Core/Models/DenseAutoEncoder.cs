// The tutorial's AutoEncoder(784, 64, 32), generalised to any list of hidden sizes; ReLU after every Linear,
// the last one included. State dict: encoder.{2i}.weight/bias and decoder.{2i}.weight/bias.
using static AeMnist.Models.Layers;

namespace AeMnist.Models;

// images (784) -> encoder (hidden[^1]) -> decoder (784)
public sealed class DenseAutoEncoder : Architecture
{
    private const int Pixels = 28 * 28;

    public static readonly ArchitectureOption Hidden = new("hidden", "SIZES", "Dense hidden layer sizes, comma-separated", [64, 32], IsList: true);

    public override string Name => "dense";

    public override string Summary => "the tutorial's AutoEncoder(784, 64, 32): Linear + ReLU 784 → hidden... → 784";

    public override IReadOnlyList<ArchitectureOption> Options => [Hidden];

    protected override ModelSpec Build(ArchitectureSettings settings)
    {
        int[] sizes = [Pixels, .. settings[Hidden]];
        var encoder = new List<LayerSpec>();
        var decoder = new List<LayerSpec>();
        for (int i = 0; i + 1 < sizes.Length; i++)
            encoder.AddRange([Linear(sizes[i], sizes[i + 1]), ReLU()]);
        for (int i = sizes.Length - 1; i > 0; i--)
            decoder.AddRange([Linear(sizes[i], sizes[i - 1]), ReLU()]);
        return new ModelSpec(this, settings, SampleShape.Vector(Pixels), encoder, decoder);
    }

    /// <summary>Hidden sizes from the encoder weights: encoder.{2i}.weight is (hidden[i], in).</summary>
    public override ArchitectureSettings? SettingsFromShapes(IReadOnlyDictionary<string, int[]> shapes)
    {
        var hidden = new List<int>();
        for (int i = 0; shapes.TryGetValue($"encoder.{2 * i}.weight", out int[]? w) && w.Length == 2; i++) hidden.Add(w[0]);
        return hidden.Count == 0 ? null : Settings((Hidden, [.. hidden]));
    }
}
