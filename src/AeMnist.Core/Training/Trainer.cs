// The tutorial's training loop, made explicit: shuffle, then per mini-batch zero the gradients, forward and backward
// through the engine against the loss, step the optimiser; evaluate the monitored split every few epochs, stop after
// `patience` evaluations without improvement, keep the best weights. The loop is the same whatever engine computes it;
// an architecture with a closed-form fit (pca) is fitted instead, as one epoch. All state that a resume needs lives in
// TrainState, so an interrupted run continues bit-identically. Starting, resuming, retrying and committing a run are
// not the loop's business: Runs/RunLifecycle does them around it.
using System.Diagnostics;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.Models;
using AeMnist.Optim;

namespace AeMnist.Training;

/// <summary>One row of history.csv. MonitorLoss is null for epochs without an evaluation.</summary>
public sealed record EpochRecord(int Epoch, double TrainLoss, double? MonitorLoss, double Seconds, bool Improved);

/// <summary>
/// An epoch as it finishes: its record, and whether training goes on after it (false when this epoch ends the run by
/// its last epoch, early stopping or a collapse). A run commits a checkpoint after an evaluated epoch that training goes on from.
/// </summary>
public sealed record EpochEnd(EpochRecord Record, bool Continues);

/// <summary>How a training run ended.</summary>
public enum StopReason
{
    Completed,
    EarlyStopped,
    Interrupted,
    Diverged,

    /// <summary>The model collapsed (constant output at two evaluations in a row) and the run asked to retry with another seed.</summary>
    Collapsed,
}

/// <summary>Everything about a run in progress: enough to resume it exactly.</summary>
public sealed class TrainState
{
    /// <summary>Epochs fully completed so far (1-based numbering in history).</summary>
    public int EpochsDone { get; set; }

    /// <summary>Batches of the current, unfinished epoch already trained (0 at an epoch boundary).</summary>
    public int BatchesDone { get; set; }

    /// <summary>Sum over the current epoch's finished batches of (batch mean loss x batch size).</summary>
    public double EpochLossSum { get; set; }

    /// <summary>Seconds already spent on the current epoch before an interruption.</summary>
    public double EpochSeconds { get; set; }

    /// <summary>The shuffle generator's state at the start of the current epoch.</summary>
    public ulong[] ShuffleState { get; set; } = [];

    public double BestMonitorLoss { get; set; } = double.PositiveInfinity;

    public int BestEpoch { get; set; }

    /// <summary>Evaluations in a row without improvement (the tutorial's early_stop counter).</summary>
    public int BadEvaluations { get; set; }

    /// <summary>Evaluations in a row at which the model's output did not depend on its input (a collapse).</summary>
    public int ConstantEvaluations { get; set; }

    /// <summary>Weights at the best evaluation (null until the first one).</summary>
    public StateDict? BestWeights { get; set; }

    public List<EpochRecord> History { get; } = [];
}

public sealed record TrainResult(StopReason Reason, TrainState State, double Seconds, string? Message)
{
    /// <summary>Managed bytes allocated while training (after the first epoch's warm-up), per epoch.</summary>
    public double AllocatedBytesPerEpoch { get; init; }

    /// <summary>Garbage collections (all generations) during training.</summary>
    public int GcCollections { get; init; }
}

public sealed class Trainer
{
    /// <summary>The loss every architecture is trained with today: the tutorial's mean squared error.</summary>
    public static Loss Objective => Loss.Mse;

    private readonly IEngineModel _model;
    private readonly IOptimizer _optimizer;
    private readonly TrainOptions _options;
    private readonly float[] _train;
    private readonly int _trainCount;
    private readonly float[] _monitor;
    private readonly int _monitorCount;
    private readonly int[] _order;
    private readonly ulong _seed;
    private float[] _noisy = [], _clean = [];
    private int[] _batchRows = [];
    private readonly bool _stopOnCollapse;
    private readonly int _pixels;
    private readonly int _fitThreads;

