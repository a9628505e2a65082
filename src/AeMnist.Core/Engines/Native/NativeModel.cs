// A model on the native engine: one Network replica per thread, all reading one master copy of the weights.
// A training batch is cut into shards of a fixed size; each shard's gradient goes into its own array and the shards'
// gradients are added in shard order, so the result is the same for any thread count. Inference runs the same
// replicas over chunks of images; per-image results never depend on the chunking.
using System.Runtime.InteropServices;
using AeMnist.Engines.Native.Layers;
using AeMnist.Models;
using AeMnist.Optim;
using AeMnist.Tensors;
using ScratchBuffers = AeMnist.Engines.Native.Layers.Buffers;

namespace AeMnist.Engines.Native;

// images (N, Input) in [0, 1] -> reconstructions (N, Input)
public sealed class NativeModel : IEngineModel, IChunkedReconstruction
{
    /// <summary>Images per inference chunk by default (results do not depend on it).</summary>
    public const int DefaultInferenceBatchSize = 64;

    private const int GradientChunkLength = 16 * 1024;  // gradient elements per work item: the shards' sum and the clear

    private readonly WorkerPool _pool;
    private readonly int _inputSize;
    private readonly Action<int, int> _trainShard, _reduceChunk, _zeroChunk, _inferChunk, _transposeWeight;
    private readonly List<float[]> _shardGrads = [];
    private readonly Network[] _replicas;   // one per pool thread, built on first use; inference and unsharded-statistics training
    private readonly List<Network> _shardNetworks = [];  // one per shard of a batch, for models with batch norm (see ForwardBackward)
    private readonly List<float[]> _shardImages = [];    // each such shard's gathered images, which are also its targets
    private readonly int[] _batchNorms;     // layer indices of the batch-norm layers
    private readonly Action<int, int> _segmentShard;
    private int _segmentStart;              // the layer the current segment starts from (0 or a batch-norm layer; Layers.Count: backward from the loss)
    private bool _segmentForward;
    private readonly MseLoss[] _losses;
    private readonly float[][] _gathered;   // a replica's copy of its shard's images
    private readonly float[][] _gatheredTargets; // a worker's copy of its shard's targets (in inference: scratch for the per-image loss)
    private readonly float[][] _lossGradients;   // a worker's loss gradient in the lanes layout (Network.LossInLanes)
    private readonly Linear[] _linears;    // replica 0's Linear layers, whose (shared) weights are transposed
    private float[][]? _weightsT;           // the Linear weights transposed, shared by the replicas
    private float[] _rowSums = [];
    private int _inferenceBatchSize = DefaultInferenceBatchSize;
    // The call in progress (ForwardBackward or inference), read by the worker threads.
    private unsafe float* _images;
    private unsafe float* _targets;          // null: the targets are the images
    private unsafe int* _rows;
    private unsafe float* _inferenceDestination;
    private int _imageCount;
    private InferenceOutput _inferenceKind;

    internal NativeModel(ModelSpec spec, StateDict weights, WorkerPool pool)
    {
        spec.CheckWeights(weights);
        Spec = spec;
        _pool = pool;
        _inputSize = spec.Input.Length;
        _replicas = new Network[pool.Threads];
        _losses = [.. Enumerable.Range(0, pool.Threads).Select(_ => new MseLoss())];
        _gathered = [.. Enumerable.Range(0, pool.Threads).Select(_ => Array.Empty<float>())];
        _gatheredTargets = [.. Enumerable.Range(0, pool.Threads).Select(_ => Array.Empty<float>())];
        _lossGradients = [.. Enumerable.Range(0, pool.Threads).Select(_ => Array.Empty<float>())];
        Network first = Replica(0);
        Parameters = ParameterSet.Unbound(first.Parameters.Entries);
        first.Parameters.ShareValuesWith(Parameters);
        Buffers = ParameterSet.Unbound(first.Buffers.Entries);
        first.Buffers.ShareValuesWith(Buffers);
        _batchNorms = [.. first.BatchNormLayers];
        _linears = [.. first.Layers.OfType<Linear>()];
        // Dense shards are larger (fewer per-shard gradient arrays to clear and add); with convolutions, four interleaved
        // groups of 16 keep a shard's scratch in L2. A constant of the architecture, never of the thread count.
        ShardSize = first.HasConvolutions ? 64 : 128;
        _trainShard = TrainShard;
        _reduceChunk = ReduceShards;
        _zeroChunk = ZeroChunk;
        _inferChunk = InferChunk;
        _transposeWeight = TransposeWeight;
        _segmentShard = SegmentShard;
        CopyIn(weights);  // checked above
        HugePages.Request(Parameters.Data);
        HugePages.Request(Parameters.Grad);
    }

