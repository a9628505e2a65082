// Batch normalisation as nn.BatchNorm2d / nn.BatchNorm1d (affine, running statistics, PyTorch's eps and momentum).
// Training mode normalises by the batch's statistics, evaluation mode by the running ones. A training batch that the
// engine cuts into shards is normalised by the statistics of the whole batch, as PyTorch would: each shard's layer
// computes partial sums (BeginForward, BeginBackward), the model adds them in shard order and hands the totals back
// (SetBatchStatistics, SetGradientMeans), then each shard finishes (FinishForward, FinishBackward). Forward and
// Backward on their own do all of it for one call's batch.
using System.Runtime.Intrinsics;
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, C, H, W), weight (C), bias (C); buffers running_mean (C), running_var (C), num_batches_tracked () -> output (N, C, H, W)
public abstract unsafe class BatchNorm : Module
{
    private float[] _input = [];     // BeginForward's input, normalised by FinishForward
    private float[] _xhat = [];      // (x - mean) * invStd, kept for Backward
    private float[] _output = [];
    private float[] _dOutput = [];   // BeginBackward's dOutput, used by FinishBackward
    private float[] _dInput = [];
    private readonly float[] _mean, _invStd, _scale, _meanDy, _meanDyXhat;
    private readonly float[] _zeros;
    private readonly double[] _batchMean, _batchVariance;  // Forward's batch statistics (a step allocates nothing)
    private TensorShape? _inputShape;
    private bool _trainingForward;   // the last forward normalised by batch statistics
    private float* _x;               // lanes: the input (borrowed, or a copy in _input); xhat is recomputed from it
    private float* _dy;              // lanes: BeginBackward's dOutput (borrowed, or a copy in _dOutput)

    protected BatchNorm(int numFeatures, double eps, double momentum)
    {
        if (numFeatures < 1 || !(eps > 0) || !(momentum > 0 && momentum <= 1))
            throw new ArgumentOutOfRangeException(nameof(numFeatures), $"BatchNorm({numFeatures}, eps={eps}, momentum={momentum}) has an invalid setting.");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Weight = new Parameter("weight", numFeatures);
        Bias = new Parameter("bias", numFeatures);
        RunningMean = new Parameter("running_mean", numFeatures);
        RunningVar = new Parameter("running_var", numFeatures);
        NumBatchesTracked = new Parameter("num_batches_tracked");
        _mean = new float[numFeatures];
        _invStd = new float[numFeatures];
        _scale = new float[numFeatures];
        _meanDy = new float[numFeatures];
        _meanDyXhat = new float[numFeatures];
        _zeros = new float[numFeatures];
        _batchMean = new double[numFeatures];
        _batchVariance = new double[numFeatures];
        PartialSum = new double[numFeatures];
        PartialSumSquares = new double[numFeatures];
        PartialSumDy = new double[numFeatures];
        PartialSumDyXhat = new double[numFeatures];
    }

    public int NumFeatures { get; }
    public double Eps { get; }
    public double Momentum { get; }
    public Parameter Weight { get; }
    public Parameter Bias { get; }
    public Parameter RunningMean { get; }
    public Parameter RunningVar { get; }
    public Parameter NumBatchesTracked { get; }

    /// <summary>
    /// Whether the layer computes on lanes tensors (H*W, C, L) or (F, L) (see Tensors/Lanes) instead of NCHW rows; a shape's N
    /// is then the batch, whose lanes past N are padding that the statistics skip and whose input gradient is zero.
    /// </summary>
    internal bool LanesLayout { get; init; }

    /// <summary>Lanes only: the ReLU after this layer is folded in (output max(y, 0), and Backward applies its mask).</summary>
    internal bool FusedRelu { get; init; }

    /// <summary>
    /// Lanes only: the output row of each input row, when the Flatten or Unflatten after this layer has been folded in
    /// (its rows written, and its gradient read, in that layer's order); empty for the same order.
    /// </summary>
    internal int[] OutputRows { get; set; } = [];

    /// <summary>
    /// Lanes only: FinishBackward also sums its input gradient per channel (LanesBatchNorm.NormalizeBackward's dxSums), the
    /// bias gradient of the convolution or Linear layer before, which then reads it (<see cref="TakeInputGradientSums"/>)
    /// instead of summing dInput again.
    /// </summary>
    internal bool SumsInputGradient { get; set; }

    private float[] _dInputSums = [];
    private bool _dInputSumsReady;

    /// <summary>The per-channel sums of the last FinishBackward's input gradient, once; null when it computed none.</summary>
    internal float[]? TakeInputGradientSums()
    {
        if (!_dInputSumsReady) return null;
        _dInputSumsReady = false;
        return _dInputSums;
    }

