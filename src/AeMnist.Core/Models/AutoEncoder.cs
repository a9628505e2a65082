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

    /// <summary>Images per inference chunk (results do not depend on it).</summary>
    public const int DefaultInferenceBatchSize = 64;

    private const int ReduceChunkLength = 16 * 1024;

    private readonly MseLoss _loss = new();
    private readonly Action<int, int> _trainShard, _reduceChunk, _inferChunk, _transposeWeight;
    private readonly List<float[]> _shardGrads = [];
    private int _inferenceBatchSize = DefaultInferenceBatchSize;
    private int _threads = 1;
    private AutoEncoder[] _replicas = [];
    private readonly Linear[] _linears;  // this model's Linear layers, in order
    private float[][]? _weightsT;        // their weights transposed, shared by the replicas' Linear layers
    private float[] _rowSums = [];
    // The call in progress (TrainStep or inference), read by the worker threads.
    private unsafe float* _images;
    private unsafe int* _indices;            // the batch's rows of _images, or null: the first _imageCount rows
    private float[] _gathered = [];          // a replica's copy of its shard's images
    private unsafe float* _inferenceDestination;
    private int _imageCount;
    private InferenceOutput _inferenceKind;

    protected AutoEncoder(Sequential encoder, Sequential decoder, int inputSize)
    {
        Encoder = encoder;
        Decoder = decoder;
        InputSize = inputSize;
        Parameters = ParameterSet.Create(this);
        _linears = [.. Linears(this)];
        _trainShard = TrainShard;
        _reduceChunk = ReduceShards;
        _inferChunk = InferChunk;
        _transposeWeight = TransposeWeight;
    }

    /// <summary>
    /// Images per shard of a training batch: a constant of the architecture (dense 128, conv 64), never of the
    /// thread count, so results never depend on the thread count.
    /// </summary>
    public abstract int ShardSize { get; }

    /// <summary>Threads that train and score (the caller and Threads - 1 engine workers); results do not depend on it.</summary>
    public int Threads
    {
        get => _threads;
        set => _threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Thread count must be positive.");
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
    /// One optimisation step on <paramref name="n"/> images: forward, MSE (mean over all elements) against the input
    /// itself, backward, Adam step. Returns the loss before the step. The batch is cut into shards of
    /// <see cref="ShardSize"/> images; each shard's gradient is computed on its own and the shards' gradients are
    /// added in shard order, so the result is the same for any <see cref="Threads"/>.
    /// </summary>
    public float TrainStep(ReadOnlySpan<float> batch, int n, Adam adam)
    {
        CheckImages(batch, n, nameof(batch), allowEmpty: false);
        return TrainStep(batch, n, [], adam);
    }

    /// <summary>
    /// <see cref="TrainStep(ReadOnlySpan{float}, int, Adam)"/> on the batch images[batchIndices[0]], images[batchIndices[1]], ...
    /// without copying it first: each shard gathers its own images on its own thread. Same result as copying.
    /// </summary>
    public float TrainStep(ReadOnlySpan<float> images, ReadOnlySpan<int> batchIndices, Adam adam)
    {
        if (images.Length % InputSize != 0)
            throw new ArgumentException($"images has {images.Length} floats, not a whole number of {InputSize}-pixel images.", nameof(images));
        int available = images.Length / InputSize;
        if (batchIndices.IsEmpty) throw new ArgumentOutOfRangeException(nameof(batchIndices), "At least one image is needed.");
        foreach (int index in batchIndices)
            if ((uint)index >= (uint)available)
                throw new ArgumentOutOfRangeException(nameof(batchIndices), index, $"Image index outside the {available} images given.");
        return TrainStep(images, batchIndices.Length, batchIndices, adam);
    }

    // indices empty: the batch is the first n images, in order.
    private unsafe float TrainStep(ReadOnlySpan<float> images, int n, ReadOnlySpan<int> indices, Adam adam)
    {
        ArgumentNullException.ThrowIfNull(adam);
        if (!ReferenceEquals(adam.Parameters, Parameters))
            throw new ArgumentException("This Adam optimiser was created for another model's parameters.", nameof(adam));
        int shards = (n + ShardSize - 1) / ShardSize;
        PrepareReplicas();
        while (_shardGrads.Count < shards - 1) _shardGrads.Add(new float[Parameters.Length]);
        Span<float> rowSums = Buffers.Rent(ref _rowSums, n);
        WorkerPool pool = WorkerPool.For(_threads);
        fixed (float* pImages = images)
        fixed (int* pIndices = indices)
        {
            _images = pImages;
            _indices = indices.IsEmpty ? null : pIndices;
            _imageCount = n;
            try
            {
                pool.Run(shards, _trainShard);
                if (shards > 1) pool.Run((Parameters.Length + ReduceChunkLength - 1) / ReduceChunkLength, _reduceChunk);
            }
            finally
            {
                _images = null;
                _indices = null;
            }
        }
        double total = 0;
        foreach (float sum in rowSums) total += sum;
        adam.Step();
        return (float)(total / ((double)n * InputSize));
    }

    /// <summary>Mean squared error over all pixels of all images, as nn.MSELoss(); no gradients.</summary>
    public float Loss(ReadOnlySpan<float> batch, int n)
    {
        CheckImages(batch, n, nameof(batch), allowEmpty: false);
        Infer(batch, n, InferenceOutput.RowSums, Buffers.Rent(ref _rowSums, n));
        double total = 0;
        foreach (float sum in Buffers.View(_rowSums, n)) total += sum;
        return (float)(total / ((double)n * InputSize));
    }

    /// <summary>Per-image mean squared error over its pixels: errors[i] = mean_j (reconstruction[i, j] - images[i, j])².</summary>
    public void ReconstructionErrors(ReadOnlySpan<float> images, int n, Span<float> errors)
    {
        CheckImages(images, n, nameof(images), allowEmpty: true);
        if (errors.Length != n) throw new ArgumentException($"errors has {errors.Length} elements, expected {n}.", nameof(errors));
        Infer(images, n, InferenceOutput.Errors, errors);
    }

    /// <summary>Writes the model's reconstruction of each image to <paramref name="output"/> (N x InputSize).</summary>
    public void Reconstruct(ReadOnlySpan<float> images, int n, Span<float> output)
    {
        CheckImages(images, n, nameof(images), allowEmpty: true);
        if (output.Length != n * InputSize)
            throw new ArgumentException($"output has {output.Length} elements, expected {n}*{InputSize}.", nameof(output));
        Infer(images, n, InferenceOutput.Reconstructions, output);
    }

    /// <summary>The same architecture with its own layers and buffers, not yet sharing this model's weights.</summary>
    protected abstract AutoEncoder CreateReplica();

    // One replica per thread, each reading this model's weights; a replica's gradients point at its current shard's array.
    // Also refreshes the transposed Linear weights, since the weights may have changed since the last call.
    private void PrepareReplicas()
    {
        _weightsT ??= [.. _linears.Select(l => new float[l.InFeatures * l.OutFeatures])];
        if (_linears.Length > 0) WorkerPool.For(_threads).Run(_linears.Length, _transposeWeight);
        if (_replicas.Length >= _threads) return;
        var replicas = new AutoEncoder[_threads];
        _replicas.CopyTo(replicas, 0);
        for (int i = _replicas.Length; i < _threads; i++)
        {
            replicas[i] = CreateReplica();
            replicas[i].Parameters.ShareValuesWith(Parameters);
            for (int j = 0; j < _linears.Length; j++) replicas[i]._linears[j].UseTransposedWeight(_weightsT[j]);
        }
        _replicas = replicas;
    }

    private static IEnumerable<Linear> Linears(Module module) =>
        module is Linear linear ? [linear] : module.Children.SelectMany(child => Linears(child.Module));

    private void TransposeWeight(int index, int worker) => _linears[index].TransposeWeight(_weightsT![index]);

    // Shard 0 writes its gradient straight into Parameters.Grad; shard s > 0 into _shardGrads[s - 1].
    private unsafe void TrainShard(int shard, int worker)
    {
        int start = shard * ShardSize, count = Math.Min(ShardSize, _imageCount - start);
        AutoEncoder replica = _replicas[worker];
        float[] grad = shard == 0 ? Parameters.Grad : _shardGrads[shard - 1];
        Array.Clear(grad);
        replica.Parameters.UseGradients(grad);
        ReadOnlySpan<float> images;
        if (_indices is null)
            images = new ReadOnlySpan<float>(_images + (nint)start * InputSize, count * InputSize);
        else
        {
            Span<float> gathered = Buffers.Rent(ref replica._gathered, count * InputSize);
            for (int i = 0; i < count; i++)
                new ReadOnlySpan<float>(_images + (nint)_indices[start + i] * InputSize, InputSize).CopyTo(gathered.Slice(i * InputSize, InputSize));
            images = gathered;
        }
        TensorShape shape = InputShape(count);
        ReadOnlySpan<float> output = replica.Forward(images, shape);
        replica._loss.Forward(output, images, shape);
        replica._loss.RowSums.CopyTo(Buffers.View(_rowSums, _imageCount).Slice(start, count));
        replica.Backward(replica._loss.Backward((long)_imageCount * InputSize), computeInputGradient: false);
    }

    // Parameters.Grad[j] += _shardGrads[0][j] + ... in shard order, for one chunk of j.
    private void ReduceShards(int chunk, int worker)
    {
        int start = chunk * ReduceChunkLength, length = Math.Min(ReduceChunkLength, Parameters.Length - start);
        Span<float> total = Parameters.Grad.AsSpan(start, length);
        int shards = (_imageCount + ShardSize - 1) / ShardSize;
        for (int s = 0; s < shards - 1; s++)
            Elementwise.AddInPlace(total, _shardGrads[s].AsSpan(start, length));
    }

    private enum InferenceOutput { Errors, RowSums, Reconstructions }

    // Runs the forward pass over chunks of InferenceBatchSize images on the worker threads; per-image results do not
    // depend on the chunking or the thread that ran them.
    private unsafe void Infer(ReadOnlySpan<float> images, int n, InferenceOutput kind, Span<float> destination)
    {
        if (n == 0) return;
        PrepareReplicas();
        fixed (float* x = images, y = destination)
        {
            _images = x;
            _imageCount = n;
            _inferenceDestination = y;
            _inferenceKind = kind;
            try
            {
                WorkerPool.For(_threads).Run((n + _inferenceBatchSize - 1) / _inferenceBatchSize, _inferChunk);
            }
            finally
            {
                _images = null;
                _inferenceDestination = null;
            }
        }
    }

    private unsafe void InferChunk(int chunk, int worker)
    {
        int start = chunk * _inferenceBatchSize, count = Math.Min(_inferenceBatchSize, _imageCount - start);
        AutoEncoder replica = _replicas[worker];
        var images = new ReadOnlySpan<float>(_images + (nint)start * InputSize, count * InputSize);
        TensorShape shape = InputShape(count);
        ReadOnlySpan<float> output = replica.Forward(images, shape);
        if (_inferenceKind == InferenceOutput.Reconstructions)
        {
            output.CopyTo(new Span<float>(_inferenceDestination + (nint)start * InputSize, count * InputSize));
            return;
        }
        replica._loss.Forward(output, images, shape);
        ReadOnlySpan<float> sums = replica._loss.RowSums;
        float* destination = _inferenceDestination + start;
        for (int i = 0; i < count; i++)
            destination[i] = _inferenceKind == InferenceOutput.Errors ? sums[i] / InputSize : sums[i];
    }

    private void CheckImages(ReadOnlySpan<float> images, int n, string name, bool allowEmpty)
    {
        if (n < (allowEmpty ? 0 : 1))
            throw new ArgumentOutOfRangeException(name, n, allowEmpty ? "Image count must not be negative." : "At least one image is needed.");
        if (images.Length != n * InputSize)
            throw new ArgumentException($"{name} has {images.Length} floats, expected {n} images x {InputSize} = {n * InputSize}.", name);
    }
}
