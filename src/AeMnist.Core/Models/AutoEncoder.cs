// The autoencoders AeMnist trains and scores with: an encoder and a decoder Sequential whose parameters carry
// PyTorch's state-dict names. Training, loss and per-image reconstruction errors all go through the same Forward
// and the same per-image squared-error sums, so scoring reports exactly what training minimised.
using AeMnist.Layers;
using AeMnist.Optim;
using AeMnist.Tensors;

namespace AeMnist.Models;

// images (N, 784) in [0, 1] -> reconstructions (N, 784)
public abstract class AutoEncoder : Module
{
    /// <summary>Pixels per MNIST image (28 x 28).</summary>
    public const int ImagePixels = 28 * 28;

    private readonly MseLoss _loss = new();
    private int _inferenceBatchSize = 256;

    protected AutoEncoder(Sequential encoder, Sequential decoder, int inputSize)
    {
        Encoder = encoder;
        Decoder = decoder;
        InputSize = inputSize;
        Parameters = ParameterSet.Create(this);
    }

    /// <summary>"dense" or "conv".</summary>
    public abstract string Kind { get; }

    /// <summary>Hidden layer sizes of the dense model (e.g. [64, 32]); empty for conv.</summary>
    public virtual int[] Hidden => [];

    /// <summary>Floats per image.</summary>
    public int InputSize { get; }

    public Sequential Encoder { get; }
    public Sequential Decoder { get; }

    /// <summary>All weights and biases, named as PyTorch's state dict ("encoder.0.weight", ...).</summary>
    public ParameterSet Parameters { get; }

    /// <summary>Images per forward pass in <see cref="Loss"/>, <see cref="Reconstruct"/> and <see cref="ReconstructionErrors"/>; results do not depend on it.</summary>
    public int InferenceBatchSize
    {
        get => _inferenceBatchSize;
        set => _inferenceBatchSize = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Batch size must be positive.");
    }

    public override IReadOnlyList<(string Name, Module Module)> Children => [("encoder", Encoder), ("decoder", Decoder)];

    /// <summary>The shape the encoder expects for <paramref name="n"/> images.</summary>
    public abstract TensorShape InputShape(int n);

    /// <summary>A dense autoencoder: Linear + ReLU layers inputSize → hidden[0] → ... → hidden[^1] → ... → inputSize.</summary>
    public static DenseAutoEncoder CreateDense(int inputSize, int[] hidden, Rng rng)
    {
        var model = new DenseAutoEncoder(inputSize, hidden);
        model.ResetParameters(rng);
        return model;
    }

    /// <summary>The tutorial's convolutional autoencoder 1 → 3 → 5 → 3 → 1 channels with 5x5 kernels.</summary>
    public static ConvAutoEncoder CreateConv(Rng rng)
    {
        var model = new ConvAutoEncoder();
        model.ResetParameters(rng);
        return model;
    }

    public override TensorShape OutputShape(TensorShape input) => Decoder.OutputShape(Encoder.OutputShape(input));

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape) =>
        Decoder.Forward(Encoder.Forward(input, shape), Encoder.OutputShape(shape));

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient) =>
        Encoder.Backward(Decoder.Backward(dOutput, computeInputGradient: true), computeInputGradient);

    /// <summary>
    /// One optimisation step on <paramref name="n"/> images: zero the gradients, forward, MSE (mean over all elements)
    /// against the input itself, backward, Adam step. Returns the loss before the step.
    /// </summary>
    public float TrainStep(ReadOnlySpan<float> batch, int n, Adam adam)
    {
        ArgumentNullException.ThrowIfNull(adam);
        if (!ReferenceEquals(adam.Parameters, Parameters))
            throw new ArgumentException("This Adam optimiser was created for another model's parameters.", nameof(adam));
        CheckImages(batch, n, nameof(batch), allowEmpty: false);
        TensorShape shape = InputShape(n);
        Parameters.ZeroGrad();
        ReadOnlySpan<float> output = Forward(batch, shape);
        float loss = _loss.Forward(output, batch, shape);
        Backward(_loss.Backward(), computeInputGradient: false);
        adam.Step();
        return loss;
    }

    /// <summary>Mean squared error over all pixels of all images, as nn.MSELoss(); no gradients.</summary>
    public float Loss(ReadOnlySpan<float> batch, int n)
    {
        CheckImages(batch, n, nameof(batch), allowEmpty: false);
        double total = 0;
        for (int start = 0; start < n; start += InferenceBatchSize)
        {
            int count = Math.Min(InferenceBatchSize, n - start);
            ReadOnlySpan<float> images = batch.Slice(start * InputSize, count * InputSize);
            TensorShape shape = InputShape(count);
            _loss.Forward(Forward(images, shape), images, shape);
            foreach (float sum in _loss.RowSums) total += sum;
        }
        return (float)(total / ((double)n * InputSize));
    }

    /// <summary>Per-image mean squared error over its pixels: errors[i] = mean_j (reconstruction[i, j] - images[i, j])².</summary>
    public void ReconstructionErrors(ReadOnlySpan<float> images, int n, Span<float> errors)
    {
        CheckImages(images, n, nameof(images), allowEmpty: true);
        if (errors.Length != n) throw new ArgumentException($"errors has {errors.Length} elements, expected {n}.", nameof(errors));
        for (int start = 0; start < n; start += InferenceBatchSize)
        {
            int count = Math.Min(InferenceBatchSize, n - start);
            ReadOnlySpan<float> chunk = images.Slice(start * InputSize, count * InputSize);
            TensorShape shape = InputShape(count);
            _loss.Forward(Forward(chunk, shape), chunk, shape);
            ReadOnlySpan<float> sums = _loss.RowSums;
            for (int i = 0; i < count; i++) errors[start + i] = sums[i] / InputSize;
        }
    }

    /// <summary>Writes the model's reconstruction of each image to <paramref name="output"/> (N x InputSize).</summary>
    public void Reconstruct(ReadOnlySpan<float> images, int n, Span<float> output)
    {
        CheckImages(images, n, nameof(images), allowEmpty: true);
        if (output.Length != n * InputSize)
            throw new ArgumentException($"output has {output.Length} elements, expected {n}*{InputSize}.", nameof(output));
        for (int start = 0; start < n; start += InferenceBatchSize)
        {
            int count = Math.Min(InferenceBatchSize, n - start);
            Forward(images.Slice(start * InputSize, count * InputSize), InputShape(count))
                .CopyTo(output.Slice(start * InputSize, count * InputSize));
        }
    }

    private void CheckImages(ReadOnlySpan<float> images, int n, string name, bool allowEmpty)
    {
        if (n < (allowEmpty ? 0 : 1))
            throw new ArgumentOutOfRangeException(name, n, allowEmpty ? "Image count must not be negative." : "At least one image is needed.");
        if (images.Length != n * InputSize)
            throw new ArgumentException($"{name} has {images.Length} floats, expected {n} images x {InputSize} = {n * InputSize}.", name);
    }
}