    /// <summary>PyTorch's module.training: batch statistics (true) or running statistics (false).</summary>
    public bool Training { get; set; } = true;

    /// <summary>Σ x and Σ x² per channel over the last BeginForward's input.</summary>
    public double[] PartialSum { get; }
    public double[] PartialSumSquares { get; }

    /// <summary>Σ dy and Σ dy·xhat per channel over the last BeginBackward's dOutput.</summary>
    public double[] PartialSumDy { get; }
    public double[] PartialSumDyXhat { get; }

    /// <summary>Values per channel in the last input: N*H*W.</summary>
    public long Count => _inputShape is { } s ? (long)s.N * s.H * s.W : 0;

    public override IReadOnlyList<Parameter> LocalParameters => [Weight, Bias];

    public override IReadOnlyList<Parameter> LocalBuffers => [RunningMean, RunningVar, NumBatchesTracked];

    public override TensorShape OutputShape(TensorShape input) =>
        input.C == NumFeatures ? input : throw new ArgumentException($"{GetType().Name}({NumFeatures}) got {input.C} channels, shape {input}.");

    private bool _foldPending;  // PrepareFold was called: the next (evaluation) Forward passes its input through
    private bool _folded;       // the last Forward was such a pass-through: there is nothing to differentiate

    /// <summary>
    /// Lanes, evaluation mode: the running statistics as the layer before applies them to its outputs as it stores them
    /// (ConvModule.EvaluationNorm), the same arithmetic as <see cref="Forward"/>'s; the next Forward then returns its input,
    /// already normalised, as it is.
    /// </summary>
    internal Tensors.ChannelNorm PrepareFold()
    {
        if (Training || !LanesLayout || OutputRows.Length != 0) throw new InvalidOperationException("Only a lanes batch norm in evaluation mode that keeps its rows' order can be folded into the layer before.");
        SetRunningStatisticsAsBatch();
        _foldPending = true;
        return new Tensors.ChannelNorm(_mean, _invStd, Weight.Data, Bias.Data, FusedRelu);
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        _folded = false;
        if (!Training && _foldPending)
        {
            _foldPending = false;
            CheckLanes(input, shape);
            OutputShape(shape);
            _inputShape = shape;
            _trainingForward = false;
            _folded = true;
            return input;
        }
        _foldPending = false;
        if (!Training)
        {
            if (LanesLayout) CheckLanes(input, shape);
            else CheckInput(input, shape);
            OutputShape(shape);
            _inputShape = shape;
            if (LanesLayout) _x = Keep(input, ref _input);
            else input.CopyTo(Rent(ref _input, input.Length));
            SetRunningStatisticsAsBatch();
            return Normalize(trainingForward: false);
        }
        BeginForward(input, shape);
        ChannelMath.Statistics(PartialSum, PartialSumSquares, Count, _batchMean, _batchVariance);
        SetBatchStatistics(_batchMean, _batchVariance);
        UpdateRunningStatistics(RunningMean.Data, RunningVar.Data, NumBatchesTracked.Data, _batchMean, _batchVariance, Count, Momentum);
        return FinishForward();
    }

    /// <summary>Training forward, first half: keeps the input and computes this call's partial sums.</summary>
    public void BeginForward(ReadOnlySpan<float> input, TensorShape shape)
    {
        if (LanesLayout)
        {
            int lanes = CheckLanes(input, shape);
            OutputShape(shape);
            _inputShape = shape;
            _x = Keep(input, ref _input);
            Array.Clear(PartialSum);
            Array.Clear(PartialSumSquares);
            LanesBatchNorm.Moments(input, NumFeatures, lanes, shape.N, PartialSum, PartialSumSquares);
            return;
        }
        CheckInput(input, shape);
        OutputShape(shape);
        _inputShape = shape;
        input.CopyTo(Rent(ref _input, input.Length));
        Array.Clear(PartialSum);
        Array.Clear(PartialSumSquares);
        BatchNormKernels.ChannelMoments(Buffers.View(_input, input.Length), shape.N, NumFeatures, shape.H * shape.W, PartialSum, PartialSumSquares);
    }

    /// <summary>The batch's mean and biased variance per channel from summed partials over <paramref name="count"/> values each.</summary>
    public static (double[] Mean, double[] Variance) Statistics(ReadOnlySpan<double> sum, ReadOnlySpan<double> sumSquares, long count)
    {
        var mean = new double[sum.Length];
        var variance = new double[sum.Length];
        ChannelMath.Statistics(sum, sumSquares, count, mean, variance);
        return (mean, variance);
    }

