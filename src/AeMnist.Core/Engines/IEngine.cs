// The seam between what a model is (a ModelSpec) and how it is computed. An engine builds a model from a spec and
// named weights; the model computes loss and gradients against a target, reconstructions, per-image errors and
// latent codes, and exports and imports its state as named tensors. The trainer owns the loop around it.
using AeMnist.Models;
using AeMnist.Optim;

namespace AeMnist.Engines;

/// <summary>A backend that computes models: the native CPU engine, or another behind the same calls.</summary>
public interface IEngine : IDisposable
{
    /// <summary>"native", "torch".</summary>
    string Name { get; }

    /// <summary>The device it computes on: "cpu", "cuda".</summary>
    string Device { get; }

    /// <summary>Threads it computes with.</summary>
    int Threads { get; }

    /// <summary>
    /// A model of <paramref name="spec"/> holding <paramref name="weights"/>, whose names and shapes must be exactly the
    /// spec's (<see cref="ModelSpec.CheckWeights"/>); the values are copied.
    /// </summary>
    IEngineModel Load(ModelSpec spec, StateDict weights);
}

/// <summary>
/// A model on an engine. Images are flat float32 rows of <see cref="ModelSpec.Input"/>'s length with pixels in [0, 1].
/// Results never depend on how an engine batches or threads its work, only on the engine.
/// </summary>
public interface IEngineModel : IDisposable
{
    ModelSpec Spec { get; }

    /// <summary>Sets every gradient to zero.</summary>
    void ZeroGrad();

    /// <summary>
    /// Forward, <paramref name="loss"/> against the targets (for the whole batch: the mean over every element, as
    /// nn.MSELoss()), backward: adds the batch's gradients to the model's. Image b of the batch is row
    /// <paramref name="rows"/>[b] of <paramref name="inputs"/>, its target the same row of <paramref name="targets"/> (the
    /// same span as the inputs for a plain autoencoder, clean images for a denoising one). Returns the loss. An engine
    /// without that loss throws <see cref="NotSupportedException"/> saying so.
    /// </summary>
    float ForwardBackward(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, ReadOnlySpan<int> rows, Loss loss);

    /// <summary>The optimiser <paramref name="options"/> describe (torch.optim.Adam's arithmetic for Adam), over this model's parameters and gradients.</summary>
    IOptimizer CreateOptimizer(OptimizerOptions options);

    /// <summary>The model's reconstruction of each of <paramref name="n"/> images into <paramref name="output"/> (n rows).</summary>
    void Reconstruct(ReadOnlySpan<float> images, int n, Span<float> output);

    /// <summary>
    /// Each image's <paramref name="loss"/> against itself, in evaluation mode: for mse, losses[i] = mean_j
    /// (reconstruction[i, j] - images[i, j])². The native and torch engines give exactly
    /// <see cref="Tensors.Reductions.MeanSquaredErrorRows"/> of their reconstructions; a device engine computes it where
    /// the reconstructions are, in its own summation order.
    /// </summary>
    void Losses(ReadOnlySpan<float> images, int n, Loss loss, Span<float> losses);

    /// <summary>The encoder's output (the latent code, <see cref="ModelSpec.Latent"/> values) of each image.</summary>
    void Encode(ReadOnlySpan<float> images, int n, Span<float> codes);

    /// <summary>A copy of the weights under their state-dict names, in spec order.</summary>
    StateDict StateDict();

    /// <summary>Replaces the weights; names and shapes must be the spec's.</summary>
    void LoadStateDict(StateDict weights);

    /// <summary>A copy of the gradients, named like the weights.</summary>
    StateDict Gradients();
}

/// <summary>What an engine model calls as each chunk of a reconstruction is written: images [start, start + count).</summary>
public delegate void ReconstructedChunk(int start, int count);

/// <summary>
/// An engine model that reconstructs on its own threads and can hand each finished chunk of the output to the caller on
/// the thread that computed it, while the chunk is still in that core's cache: the scores computed from reconstructions
/// (ssim, smoothed) then run inside the engine's parallel pass instead of after it (ModelScores).
/// </summary>
public interface IChunkedReconstruction
{
    /// <summary>
    /// <see cref="IEngineModel.Reconstruct"/>, calling <paramref name="onChunk"/> once for every chunk after its rows of
    /// <paramref name="output"/> are written; chunks arrive in any order, on several threads at once.
    /// </summary>
    void Reconstruct(ReadOnlySpan<float> images, int n, Span<float> output, ReconstructedChunk onChunk);
}

/// <summary>The calls most code makes: the mean squared error, Adam.</summary>
public static class EngineModelExtensions
{
    /// <summary><see cref="IEngineModel.ForwardBackward"/> with the mean squared error.</summary>
    public static float ForwardBackward(this IEngineModel model, ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, ReadOnlySpan<int> rows) =>
        model.ForwardBackward(inputs, targets, rows, Loss.Mse);

    /// <summary>Per-image mean squared reconstruction error: <see cref="IEngineModel.Losses"/> with <see cref="Loss.Mse"/>.</summary>
    public static void ReconstructionErrors(this IEngineModel model, ReadOnlySpan<float> images, int n, Span<float> errors) =>
        model.Losses(images, n, Loss.Mse, errors);

    /// <summary>An Adam optimiser: <see cref="IEngineModel.CreateOptimizer"/> with <paramref name="options"/>.</summary>
    public static IOptimizer CreateAdam(this IEngineModel model, AdamOptions options) => model.CreateOptimizer(options);
}

/// <summary>The argument checks every engine makes on what the trainer and the scores hand it, in one place.</summary>
public static class EngineArguments
{
    /// <summary>
    /// A training batch: whole images of <paramref name="imageLength"/> values, targets holding the same rows as the
    /// inputs, at least one row, every row inside the images given. Returns the number of images given.
    /// </summary>
    public static int CheckBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, ReadOnlySpan<int> rows, int imageLength)
    {
        if (inputs.Length % imageLength != 0)
            throw new ArgumentException($"inputs has {inputs.Length} floats, not a whole number of {imageLength}-value images.", nameof(inputs));
        if (targets.Length != inputs.Length)
            throw new ArgumentException($"targets has {targets.Length} floats, inputs {inputs.Length}; they must hold the same rows.", nameof(targets));
        int available = inputs.Length / imageLength;
        if (rows.Length == 0) throw new ArgumentOutOfRangeException(nameof(rows), "At least one image is needed.");
        foreach (int row in rows)
            if ((uint)row >= (uint)available)
                throw new ArgumentOutOfRangeException(nameof(rows), row, $"Row outside the {available} images given.");
        return available;
    }

    /// <summary><paramref name="n"/> images of <paramref name="imageLength"/> values in <paramref name="images"/> (named <paramref name="name"/>).</summary>
    public static void CheckImages(ReadOnlySpan<float> images, int n, int imageLength, string name)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(name, n, "Image count must not be negative.");
        if (images.Length != (long)n * imageLength)
            throw new ArgumentException($"{name} has {images.Length} floats, expected {n} images x {imageLength} = {(long)n * imageLength}.", name);
    }
}