    public ModelSpec Spec { get; }

    /// <summary>All weights and gradients, flat, named as the state dict; the replicas read these weights.</summary>
    public ParameterSet Parameters { get; }

    /// <summary>The buffers (batch norm's running statistics), named as the state dict; the replicas read these.</summary>
    public ParameterSet Buffers { get; }

    /// <summary>Images per shard of a training batch (dense 128, with convolutions 64).</summary>
    public int ShardSize { get; }

    public int Threads => _pool.Threads;

    /// <summary>Images per forward pass in inference; results do not depend on it.</summary>
    public int InferenceBatchSize
    {
        get => _inferenceBatchSize;
        set => _inferenceBatchSize = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Batch size must be positive.");
    }

    /// <summary>The layers a replica runs (for the profiler and tests).</summary>
    internal Network Replica(int worker)
    {
        if (_replicas[worker] is { } built) return built;
        var replica = new Network(Spec) { Training = false };
        if (worker > 0)
        {
            replica.Parameters.ShareValuesWith(Parameters);
            replica.Buffers.ShareValuesWith(Buffers);
        }
        return _replicas[worker] = replica;
    }

    // The network that trains shard `shard` of a batch of a model with batch norm: its activations must outlive the
    // segment a worker ran, so each shard has its own (the weights and running statistics are the master's).
    private Network ShardNetwork(int shard)
    {
        while (_shardNetworks.Count <= shard)
        {
            var network = new Network(Spec) { Training = true };
            network.Parameters.ShareValuesWith(Parameters);
            network.Buffers.ShareValuesWith(Buffers);
            if (_weightsT is not null)
            {
                Linear[] linears = [.. network.Layers.OfType<Linear>()];
                for (int j = 0; j < linears.Length; j++) linears[j].UseTransposedWeight(_weightsT[j]);
            }
            _shardNetworks.Add(network);
            _shardImages.Add([]);
        }
        return _shardNetworks[shard];
    }

    // Cleared in chunks on the pool: after a pooled Adam step each thread last wrote part of the gradient.
    public void ZeroGrad()
    {
        int length = Parameters.Length;
        if (_pool.Threads == 1 || length <= GradientChunkLength) Parameters.ZeroGrad();
        else _pool.Run((length + GradientChunkLength - 1) / GradientChunkLength, _zeroChunk);
    }

    private void ZeroChunk(int chunk, int worker)
    {
        int start = chunk * GradientChunkLength;
        Array.Clear(Parameters.Grad, start, Math.Min(GradientChunkLength, Parameters.Length - start));
    }