    /// <summary>Sets the statistics FinishForward normalises by: the batch's mean and biased variance.</summary>
    public void SetBatchStatistics(ReadOnlySpan<double> mean, ReadOnlySpan<double> variance)
    {
        ChannelMath.Narrow(mean[..NumFeatures], _mean);
        ChannelMath.InverseStd(variance[..NumFeatures], Eps, _invStd);
    }

    /// <summary>
    /// PyTorch's update of the running statistics by one training batch of <paramref name="count"/> values per channel:
    /// running = (1 - momentum)·running + momentum·batch, with the unbiased variance; num_batches_tracked += 1.
    /// </summary>
    public static void UpdateRunningStatistics(Span<float> runningMean, Span<float> runningVar, Span<float> numBatchesTracked,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> variance, long count, double momentum)
    {
        double unbias = count > 1 ? count / (double)(count - 1) : 1.0;
        ChannelMath.MovingAverage(runningMean, mean, momentum, 1.0);
        ChannelMath.MovingAverage(runningVar, variance, momentum, unbias);
        numBatchesTracked[0] += 1;
    }

    /// <summary>Training forward, second half: normalises the kept input by the statistics set last.</summary>
    public ReadOnlySpan<float> FinishForward() => Normalize(trainingForward: true);

    private void SetRunningStatisticsAsBatch()
    {
        RunningMean.Data.CopyTo(_mean);
        ChannelMath.InverseStd(RunningVar.Data, Eps, _invStd);
    }

    private ReadOnlySpan<float> Normalize(bool trainingForward)
    {
        TensorShape shape = _inputShape ?? throw new InvalidOperationException("BatchNorm.FinishForward called before BeginForward.");
        _trainingForward = trainingForward;
        if (LanesLayout)
        {
            int lanes = Lanes.Padded(shape.N), rows = shape.SampleLength * lanes;
            Span<float> y = RentOutput(ref _output, new ReadOnlySpan<float>(_x, rows), rows);
            LanesBatchNorm.Normalize(new ReadOnlySpan<float>(_x, rows), _mean, _invStd, Weight.Data, Bias.Data, FusedRelu, OutputRows, y, lanes);
            return y;
        }
        int length = shape.Length;
        Span<float> xhat = Rent(ref _xhat, length), output = RentOutput(ref _output, Buffers.View(_input, length), length);
        BatchNormKernels.Normalize(Buffers.View(_input, length), _mean, _invStd, Weight.Data, Bias.Data, xhat, output, shape.N, NumFeatures, shape.H * shape.W);
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        if (_folded) throw new InvalidOperationException("BatchNorm.Backward after a Forward whose normalisation the layer before applied (inference only); run Forward again without the fold.");
        BeginBackward(dOutput);
        if (!computeInputGradient) return [];
        if (_trainingForward) SetGradientMeans(PartialSumDy, PartialSumDyXhat, Count);
        return FinishBackward();
    }

    /// <summary>Backward, first half: keeps dOutput, computes the partial sums and adds dWeight, dBias (+=).</summary>
    public void BeginBackward(ReadOnlySpan<float> dOutput)
    {
        _dInputSumsReady = false;
        Array.Clear(PartialSumDy);
        Array.Clear(PartialSumDyXhat);
        if (LanesLayout)
        {
            TensorShape s = _inputShape ?? throw new InvalidOperationException("BatchNorm.Backward called before Forward.");
            int lanes = Lanes.Padded(s.N), rows = s.SampleLength * lanes;
            if (dOutput.Length != rows) throw new ArgumentException($"dOutput has {dOutput.Length} elements, expected {rows} for the last Forward.", nameof(dOutput));
            _dy = Keep(dOutput, ref _dOutput);
            LanesBatchNorm.GradientSums(dOutput, OutputRows, new ReadOnlySpan<float>(_x, rows), _mean, _invStd, Weight.Data, Bias.Data, FusedRelu, lanes, s.N,
                PartialSumDy, PartialSumDyXhat);
        }
        else
        {
            TensorShape shape = CheckBackward(dOutput, _inputShape);
            int length = shape.Length;
            dOutput.CopyTo(Rent(ref _dOutput, length));
            BatchNormKernels.ChannelGradientSums(Buffers.View(_dOutput, length), Buffers.View(_xhat, length), shape.N, NumFeatures, shape.H * shape.W,
                PartialSumDy, PartialSumDyXhat);
        }
        ChannelMath.AddNarrowed(PartialSumDyXhat, Weight.Grad);
        ChannelMath.AddNarrowed(PartialSumDy, Bias.Grad);
        Array.Clear(_meanDy);
        Array.Clear(_meanDyXhat);
    }

