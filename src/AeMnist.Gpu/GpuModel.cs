// A model on the ilgpu engine, the adapter between the engine seam (IEngineModel) and the device: weights, gradients and
// buffers in flat device buffers, the spec's layers as a Network of device layers, the training set resident on the
// device (rows gathered there), the loss by value (Loss), Adam on the device (GpuAdam). Inference runs in fixed chunks
// in evaluation mode; a per-image result never depends on the chunking.
using AeMnist.Engines;
using AeMnist.Gpu.Kernels;
using AeMnist.Gpu.Layers;
using AeMnist.Models;
using AeMnist.Optim;
using ILGPU;
using ILGPU.Runtime;

namespace AeMnist.Gpu;

// images (N, Input) in [0, 1] -> reconstructions (N, Input)
internal sealed class GpuModel : IEngineModel
{
    /// <summary>Images per inference chunk (results do not depend on it).</summary>
    public const int InferenceChunk = 256;

    private readonly Network _network;
    private readonly ResidentImages _inputs, _targets;
    private readonly DeviceBuffer _batch, _targetBatch, _dPrediction, _perImage, _chunk, _rowsOut;
    private readonly int _inputSize;
    private readonly List<GpuAdam> _optimizers = [];
    private MemoryBuffer1D<int, Stride1D.Dense>? _rows;
    private MemoryBuffer1D<int, Stride1D.Dense>? _identity;  // 0, 1, ..., InferenceChunk - 1
    private float[] _sums = [];
    private long _checkedBytes;

    public GpuModel(ModelSpec spec, StateDict weights, DeviceKernels kernels, DeviceMemory memory)
    {
        spec.CheckWeights(weights);
        Spec = spec;
        Kernels = kernels;
        Memory = memory;
        _inputSize = spec.Input.Length;
        Bind();
        Parameters = new DeviceParameters(spec, memory);
        _network = new Network(spec, kernels, memory, Parameters);
        _inputs = new ResidentImages(memory);
        _targets = new ResidentImages(memory);
        _batch = new DeviceBuffer(memory);
        _targetBatch = new DeviceBuffer(memory);
        _dPrediction = new DeviceBuffer(memory);
        _perImage = new DeviceBuffer(memory);
        _chunk = new DeviceBuffer(memory);
        _rowsOut = new DeviceBuffer(memory);
        Parameters.Load(weights);
    }

    public ModelSpec Spec { get; }

    internal DeviceKernels Kernels { get; }

    internal DeviceMemory Memory { get; }

    internal DeviceParameters Parameters { get; }

    /// <summary>The training sets' rows uploaded so far (the set once, then only rows whose content changed).</summary>
    internal long RowsUploaded => _inputs.RowsUploaded + _targets.RowsUploaded;

    /// <summary>Makes the device's context current on the calling thread (CUDA binds a context per thread).</summary>
    internal void Bind() => Kernels.Accelerator.Bind();

    public void ZeroGrad()
    {
        Bind();
        Parameters.ZeroGrad();
    }

    public float ForwardBackward(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, ReadOnlySpan<int> rows, Engines.Loss loss)
    {
        LossKind kind = KindOf(loss);
        int available = EngineArguments.CheckBatch(inputs, targets, rows, _inputSize), n = rows.Length;
        bool sameTargets = inputs == targets;
        Bind();
        CheckMemory(n, available, sameTargets ? 1 : 2);
        SampleShape s = Spec.Input;
        ArrayView<int> rowsView = Rows(rows);
        ArrayView<float> x = _batch.Get((long)n * _inputSize);
        Kernels.Gather(_inputs.Get(inputs, rows, _inputSize), rowsView, x, n, s.C, s.H * s.W);
        ArrayView<float> target = x;
        if (!sameTargets)
        {
            target = _targetBatch.Get((long)n * _inputSize);
            Kernels.Gather(_targets.Get(targets, rows, _inputSize), rowsView, target, n, s.C, s.H * s.W);
        }
        DeviceTensor prediction = _network.Forward(new DeviceTensor(x, s.C, n, s.H, s.W), training: true, Spec.Layers.Count);
        ArrayView<float> dPrediction = _dPrediction.Get((long)n * _inputSize), perImage = _perImage.Get(n);
        long batchLength = (long)n * _inputSize;
        AeMnist.Gpu.Loss.Forward(Kernels, kind, prediction, target, perImage, dPrediction, batchLength);
        _network.Backward(prediction with { Data = dPrediction });
        Span<float> sums = Sums(n);
        DeviceMemory.Download(perImage, sums);
        return AeMnist.Gpu.Loss.Reduce(kind, sums, batchLength);
    }