    public unsafe float ForwardBackward(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, ReadOnlySpan<int> rows, Loss loss)
    {
        CheckLoss(loss);
        EngineArguments.CheckBatch(inputs, targets, rows, _inputSize);
        int n = rows.Length;
        bool sameTargets = inputs == targets;
        int shards = (n + ShardSize - 1) / ShardSize;
        PrepareReplicas();
        while (_shardGrads.Count < shards - 1)
        {
            _shardGrads.Add(new float[Parameters.Length]);
            HugePages.Request(_shardGrads[^1]);
        }
        // The shards gather their images from anywhere in the training set: its pages too.
        HugePages.Request(inputs, fresh: false);
        if (!sameTargets) HugePages.Request(targets, fresh: false);
        Span<float> rowSums = ScratchBuffers.Rent(ref _rowSums, n);
        fixed (float* pInputs = inputs, pTargets = targets)
        fixed (int* pRows = rows)
        {
            _images = pInputs;
            _targets = sameTargets ? null : pTargets;
            _rows = pRows;
            _imageCount = n;
            try
            {
                if (_batchNorms.Length == 0) _pool.Run(shards, _trainShard);
                else RunSegments(shards);
                if (shards > 1) _pool.Run((Parameters.Length + GradientChunkLength - 1) / GradientChunkLength, _reduceChunk);
            }
            finally
            {
                _images = null;
                _targets = null;
                _rows = null;
            }
        }
        HugePages.Collapse();  // what this step allocated or named (once: later steps find nothing new)
        double total = 0;
        foreach (float sum in rowSums) total += sum;
        return (float)(total / ((double)n * _inputSize));
    }

    public IOptimizer CreateOptimizer(OptimizerOptions options) => options is AdamOptions adam ? new Adam(Parameters, adam, _pool)
        : throw new NotSupportedException($"the native engine has no optimiser {options.GetType().Name}");

    public void Losses(ReadOnlySpan<float> images, int n, Loss loss, Span<float> losses)
    {
        CheckLoss(loss);
        CheckImages(images, n, nameof(images));
        if (losses.Length != n) throw new ArgumentException($"losses has {losses.Length} elements, expected {n}.", nameof(losses));
        Infer(images, n, InferenceOutput.Errors, losses);
    }

    // The losses this engine computes: the mean squared error (MseLoss).
    private static void CheckLoss(Loss loss)
    {
        if (loss is not Loss.MeanSquared) throw new NotSupportedException($"the native engine has no loss '{loss}'");
    }

    public void Reconstruct(ReadOnlySpan<float> images, int n, Span<float> output) => ReconstructInto(images, n, output, null);

    public void Reconstruct(ReadOnlySpan<float> images, int n, Span<float> output, ReconstructedChunk onChunk) =>
        ReconstructInto(images, n, output, onChunk ?? throw new ArgumentNullException(nameof(onChunk)));

    private void ReconstructInto(ReadOnlySpan<float> images, int n, Span<float> output, ReconstructedChunk? onChunk)
    {
        CheckImages(images, n, nameof(images));
        if (output.Length != n * _inputSize)
            throw new ArgumentException($"output has {output.Length} elements, expected {n}*{_inputSize}.", nameof(output));
        _onChunk = onChunk;
        try
        {
            Infer(images, n, InferenceOutput.Reconstructions, output);
        }
        finally
        {
            _onChunk = null;
        }
    }

    private ReconstructedChunk? _onChunk;  // the Reconstruct in progress hands each chunk to it

    public void Encode(ReadOnlySpan<float> images, int n, Span<float> codes)
    {
        CheckImages(images, n, nameof(images));
        if (codes.Length != n * Spec.Latent.Length)
            throw new ArgumentException($"codes has {codes.Length} elements, expected {n}*{Spec.Latent.Length}.", nameof(codes));
        Infer(images, n, InferenceOutput.Codes, codes);
    }

    /// <summary>The parameters and buffers in the state dict's order.</summary>
    public StateDict StateDict() => new(Spec.StateEntries.Select(e =>
    {
        (ParameterSet set, ParameterInfo info) = Find(e);
        return new NamedTensor(e.Name, (int[])e.Shape.Clone(), set.Values(info).ToArray());
    }));

    public StateDict Gradients() =>
        new(Parameters.Entries.Select(e => new NamedTensor(e.Name, (int[])e.Shape.Clone(), Parameters.Gradients(e).ToArray())));

    public void LoadStateDict(StateDict weights)
    {
        Spec.CheckWeights(weights);
        CopyIn(weights);
    }

    private void CopyIn(StateDict weights)
    {
        foreach (StateEntry e in Spec.StateEntries)
        {
            (ParameterSet set, ParameterInfo info) = Find(e);
            weights[e.Name].Data.CopyTo(set.Values(info));
        }
    }

    public void Dispose() { }