    /// <summary>Sets the batch's Σ dy / count and Σ dy·xhat / count per channel (training mode), from summed partials.</summary>
    public void SetGradientMeans(ReadOnlySpan<double> sumDy, ReadOnlySpan<double> sumDyXhat, long count)
    {
        ChannelMath.NarrowedQuotient(sumDy[..NumFeatures], count, _meanDy);
        ChannelMath.NarrowedQuotient(sumDyXhat[..NumFeatures], count, _meanDyXhat);
    }

    /// <summary>
    /// Backward, second half: dInput = (dy - mean(dy) - xhat·mean(dy·xhat))·weight·invStd in training mode (the means set
    /// by <see cref="SetGradientMeans"/>), dy·weight·invStd in evaluation mode.
    /// </summary>
    public ReadOnlySpan<float> FinishBackward()
    {
        TensorShape shape = _inputShape ?? throw new InvalidOperationException("BatchNorm.FinishBackward called before Forward.");
        int length = shape.Length;
        ReadOnlySpan<float> weight = Weight.Data;
        System.Numerics.Tensors.TensorPrimitives.Multiply(weight, _invStd, _scale);
        if (LanesLayout)
        {
            int lanes = Lanes.Padded(shape.N), rows = shape.SampleLength * lanes;
            Span<float> dx = RentInputGradient(ref _dInput, new ReadOnlySpan<float>(_dy, rows), rows);
            Span<float> sums = [];
            if (SumsInputGradient)
            {
                if (_dInputSums.Length != NumFeatures) _dInputSums = new float[NumFeatures];
                Array.Clear(_dInputSums);
                sums = _dInputSums;
            }
            LanesBatchNorm.NormalizeBackward(new ReadOnlySpan<float>(_dy, rows), OutputRows, new ReadOnlySpan<float>(_x, rows), _mean, _invStd, weight, Bias.Data, FusedRelu,
                _trainingForward ? _meanDy : _zeros, _trainingForward ? _meanDyXhat : _zeros, _scale, dx, lanes, shape.N, sums);
            _dInputSumsReady = SumsInputGradient;
            return dx;
        }
        Span<float> dInput = RentInputGradient(ref _dInput, Buffers.View(_dOutput, length), length);
        BatchNormKernels.NormalizeBackward(Buffers.View(_dOutput, length), Buffers.View(_xhat, length),
            _trainingForward ? _meanDy : _zeros, _trainingForward ? _meanDyXhat : _zeros, _scale, dInput, shape.N, NumFeatures, shape.H * shape.W);
        return dInput;
    }
}

// input (N, C, H, W) -> output (N, C, H, W)
public sealed class BatchNorm2d(int numFeatures, double eps = 1e-5, double momentum = 0.1) : BatchNorm(numFeatures, eps, momentum)
{
    public override TensorShape OutputShape(TensorShape input) =>
        input.H == 1 && input.W == 1 ? throw new ArgumentException($"BatchNorm2d({NumFeatures}) needs (N, C, H, W) input, got {input}.") : base.OutputShape(input);
}

// input (N, F) -> output (N, F)
public sealed class BatchNorm1d(int numFeatures, double eps = 1e-5, double momentum = 0.1) : BatchNorm(numFeatures, eps, momentum)
{
    public override TensorShape OutputShape(TensorShape input) =>
        input.H != 1 || input.W != 1 ? throw new ArgumentException($"BatchNorm1d({NumFeatures}) needs (N, F) input, got {input}.") : base.OutputShape(input);
}

// The per-channel arithmetic of a batch-norm layer's statistics, vectorised over the channels (BatchNorm1d(3136) has
// 3,136 of them): each element gets exactly the scalar expression in its comment (IEEE division, square root and
// conversions round the same in a vector lane), so the bits do not depend on the vector width.
internal static class ChannelMath
{
    private static readonly int Width = Vector512<double>.Count;