    /// <summary>Evaluations in a row with constant output after which a run that retries collapses stops.</summary>
    public const int CollapseEvaluations = 2;

    /// <summary>
    /// A trainer of <paramref name="model"/> on <paramref name="trainImages"/>, monitored on <paramref name="monitorImages"/>;
    /// an architecture fitted in closed form (pca) computes its fit on <paramref name="fitThreads"/> threads (the same bits
    /// for any count).
    /// </summary>
    public Trainer(IEngineModel model, IOptimizer optimizer, TrainOptions options, float[] trainImages, float[] monitorImages, ulong seed = 0,
        bool stopOnCollapse = false, int fitThreads = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fitThreads, 1);
        _fitThreads = fitThreads;
        _seed = seed;
        _stopOnCollapse = stopOnCollapse;
        _model = model;
        _optimizer = optimizer;
        _options = options;
        _train = trainImages;
        _pixels = model.Spec.Input.Length;
        _trainCount = trainImages.Length / _pixels;
        _monitor = monitorImages;
        _monitorCount = monitorImages.Length / _pixels;
        _order = new int[_trainCount];
    }

    /// <summary>A fresh state whose shuffle stream is derived from the seed.</summary>
    public static TrainState NewState(ulong seed) => new() { ShuffleState = new Rng(SeedStreams.Shuffle(seed)).GetState() };

    /// <summary>
    /// Batches in an epoch of <paramref name="trainCount"/> images: a batch larger than the split is the whole split (as
    /// PyTorch's DataLoader), and the count is computed in 64 bits ((count + 2^31 - 2) / (2^31 - 1) wrapped to a negative
    /// number of batches and trained nothing).
    /// </summary>
    public static int BatchesPerEpoch(int trainCount, int batchSize)
    {
        int size = Math.Max(1, Math.Min(batchSize, trainCount));
        return (int)(((long)trainCount + size - 1) / size);
    }

    /// <summary>
    /// Trains from <paramref name="state"/> until the epochs run out, early stopping triggers, the loss diverges, the model
    /// collapses (when asked to stop on it), or <paramref name="cancel"/> fires (then the current batch finishes first).
    /// An architecture fitted in closed form is fitted instead.
    /// </summary>
    public TrainResult Run(TrainState state, Action<EpochEnd>? onEpoch = null, CancellationToken cancel = default)
    {
        // Allocation is measured from the end of the first epoch (when every buffer exists) to the end, and so are the
        // garbage collections; what onEpoch does (a commit) counts too.
        int collectionsBefore = Collections();
        long allocatedAfterFirst = -1;
        int epochsAtFirst = 0;
        void OnEpoch(EpochEnd end)
        {
            if (allocatedAfterFirst < 0) { allocatedAfterFirst = GC.GetTotalAllocatedBytes(precise: true); epochsAtFirst = end.Record.Epoch; }
            onEpoch?.Invoke(end);
        }
        TrainResult result = _options.Architecture.FitsExactly ? Fit(state, OnEpoch) : Train(state, OnEpoch, cancel);
        int laterEpochs = state.EpochsDone - epochsAtFirst;
        return result with
        {
            AllocatedBytesPerEpoch = allocatedAfterFirst >= 0 && laterEpochs > 0 ? (GC.GetTotalAllocatedBytes(precise: true) - allocatedAfterFirst) / (double)laterEpochs : double.NaN,
            GcCollections = Collections() - collectionsBefore,
        };
    }

    private static int Collections() => GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);

    private TrainResult Train(TrainState state, Action<EpochEnd>? onEpoch, CancellationToken cancel)
    {
        var total = Stopwatch.StartNew();
        int pixels = _pixels;
        int batchSize = Math.Max(1, Math.Min(_options.BatchSize, _trainCount));
        int batches = BatchesPerEpoch(_trainCount, _options.BatchSize);
        while (state.EpochsDone < _options.Epochs)
        {
            var epochClock = Stopwatch.StartNew();
            // A schedule sets the epoch's rate at its start (a resumed epoch too), as a PyTorch scheduler stepped per epoch.
            if (_options.Schedule != LrSchedule.Constant) _optimizer.SetLearningRate(_options.LearningRateAt(state.EpochsDone));
            // The permutation of an epoch is a function of the shuffle state at its start, so a resumed
            // epoch sees the same batches.
            var shuffle = Rng.FromState(state.ShuffleState);
            for (int i = 0; i < _order.Length; i++) _order[i] = i;
            shuffle.Shuffle(_order.AsSpan());

            for (int b = state.BatchesDone; b < batches; b++)
            {
                if (cancel.IsCancellationRequested)
                {
                    state.EpochSeconds += epochClock.Elapsed.TotalSeconds;
                    return new TrainResult(StopReason.Interrupted, state, total.Elapsed.TotalSeconds, null);
                }
                int start = b * batchSize, n = Math.Min(batchSize, _trainCount - start);
                ReadOnlySpan<float> images = _train.AsSpan(0, _trainCount * pixels);
                _model.ZeroGrad();
                float loss = _options.Noise > 0
                    ? NoisyStep(images, _order.AsSpan(start, n), state.EpochsDone, b)
                    : _model.ForwardBackward(images, images, _order.AsSpan(start, n), Objective);  // the engine gathers the rows
                _optimizer.Step();
                if (!float.IsFinite(loss))
                    return new TrainResult(StopReason.Diverged, state, total.Elapsed.TotalSeconds,
                        $"training loss became {loss} in epoch {state.EpochsDone + 1}, batch {b + 1}; try a lower --lr");
                state.EpochLossSum += (double)loss * n;
                state.BatchesDone = b + 1;
            }

            int epoch = state.EpochsDone + 1;
            double trainLoss = state.EpochLossSum / _trainCount;
            double? monitorLoss = null;
            bool improved = false;
            // The tutorial evaluates after epochs 1, 11, 21, ... (its `epoch % 10 == 0`, 0-based). We also
            // evaluate after the last epoch, so its weights can compete for the best checkpoint.
            if ((epoch - 1) % _options.EvalEvery == 0 || epoch == _options.Epochs)
            {
                monitorLoss = MeanLoss(_monitor, _monitorCount);
                if (!double.IsFinite(monitorLoss.Value))
                    return new TrainResult(StopReason.Diverged, state, total.Elapsed.TotalSeconds,
                        $"monitored loss became {monitorLoss} after epoch {epoch}; try a lower --lr");
                if (_stopOnCollapse)  // only --retry-collapsed acts on it; the finished model is checked once in TrainJob
                    state.ConstantEvaluations = ModelHealth.IsConstant(_model, _monitor, _monitorCount) ? state.ConstantEvaluations + 1 : 0;
                if (monitorLoss.Value < state.BestMonitorLoss)
                {
                    improved = true;
                    state.BestMonitorLoss = monitorLoss.Value;
                    state.BestEpoch = epoch;
                    state.BadEvaluations = 0;
                    state.BestWeights = _model.StateDict();
                }
                else
                {
                    state.BadEvaluations++;
                }
            }

            var record = new EpochRecord(epoch, trainLoss, monitorLoss, state.EpochSeconds + epochClock.Elapsed.TotalSeconds, improved);
            state.History.Add(record);
            state.EpochsDone = epoch;
            state.BatchesDone = 0;
            state.EpochLossSum = 0;
            state.EpochSeconds = 0;
            state.ShuffleState = shuffle.GetState();
            bool collapsed = _stopOnCollapse && state.ConstantEvaluations >= CollapseEvaluations && state.EpochsDone < _options.Epochs;
            bool earlyStop = state.BadEvaluations >= _options.Patience;
            onEpoch?.Invoke(new EpochEnd(record, Continues: !collapsed && !earlyStop && state.EpochsDone < _options.Epochs));

            if (collapsed)
                return new TrainResult(StopReason.Collapsed, state, total.Elapsed.TotalSeconds,
                    $"the model collapsed (constant output at {state.ConstantEvaluations} evaluations in a row, after epoch {epoch})");
            if (earlyStop)
                return new TrainResult(StopReason.EarlyStopped, state, total.Elapsed.TotalSeconds, null);
        }
        return new TrainResult(StopReason.Completed, state, total.Elapsed.TotalSeconds, null);
    }

    // An architecture fitted in closed form (pca): one "epoch" that computes the weights, recorded like a trained one.
    private TrainResult Fit(TrainState state, Action<EpochEnd>? onEpoch)
    {
        var clock = Stopwatch.StartNew();
        _model.LoadStateDict(_options.Architecture.Fit(_model.Spec, _train.AsSpan(0, _trainCount * _pixels), _trainCount, _fitThreads));
        double trainLoss = MeanLoss(_train, _trainCount), monitorLoss = MeanLoss(_monitor, _monitorCount);
        var record = new EpochRecord(1, trainLoss, double.IsFinite(monitorLoss) ? monitorLoss : null, clock.Elapsed.TotalSeconds, Improved: true);
        state.History.Add(record);
        state.EpochsDone = 1;
        state.BestEpoch = 1;
        state.BestMonitorLoss = monitorLoss;
        state.BestWeights = _model.StateDict();
        onEpoch?.Invoke(new EpochEnd(record, Continues: false));
        return new TrainResult(StopReason.Completed, state, clock.Elapsed.TotalSeconds, null);
    }

    // A denoising step: the batch's images plus N(0, noise²) per pixel, clipped to [0, 1], against the clean images. The
    // noise of batch b of epoch e comes from its own generator seeded by (seed, e, b), so a resumed run draws the same.
    private float NoisyStep(ReadOnlySpan<float> images, ReadOnlySpan<int> rows, int epoch, int batch)
    {
        int pixels = _pixels;
        int n = rows.Length;
        if (_noisy.Length < n * pixels) { _noisy = new float[n * pixels]; _clean = new float[n * pixels]; _batchRows = [.. Enumerable.Range(0, n)]; }
        var rng = new Rng(SeedStreams.Noise(_seed) ^ ((ulong)epoch << 32) ^ (ulong)batch);
        float sigma = (float)_options.Noise;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> image = images.Slice(rows[i] * pixels, pixels);
            image.CopyTo(_clean.AsSpan(i * pixels, pixels));
            Span<float> noisy = _noisy.AsSpan(i * pixels, pixels);
            for (int j = 0; j < pixels; j++) noisy[j] = Math.Clamp(image[j] + sigma * (float)rng.NextGaussian(), 0f, 1f);
        }
        return _model.ForwardBackward(_noisy.AsSpan(0, n * pixels), _clean.AsSpan(0, n * pixels), _batchRows.AsSpan(0, n), Objective);
    }

    /// <summary>The loss over all values of all images (nn.MSELoss over the whole split): the mean of the per-image losses.</summary>
    private double MeanLoss(float[] images, int count)
    {
        if (count == 0) return double.NaN;
        var errors = new float[count];
        _model.Losses(images.AsSpan(0, count * _pixels), count, Objective, errors);
        double sum = 0;
        foreach (float e in errors) sum += e;
        return sum / count;
    }
}

/// <summary>Independent random streams derived from one user seed, one per purpose.</summary>
public static class SeedStreams
{
    public static ulong Initialisation(ulong seed) => seed ^ 0x1111_1111_1111_1111UL;

    public static ulong Shuffle(ulong seed) => seed ^ 0x2222_2222_2222_2222UL;

    public static ulong Noise(ulong seed) => seed ^ 0x3333_3333_3333_3333UL;
}