    private (ParameterSet Set, ParameterInfo Info) Find(StateEntry entry)
    {
        ParameterSet set = entry.IsBuffer ? Buffers : Parameters;
        return (set, set.Find(entry.Name) ?? throw new InvalidOperationException($"The native model has no tensor '{entry.Name}'."));
    }

    // Every replica that the pool can run exists and reads the current weights; the transposed Linear weights are
    // refreshed, since the weights may have changed since the last call.
    private void PrepareReplicas()
    {
        for (int i = 0; i < _replicas.Length; i++) Replica(i);
        if (_linears.Length == 0) return;
        if (_weightsT is null)
        {
            Linear[][] linears = [.. _replicas.Select(r => r.Layers.OfType<Linear>().ToArray())];
            _weightsT = [.. linears[0].Select(l => new float[l.InFeatures * l.OutFeatures])];
            foreach (Linear[] replica in linears)
                for (int j = 0; j < replica.Length; j++) replica[j].UseTransposedWeight(_weightsT[j]);
        }
        _pool.Run(_linears.Length, _transposeWeight);
    }

    private void TransposeWeight(int index, int worker) => _linears[index].TransposeWeight(_weightsT![index]);

    // Shard 0 adds its gradient straight into Parameters.Grad; shard s > 0 writes into _shardGrads[s - 1].
    private unsafe void TrainShard(int shard, int worker)
    {
        int start = shard * ShardSize, count = Math.Min(ShardSize, _imageCount - start);
        Network replica = _replicas[worker];
        float[] grad = shard == 0 ? Parameters.Grad : _shardGrads[shard - 1];
        if (shard > 0) Array.Clear(grad);
        replica.Parameters.UseGradients(grad);
        ReadOnlySpan<float> images = Gather(_images, ref _gathered[worker], start, count);
        ReadOnlySpan<float> targets = _targets is null ? images : Gather(_targets, ref _gatheredTargets[worker], start, count);
        ReadOnlySpan<float> output = replica.Forward(images, count, replica.Layers.Count, imagesKept: true);  // gathered anew only for the worker's next shard
        MseLoss loss = _losses[worker];
        var shape = new TensorShape(count, Spec.Input.C, Spec.Input.H, Spec.Input.W);
        loss.Forward(output, targets, shape);
        loss.RowSums.CopyTo(ScratchBuffers.View(_rowSums, _imageCount).Slice(start, count));
        replica.Backward(loss.Backward((long)_imageCount * _inputSize), computeInputGradient: false);
    }

    // A model with batch norm trains in segments between its batch-norm layers, every shard on its own network: after
    // each forward segment the shards' partial sums are added in shard order into the whole batch's statistics (and the
    // running statistics move once, on the master buffers); after each backward segment likewise the gradient sums.
    // The batch is normalised exactly as one PyTorch batch, and no sum depends on the thread that computed it.
    private void RunSegments(int shards)
    {
        for (int s = 0; s < shards; s++)
        {
            if (s > 0) Array.Clear(_shardGrads[s - 1]);
            ShardNetwork(s).Parameters.UseGradients(s == 0 ? Parameters.Grad : _shardGrads[s - 1]);
        }
        _segmentForward = true;
        _segmentStart = 0;
        while (true)
        {
            _segmentReachedLoss = false;
            _pool.Run(shards, _segmentShard);
            int stop = _segmentStop;
            if (_segmentForward && !_segmentReachedLoss)
            {
                ReduceStatistics(stop, shards);
                _segmentStart = stop;
                continue;
            }
            _segmentForward = false;  // the last forward segment ran the loss and the first backward segment
            if (stop < 0) return;
            ReduceGradientSums(stop, shards);
            _segmentStart = stop;
        }
    }

    private int _segmentStop;
    private bool _segmentReachedLoss;

    // The batch's sums and statistics of one batch-norm layer, reused by every layer and step (a step allocates nothing).
    private double[] _channelSums = [], _channelSquares = [], _channelMeans = [], _channelVariances = [];