    // The seam's loss as this engine's kernels' kind; a loss without kernels here says so.
    private static LossKind KindOf(Engines.Loss loss) => loss is Engines.Loss.MeanSquared ? LossKind.Mse
        : throw new NotSupportedException($"the ilgpu engine has no loss '{loss}'");

    public IOptimizer CreateOptimizer(OptimizerOptions options) => options is AdamOptions adam ? CreateAdam(adam)
        : throw new NotSupportedException($"the ilgpu engine has no optimiser {options.GetType().Name}");

    private GpuAdam CreateAdam(AdamOptions options)
    {
        Bind();
        var adam = new GpuAdam(this, options);
        _optimizers.Add(adam);
        return adam;
    }

    public void Reconstruct(ReadOnlySpan<float> images, int n, Span<float> output)
    {
        CheckImages(images, n, nameof(images));
        if (output.Length != (long)n * _inputSize)
            throw new ArgumentException($"output has {output.Length} elements, expected {n}*{_inputSize}.", nameof(output));
        Infer(images, n, output, Output.Reconstructions);
    }

    public void Losses(ReadOnlySpan<float> images, int n, Engines.Loss loss, Span<float> errors)
    {
        KindOf(loss);
        CheckImages(images, n, nameof(images));
        if (errors.Length != n) throw new ArgumentException($"errors has {errors.Length} elements, expected {n}.", nameof(errors));
        Infer(images, n, errors, Output.Errors);
    }

    public void Encode(ReadOnlySpan<float> images, int n, Span<float> codes)
    {
        CheckImages(images, n, nameof(images));
        if (codes.Length != (long)n * Spec.Latent.Length)
            throw new ArgumentException($"codes has {codes.Length} elements, expected {n}*{Spec.Latent.Length}.", nameof(codes));
        Infer(images, n, codes, Output.Codes);
    }

    public StateDict StateDict()
    {
        Bind();
        return Parameters.Save();
    }

    public void LoadStateDict(StateDict weights)
    {
        Spec.CheckWeights(weights);
        Bind();
        Parameters.Load(weights);
    }

    public StateDict Gradients()
    {
        Bind();
        return Parameters.SaveGradients();
    }

    public void Dispose()
    {
        Bind();
        foreach (GpuAdam adam in _optimizers) adam.Dispose();
        _network.Dispose();
        foreach (IDisposable d in new IDisposable[] { _inputs, _targets, _batch, _targetBatch, _dPrediction, _perImage, _chunk, _rowsOut, Parameters }) d.Dispose();
        Memory.Release(_rows);
        Memory.Release(_identity);
    }

