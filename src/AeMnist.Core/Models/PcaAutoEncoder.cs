// The linear autoencoder the tutorial's text explains: Linear(784, k) then Linear(k, 784), no activation. Its best
// weights are known in closed form (Eckart-Young): the top k principal components of the training images, so this
// architecture is fitted exactly by an eigendecomposition of their covariance instead of trained. It is saved as an
// ordinary model.safetensors (encoder.0 = (components, -components·mean), decoder.0 = (componentsᵀ, mean)), so every
// verb and PyTorch read it like any other model.
using AeMnist.Tensors;
using MathNet.Numerics.LinearAlgebra;
using static AeMnist.Models.Layers;

namespace AeMnist.Models;

// images (C·H·W; 784 for MNIST) -> encoder (components) -> decoder (C·H·W)
public sealed class PcaAutoEncoder : Architecture
{
    /// <summary>The most values an image may have for the fit (its covariance is that size squared, in double).</summary>
    public const int MaxPixels = 8192;

    public static readonly ArchitectureOption Components = new("components", "K", "Principal components kept by the pca model", [16], Max: MaxPixels);

    public override string Name => "pca";

    public override string Summary => "the linear autoencoder (PCA): Linear 784 (any image's C·H·W values) → --components → 784, fitted exactly by eigendecomposition";

    public override IReadOnlyList<ArchitectureOption> Options => [Components];

    public override bool FitsExactly => true;

    /// <summary>One fit (recorded as one epoch), a 10 % validation split as for the bottleneck model, scored by SSIM.</summary>
    public override TrainingRecipe Recipe => new(Epochs: 1, Score: Scoring.ScoreKind.Ssim, Validation: 0.1);

    public override void CheckImage(ImageShape image)
    {
        base.CheckImage(image);
        if (image.Length > MaxPixels)
            throw new ArgumentException($"the {Name} model fits images of at most {MaxPixels} values (its covariance is that size squared); these are {image} = {image.Length} values: resize them with --size");
    }

    protected override ModelSpec Build(ArchitectureSettings settings, ImageShape image)
    {
        int k = settings[Components][0], pixels = image.Length;
        if (k > pixels) throw new ArgumentException($"--components {k} is more than the {pixels} values of an image of {image}");
        return new ModelSpec(this, settings, SampleShape.Vector(pixels), encoder: [Linear(pixels, k)], decoder: [Linear(k, pixels)], image);
    }

    /// <summary>MNIST's 28x28 when the encoder takes 784 values, else one row of its inputs.</summary>
    public override ImageShape? ImageFromShapes(IReadOnlyDictionary<string, int[]> shapes) =>
        shapes.TryGetValue("encoder.0.weight", out int[]? w) && w.Length == 2
            ? w[1] == ImageShape.Mnist.Length ? ImageShape.Mnist : new ImageShape(1, 1, w[1])
            : null;

    public override ArchitectureSettings? SettingsFromShapes(IReadOnlyDictionary<string, int[]> shapes) =>
        shapes.TryGetValue("encoder.0.weight", out int[]? w) && w.Length == 2 ? Settings((Components, [w[0]])) : null;

    /// <summary>
    /// The exact fit: mean and covariance of the <paramref name="n"/> images in double, its eigendecomposition (MathNet,
    /// single-threaded so the result never depends on the machine's cores), the eigenvectors of the k largest
    /// eigenvalues, each signed so that its largest-magnitude entry is positive.
    /// </summary>
    public override StateDict Fit(ModelSpec spec, ReadOnlySpan<float> images, int n)
    {
        int k = spec.Settings[Components][0], Pixels = spec.Input.Length;
        if (n < 2) throw new ArgumentException($"the pca model needs at least 2 training images, got {n}");
        var mean = new double[Pixels];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < Pixels; j++) mean[j] += images[i * Pixels + j];
        for (int j = 0; j < Pixels; j++) mean[j] /= n;
        var centred = Matrix<double>.Build.Dense(n, Pixels);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < Pixels; j++) centred[i, j] = images[i * Pixels + j] - mean[j];
        MathNet.Numerics.Control.UseSingleThread();
        Matrix<double> covariance = centred.TransposeThisAndMultiply(centred) / (n - 1);
        var evd = covariance.Evd(Symmetricity.Symmetric);
        // Ascending eigenvalues: the last k columns are the top components.
        var encoderWeight = new float[k * Pixels];
        var encoderBias = new float[k];
        var decoderWeight = new float[Pixels * k];
        var decoderBias = new float[Pixels];
        for (int c = 0; c < k; c++)
        {
            Vector<double> v = evd.EigenVectors.Column(Pixels - 1 - c);
            int peak = v.AbsoluteMaximumIndex();
            double sign = v[peak] < 0 ? -1 : 1;
            double bias = 0;
            for (int j = 0; j < Pixels; j++)
            {
                double value = sign * v[j];
                encoderWeight[c * Pixels + j] = (float)value;
                decoderWeight[j * k + c] = (float)value;
                bias -= value * mean[j];
            }
            encoderBias[c] = (float)bias;
        }
        for (int j = 0; j < Pixels; j++) decoderBias[j] = (float)mean[j];
        return new StateDict([
            new NamedTensor("encoder.0.weight", [k, Pixels], encoderWeight),
            new NamedTensor("encoder.0.bias", [k], encoderBias),
            new NamedTensor("decoder.0.weight", [Pixels, k], decoderWeight),
            new NamedTensor("decoder.0.bias", [Pixels], decoderBias),
        ]);
    }
}