    /// <summary>mean[c] = sum[c] / count; variance[c] = Math.Max(sumSquares[c] / count − mean[c]·mean[c], 0) (NaN stays NaN).</summary>
    public static void Statistics(ReadOnlySpan<double> sum, ReadOnlySpan<double> sumSquares, long count, Span<double> mean, Span<double> variance)
    {
        int c = 0, n = sum.Length;
        Vector512<double> d = Vector512.Create((double)count);
        for (; c + Width <= n; c += Width)
        {
            Vector512<double> m = Vector512.Create(sum.Slice(c, Width)) / d;
            Vector512<double> v = Vector512.Create(sumSquares.Slice(c, Width)) / d - m * m;
            // Math.Max(v, 0): v where v > 0 or v is NaN, else +0.
            v = Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<double>.Zero) | ~Vector512.Equals(v, v), v, Vector512<double>.Zero);
            m.CopyTo(mean.Slice(c, Width));
            v.CopyTo(variance.Slice(c, Width));
        }
        for (; c < n; c++)
        {
            mean[c] = sum[c] / count;
            variance[c] = Math.Max(sumSquares[c] / count - mean[c] * mean[c], 0.0);
        }
    }

    /// <summary>invStd[c] = (float)(1 / Math.Sqrt(variance[c] + eps)).</summary>
    public static void InverseStd(ReadOnlySpan<double> variance, double eps, Span<float> invStd)
    {
        int c = 0, n = variance.Length;
        Vector512<double> e = Vector512.Create(eps), one = Vector512<double>.One;
        for (; c + Width <= n; c += Width)
            Store(one / Vector512.Sqrt(Vector512.Create(variance.Slice(c, Width)) + e), invStd.Slice(c, Width));
        for (; c < n; c++) invStd[c] = (float)(1.0 / Math.Sqrt(variance[c] + eps));
    }

    /// <summary>invStd[c] = (float)(1 / Math.Sqrt((double)variance[c] + eps)).</summary>
    public static void InverseStd(ReadOnlySpan<float> variance, double eps, Span<float> invStd)
    {
        int c = 0, n = variance.Length;
        Vector512<double> e = Vector512.Create(eps), one = Vector512<double>.One;
        for (; c + Width <= n; c += Width)
            Store(one / Vector512.Sqrt(Load(variance.Slice(c, Width)) + e), invStd.Slice(c, Width));
        for (; c < n; c++) invStd[c] = (float)(1.0 / Math.Sqrt(variance[c] + eps));
    }

    /// <summary>running[c] = (float)((1 − momentum)·running[c] + momentum·batch[c]·factor).</summary>
    public static void MovingAverage(Span<float> running, ReadOnlySpan<double> batch, double momentum, double factor)
    {
        int c = 0, n = running.Length;
        Vector512<double> keep = Vector512.Create(1 - momentum), take = Vector512.Create(momentum), f = Vector512.Create(factor);
        bool scaled = factor != 1.0;
        for (; c + Width <= n; c += Width)
        {
            Vector512<double> b = take * Vector512.Create(batch.Slice(c, Width));
            if (scaled) b *= f;
            Store(keep * Load(running.Slice(c, Width)) + b, running.Slice(c, Width));
        }
        for (; c < n; c++) running[c] = (float)((1 - momentum) * running[c] + (scaled ? momentum * batch[c] * factor : momentum * batch[c]));
    }

    /// <summary>destination[c] = (float)source[c].</summary>
    public static void Narrow(ReadOnlySpan<double> source, Span<float> destination)
    {
        int c = 0, n = source.Length;
        for (; c + Width <= n; c += Width) Store(Vector512.Create(source.Slice(c, Width)), destination.Slice(c, Width));
        for (; c < n; c++) destination[c] = (float)source[c];
    }

    /// <summary>destination[c] = (float)(source[c] / count).</summary>
    public static void NarrowedQuotient(ReadOnlySpan<double> source, long count, Span<float> destination)
    {
        int c = 0, n = source.Length;
        Vector512<double> d = Vector512.Create((double)count);
        for (; c + Width <= n; c += Width) Store(Vector512.Create(source.Slice(c, Width)) / d, destination.Slice(c, Width));
        for (; c < n; c++) destination[c] = (float)(source[c] / count);
    }

    /// <summary>destination[c] += (float)source[c].</summary>
    public static void AddNarrowed(ReadOnlySpan<double> source, Span<float> destination)
    {
        int c = 0, n = source.Length;
        for (; c + Width <= n; c += Width)
            (Vector256.Create(destination.Slice(c, Width)) + Vector512.Narrow(Vector512.Create(source.Slice(c, Width)), Vector512<double>.Zero).GetLower()).CopyTo(destination.Slice(c, Width));
        for (; c < n; c++) destination[c] += (float)source[c];
    }

    private static Vector512<double> Load(ReadOnlySpan<float> eight)
    {
        (Vector512<double> lower, _) = Vector512.Widen(Vector512.Create(Vector256.Create(eight), Vector256<float>.Zero));
        return lower;
    }

    private static void Store(Vector512<double> eight, Span<float> destination) =>
        Vector512.Narrow(eight, Vector512<double>.Zero).GetLower().CopyTo(destination);
}