    /// <summary>
    /// Device floats a training batch holds per image beyond the weights: the batch, its target and the loss's gradient, and
    /// per layer its output and input gradient, plus the columns of a convolution (both passes) and batch norm's xhat.
    /// </summary>
    public static long ActivationFloatsPerImage(ModelSpec spec)
    {
        long floats = 3L * spec.Input.Length;
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            SampleShape input = spec.Shapes[i], output = spec.Shapes[i + 1];
            floats += output.Length + input.Length;
            floats += spec.Layers[i] switch
            {
                Conv2dSpec c => 2L * c.InChannels * c.KernelSize * c.KernelSize * output.H * output.W,
                ConvTranspose2dSpec t => 2L * t.OutChannels * t.KernelSize * t.KernelSize * input.H * input.W,
                BatchNormSpec => output.Length,
                _ => 0,
            };
        }
        return floats;
    }

    // Before the first batch of a size (and whenever a larger one comes): the activations and the resident sets must fit
    // what the device has free, or training stops here with the tool's memory message instead of a driver error later.
    private void CheckMemory(int batch, int setImages, int sets)
    {
        long activations = ActivationFloatsPerImage(Spec) * batch * sizeof(float);
        long resident = setImages > 2 * batch ? (long)setImages * _inputSize * sizeof(float) * sets : 0;
        string advice = $"a batch of {batch} images keeps about {DeviceMemory.Size(activations)} of activations on the device (use a smaller --batch-size)" +
                        (resident > 0 ? $" and the {setImages} training images {DeviceMemory.Size(resident)} (use smaller --train-normal/--train-anomalies counts)" : "");
        Memory.Advice = () => advice;
        long needed = activations + resident;
        if (needed <= _checkedBytes) return;
        if (Memory.Free is { } free && needed > free - (64L << 20))
            throw new InsufficientMemoryException($"training needs about {DeviceMemory.Size(needed + Memory.Allocated)} of memory on {Memory.DeviceName}, " +
                $"which has {DeviceMemory.Size(free + Memory.Allocated)} for it: {advice}");
        _checkedBytes = needed;
    }

    private ArrayView<int> Rows(ReadOnlySpan<int> rows)
    {
        if (_rows is null || _rows.Length < rows.Length)
        {
            Kernels.Accelerator.Synchronize();
            Memory.Release(_rows);
            _rows = Memory.Allocate<int>(rows.Length);
        }
        ArrayView<int> view = ((ArrayView<int>)_rows.View).SubView(0, rows.Length);
        DeviceMemory.Upload(view, rows);
        return view;
    }

    private Span<float> Sums(int n)
    {
        if (_sums.Length < n) _sums = new float[n];
        return _sums.AsSpan(0, n);
    }

    private enum Output { Reconstructions, Errors, Codes }

    private void Infer(ReadOnlySpan<float> images, int n, Span<float> destination, Output kind)
    {
        if (n == 0) return;
        Bind();
        SampleShape s = Spec.Input;
        if (_identity is null)
        {
            _identity = Memory.Allocate<int>(InferenceChunk);
            DeviceMemory.Upload(_identity.View, [.. Enumerable.Range(0, InferenceChunk)]);
        }
        for (int start = 0; start < n; start += InferenceChunk)
        {
            int count = Math.Min(InferenceChunk, n - start);
            ArrayView<float> rows = _chunk.Get((long)count * _inputSize);
            DeviceMemory.Upload(rows, images.Slice(start * _inputSize, count * _inputSize));
            ArrayView<float> x = _batch.Get((long)count * _inputSize);
            Kernels.Gather(rows, _identity.View, x, count, s.C, s.H * s.W);
            var input = new DeviceTensor(x, s.C, count, s.H, s.W);
            DeviceTensor y = _network.Forward(input, training: false, kind == Output.Codes ? Spec.Encoder.Count : Spec.Layers.Count);
            if (kind == Output.Errors)
            {
                ArrayView<float> perImage = _perImage.Get(count);
                AeMnist.Gpu.Loss.Forward(Kernels, LossKind.Mse, y, x, perImage);
                Span<float> sums = Sums(count);
                DeviceMemory.Download(perImage, sums);
                for (int i = 0; i < count; i++) destination[start + i] = sums[i] / _inputSize;
                continue;
            }
            int perImageOut = y.Channels * y.Plane;
            ArrayView<float> output = _rowsOut.Get((long)count * perImageOut);
            Kernels.ToSampleMajor(y.Data, output, y.Channels, count, y.Plane);
            DeviceMemory.Download(output, destination.Slice(start * perImageOut, count * perImageOut));
        }
    }

    private void CheckImages(ReadOnlySpan<float> images, int n, string name) => EngineArguments.CheckImages(images, n, _inputSize, name);
}
