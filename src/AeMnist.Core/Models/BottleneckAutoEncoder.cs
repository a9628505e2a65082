// A convolutional autoencoder with a real bottleneck, for the one-class benchmark: two stride-2 convolutions with
// batch norm (28x28 -> 14x14 -> 7x7), a Linear layer down to a small latent code, and the mirror image back up through
// stride-2 transposed convolutions (output_padding 1) to a sigmoid output. Unlike the tutorial's conv model (2,000
// latent values for 784 pixels) it cannot copy its input, so anomalies reconstruct worse than normal digits. Images of
// C channels and any height and width divisible by 4 (each stride-2 layer halves them exactly).
using AeMnist.Tensors;
using static AeMnist.Models.Layers;

namespace AeMnist.Models;

// images (C, H, W) -> encoder (latent) -> decoder (C, H, W)
public sealed class BottleneckAutoEncoder : Architecture
{
    public static readonly ArchitectureOption Latent = new("latent", "N", "Size of the latent code", [16], Max: 4096);

    public static readonly ArchitectureOption Channels = new("channels", "C1,C2", "Channels of the two stride-2 convolutions", [32, 64], IsList: true, Max: 512);

    public override string Name => "bottleneck";

    public override string Summary =>
        "a conv autoencoder with a bottleneck: Conv2d 1→32→64 (3x3, stride 2) + BatchNorm2d + ReLU, Linear to --latent, mirrored decoder, Sigmoid";

    public override IReadOnlyList<ArchitectureOption> Options => [Latent, Channels];

    /// <summary>
    /// Adam 1e-3, batch 128, 30 epochs, scored by the combined score (ssim and smoothed on the scale of the normal
    /// validation images: no per-dataset choice; docs/results.md, "Development protocol"); a 10 % validation split of the
    /// normal training digits is watched after every epoch and the weights of its lowest loss are kept (no early stop
    /// before epoch 30).
    /// </summary>
    public override TrainingRecipe Recipe => new(Epochs: 30, BatchSize: 128, LearningRate: 0.001, EvalEvery: 1, Patience: 30,
        KeepBest: true, Score: Scoring.ScoreKind.Combined, Validation: 0.1);

    public override void CheckImage(ImageShape image)
    {
        base.CheckImage(image);
        if (image.Height % 4 != 0 || image.Width % 4 != 0)
            throw new ArgumentException($"the {Name} model needs a height and width divisible by 4 (two stride-2 layers halve them, and the decoder doubles them back); these images are {image}: resize them with --size, e.g. --size {Math.Max(4, image.Height / 4 * 4)}x{Math.Max(4, image.Width / 4 * 4)}");
    }

    protected override ModelSpec Build(ArchitectureSettings settings, ImageShape image)
    {
        int latent = settings[Latent][0];
        int[] channels = settings[Channels];
        if (channels.Length != 2) throw new ArgumentException($"--channels takes two sizes, e.g. 32,64; got {ArchitectureOption.Format(channels)}");
        (int c1, int c2) = (channels[0], channels[1]);
        (int h, int w) = (image.Height / 4, image.Width / 4);
        int flat = checked(c2 * h * w);
        return new ModelSpec(this, settings, new SampleShape(image.Channels, image.Height, image.Width),
            encoder:
            [
                Conv2d(image.Channels, c1, kernelSize: 3, stride: 2, padding: 1), BatchNorm2d(c1), ReLU(),
                Conv2d(c1, c2, kernelSize: 3, stride: 2, padding: 1), BatchNorm2d(c2), ReLU(),
                Flatten(), Linear(flat, latent),
            ],
            decoder:
            [
                Linear(latent, flat), BatchNorm1d(flat), ReLU(), Unflatten(c2, h, w),
                ConvTranspose2d(c2, c1, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1), BatchNorm2d(c1), ReLU(),
                ConvTranspose2d(c1, image.Channels, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1), Sigmoid(),
            ]);
    }

    /// <summary>The input channels from encoder.0.weight (C1, C, 3, 3) and the size from the Linear (latent, C2·H/4·W/4), square when it can be.</summary>
    public override ImageShape? ImageFromShapes(IReadOnlyDictionary<string, int[]> shapes)
    {
        if (!shapes.TryGetValue("encoder.0.weight", out int[]? first) || first.Length != 4
            || !shapes.TryGetValue("encoder.3.weight", out int[]? second) || second.Length != 4
            || !shapes.TryGetValue("encoder.7.weight", out int[]? linear) || linear.Length != 2) return null;
        int cells = second[0] > 0 ? linear[1] / second[0] : 0;
        int side = (int)Math.Round(Math.Sqrt(cells));
        return side > 0 && side * side == cells ? new ImageShape(first[1], 4 * side, 4 * side) : ImageShape.Mnist with { Channels = first[1] };
    }

    /// <summary>The latent size and channels from the tensor shapes: encoder.0.weight (C1, 1, 3, 3), encoder.3.weight (C2, C1, 3, 3), encoder.7.weight (latent, C2*49).</summary>
    public override ArchitectureSettings? SettingsFromShapes(IReadOnlyDictionary<string, int[]> shapes) =>
        shapes.TryGetValue("encoder.0.weight", out int[]? first) && first.Length == 4
        && shapes.TryGetValue("encoder.3.weight", out int[]? second) && second.Length == 4
        && shapes.TryGetValue("encoder.7.weight", out int[]? linear) && linear.Length == 2
            ? Settings((Latent, [linear[0]]), (Channels, [first[0], second[0]]))
            : null;
}