    private void EnsureChannelScratch(int channels)
    {
        if (_channelSums.Length < channels)
            (_channelSums, _channelSquares, _channelMeans, _channelVariances) = (new double[channels], new double[channels], new double[channels], new double[channels]);
    }

    // Each batch-norm layer's running statistics in Buffers, found once.
    private readonly Dictionary<int, (ParameterInfo Mean, ParameterInfo Variance, ParameterInfo Batches)> _runningStatistics = [];

    private void ReduceStatistics(int layer, int shards)
    {
        var first = (BatchNorm)_shardNetworks[0].Layers[layer];
        int c = first.NumFeatures;
        EnsureChannelScratch(c);
        Span<double> sum = _channelSums.AsSpan(0, c), squares = _channelSquares.AsSpan(0, c), mean = _channelMeans.AsSpan(0, c), variance = _channelVariances.AsSpan(0, c);
        sum.Clear();
        squares.Clear();
        long count = 0;
        for (int s = 0; s < shards; s++)
        {
            var bn = (BatchNorm)_shardNetworks[s].Layers[layer];
            System.Numerics.Tensors.TensorPrimitives.Add(sum, bn.PartialSum, sum);
            System.Numerics.Tensors.TensorPrimitives.Add(squares, bn.PartialSumSquares, squares);
            count += bn.Count;
        }
        ChannelMath.Statistics(sum, squares, count, mean, variance);
        for (int s = 0; s < shards; s++) ((BatchNorm)_shardNetworks[s].Layers[layer]).SetBatchStatistics(mean, variance);
        if (!_runningStatistics.TryGetValue(layer, out var running))
        {
            string prefix = Spec.LayerName(layer) + ".";
            _runningStatistics[layer] = running = (Buffers.Find(prefix + "running_mean")!, Buffers.Find(prefix + "running_var")!, Buffers.Find(prefix + "num_batches_tracked")!);
        }
        BatchNorm.UpdateRunningStatistics(Buffers.Values(running.Mean), Buffers.Values(running.Variance), Buffers.Values(running.Batches), mean, variance, count, first.Momentum);
    }

    private void ReduceGradientSums(int layer, int shards)
    {
        int c = ((BatchNorm)_shardNetworks[0].Layers[layer]).NumFeatures;
        EnsureChannelScratch(c);
        Span<double> sumDy = _channelSums.AsSpan(0, c), sumDyXhat = _channelSquares.AsSpan(0, c);
        sumDy.Clear();
        sumDyXhat.Clear();
        long count = 0;
        for (int s = 0; s < shards; s++)
        {
            var bn = (BatchNorm)_shardNetworks[s].Layers[layer];
            System.Numerics.Tensors.TensorPrimitives.Add(sumDy, bn.PartialSumDy, sumDy);
            System.Numerics.Tensors.TensorPrimitives.Add(sumDyXhat, bn.PartialSumDyXhat, sumDyXhat);
            count += bn.Count;
        }
        for (int s = 0; s < shards; s++) ((BatchNorm)_shardNetworks[s].Layers[layer]).SetGradientMeans(sumDy, sumDyXhat, count);
    }

    // One segment of one shard: forward to the next batch-norm layer, or (the last forward segment) through the loss and
    // backward to the last batch-norm layer; or backward to the next batch-norm layer below.
    private unsafe void SegmentShard(int shard, int worker)
    {
        int start = shard * ShardSize, count = Math.Min(ShardSize, _imageCount - start);
        Network network = _shardNetworks[shard];
        int stop;
        if (_segmentForward)
        {
            // The shard's own copy (not the worker's): an autoencoder's targets are its images, still there at the loss
            // however many segments of other shards this worker ran in between, so they are gathered once.
            ref float[] shardImages = ref System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_shardImages)[shard];
            ReadOnlySpan<float> images = _segmentStart == 0 ? Gather(_images, ref shardImages, start, count) : default;
            // An autoencoder on the lanes layout takes its loss there, its targets the lanes input: the same bits as the rows
            // (Reductions.SquaredErrorLanes) without moving the output to rows and the gradient back.
            bool lanesLoss = _targets is null && network.LossInLanes;
            stop = network.ForwardSegment(images, count, _segmentStart, out ReadOnlySpan<float> output, lanesOutput: lanesLoss);
            if (stop == network.Layers.Count)
            {
                Span<float> rowSums = ScratchBuffers.View(_rowSums, _imageCount).Slice(start, count);
                long batchLength = (long)_imageCount * _inputSize;
                ReadOnlySpan<float> dOutput;
                if (lanesLoss)
                {
                    Span<float> gradient = ScratchBuffers.Rent(ref _lossGradients[worker], output.Length);
                    Reductions.SquaredErrorLanes(output, network.LanesInput, count, network.OutputLanesOrder, (float)(2.0 / batchLength), gradient, rowSums);
                    dOutput = gradient;
                }
                else
                {
                    ReadOnlySpan<float> targets = _targets is null ? ScratchBuffers.View(shardImages, count * _inputSize) : Gather(_targets, ref _gatheredTargets[worker], start, count);
                    MseLoss loss = _losses[worker];
                    loss.Forward(output, targets, new TensorShape(count, Spec.Input.C, Spec.Input.H, Spec.Input.W));
                    loss.RowSums.CopyTo(rowSums);
                    dOutput = loss.Backward(batchLength);
                }
                stop = network.BackwardSegment(dOutput, network.Layers.Count, lanesGradient: lanesLoss);
                if (shard == 0) _segmentReachedLoss = true;
            }
        }
        else
        {
            stop = network.BackwardSegment(default, _segmentStart);
        }
        if (shard == 0) _segmentStop = stop;  // every shard stops at the same layer
    }

    private unsafe ReadOnlySpan<float> Gather(float* source, ref float[] buffer, int start, int count)
    {
        Span<float> gathered = ScratchBuffers.Rent(ref buffer, count * _inputSize);
        for (int i = 0; i < count; i++)
            new ReadOnlySpan<float>(source + (nint)_rows[start + i] * _inputSize, _inputSize).CopyTo(gathered.Slice(i * _inputSize, _inputSize));
        return gathered;
    }

    // Parameters.Grad[j] += _shardGrads[0][j] + ... in shard order, for one chunk of j.
    private void ReduceShards(int chunk, int worker)
    {
        int start = chunk * GradientChunkLength, length = Math.Min(GradientChunkLength, Parameters.Length - start);
        Span<float> total = Parameters.Grad.AsSpan(start, length);
        int shards = (_imageCount + ShardSize - 1) / ShardSize;
        for (int s = 0; s < shards - 1; s++)
            Elementwise.AddInPlace(total, _shardGrads[s].AsSpan(start, length));
    }

    private enum InferenceOutput { Errors, Reconstructions, Codes }

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
                _pool.Run((n + _inferenceBatchSize - 1) / _inferenceBatchSize, _inferChunk);
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
        Network replica = _replicas[worker];
        var images = new ReadOnlySpan<float>(_images + (nint)start * _inputSize, count * _inputSize);
        if (_inferenceKind == InferenceOutput.Codes)
        {
            int latent = Spec.Latent.Length;
            replica.Forward(images, count, Spec.Encoder.Count, inference: true).CopyTo(new Span<float>(_inferenceDestination + (nint)start * latent, count * latent));
            return;
        }
        ReadOnlySpan<float> output = replica.Forward(images, count, replica.Layers.Count, inference: true);
        if (_inferenceKind == InferenceOutput.Reconstructions)
        {
            output.CopyTo(new Span<float>(_inferenceDestination + (nint)start * _inputSize, count * _inputSize));
            _onChunk?.Invoke(start, count);
            return;
        }
        Reductions.MeanSquaredErrorRows(output, images, ScratchBuffers.Rent(ref _gatheredTargets[worker], count * _inputSize),
            new Span<float>(_inferenceDestination + start, count));
    }

    private void CheckImages(ReadOnlySpan<float> images, int n, string name) => EngineArguments.CheckImages(images, n, _inputSize, name);
}
