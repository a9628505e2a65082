// A model on the torch engine: the spec's autoencoder as TorchSharp modules (TorchLayers), trained with LibTorch's
// autograd and torch.optim.Adam, its weights read and written by state-dict name. Images enter as float32 rows and
// are copied straight into LibTorch's memory; inference runs in fixed chunks under no_grad, in eval mode. The tests also
// build it in float64, as the reference both engines' float32 results are measured against.
using System.Runtime.InteropServices;
using AeMnist.Engines;
using AeMnist.Models;
using AeMnist.Optim;
using AeMnist.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AeMnist.Torch;

// images (N, Input) in [0, 1] -> reconstructions (N, Input)
internal sealed class TorchModel : IEngineModel
{
    /// <summary>Images per inference chunk. Chunks always start at image 0, so a given input gives the same results every time.</summary>
    public const int InferenceChunk = 1024;

    private readonly AutoEncoderModule _module;
    private readonly Device _device;
    private readonly long[] _sampleDims;
    private readonly int _inputSize;
    private readonly Dictionary<string, Tensor> _state;   // every state-dict tensor of the module, by name
    private readonly ScalarType _dtype;                   // of the parameters and the computation: Float32, or Float64 for a reference

    public TorchModel(ModelSpec spec, StateDict weights, Device device, ScalarType dtype = ScalarType.Float32)
    {
        spec.CheckWeights(weights);
        Spec = spec;
        _device = device;
        _inputSize = spec.Input.Length;
        _sampleDims = spec.Input.IsVector ? [spec.Input.C] : [spec.Input.C, spec.Input.H, spec.Input.W];
        _dtype = dtype;
        _module = new AutoEncoderModule(spec);
        _module.to(device);
        if (dtype != ScalarType.Float32) _module.to(dtype);
        var parameters = _module.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        _state = _module.state_dict();
        foreach (StateEntry entry in spec.StateEntries)
            if (!_state.ContainsKey(entry.Name))
                throw new InvalidOperationException($"The torch module of {spec.Describe()} has no tensor '{entry.Name}'; TorchLayers.Build and the spec disagree.");
        var known = spec.StateEntries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        if (parameters.Keys.FirstOrDefault(name => !known.Contains(name)) is { } extra)
            throw new InvalidOperationException($"The torch module of {spec.Describe()} has a parameter '{extra}' the spec does not; TorchLayers.Build and the spec disagree.");
        TrainableParameters = [.. spec.StateEntries.Where(e => parameters.ContainsKey(e.Name)).Select(e => (e.Name, e.Shape, parameters[e.Name]))];
        CopyIn(weights);  // checked above
    }

    public ModelSpec Spec { get; }

    /// <summary>The module's parameters (state-dict entries that train), in spec order.</summary>
    public IReadOnlyList<(string Name, int[] Shape, Parameter Parameter)> TrainableParameters { get; }

    public void ZeroGrad()
    {
        foreach (var (_, _, parameter) in TrainableParameters)
        {
            using Tensor? grad = parameter.grad;
            grad?.zero_();
        }
    }

    public float ForwardBackward(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, ReadOnlySpan<int> rows, Loss loss)
    {
        CheckLoss(loss);
        EngineArguments.CheckBatch(inputs, targets, rows, _inputSize);
        bool sameTargets = inputs == targets;
        using var scope = torch.NewDisposeScope();
        _module.train();
        Tensor x = Upload(inputs, rows);
        Tensor y = sameTargets ? x : Upload(targets, rows);
        Tensor value = nn.functional.mse_loss(_module.forward(x), y);
        value.backward();
        return _dtype == ScalarType.Float32 ? value.item<float>() : (float)value.item<double>();
    }

    public IOptimizer CreateOptimizer(Optim.OptimizerOptions options) => options is AdamOptions adam ? new TorchAdam(this, adam)
        : throw new NotSupportedException($"the torch engine has no optimiser {options.GetType().Name}");

    // The losses this engine computes: the mean squared error (nn.functional.mse_loss).
    private static void CheckLoss(Loss loss)
    {
        if (loss is not Loss.MeanSquared) throw new NotSupportedException($"the torch engine has no loss '{loss}'");
    }

    public void Reconstruct(ReadOnlySpan<float> images, int n, Span<float> output)
    {
        CheckImages(images, n, nameof(images));
        if (output.Length != (long)n * _inputSize)
            throw new ArgumentException($"output has {output.Length} elements, expected {n}*{_inputSize}.", nameof(output));
        Infer(images, n, output, _inputSize, x => _module.forward(x));
    }

    /// <summary>The reconstructions, then the one per-image definition of the loss (<see cref="Reductions.MeanSquaredErrorRows"/>), in chunks.</summary>
    public void Losses(ReadOnlySpan<float> images, int n, Loss loss, Span<float> losses)
    {
        CheckLoss(loss);
        CheckImages(images, n, nameof(images));
        if (losses.Length != n) throw new ArgumentException($"losses has {losses.Length} elements, expected {n}.", nameof(losses));
        var reconstructions = new float[(long)Math.Min(n, InferenceChunk) * _inputSize];
        var difference = new float[reconstructions.Length];
        for (int start = 0; start < n; start += InferenceChunk)
        {
            int count = Math.Min(InferenceChunk, n - start), length = count * _inputSize;
            ReadOnlySpan<float> chunk = images.Slice(start * _inputSize, length);
            Reconstruct(chunk, count, reconstructions.AsSpan(0, length));
            Reductions.MeanSquaredErrorRows(reconstructions.AsSpan(0, length), chunk, difference.AsSpan(0, length), losses.Slice(start, count));
        }
    }

    public void Encode(ReadOnlySpan<float> images, int n, Span<float> codes)
    {
        CheckImages(images, n, nameof(images));
        int latent = Spec.Latent.Length;
        if (codes.Length != (long)n * latent)
            throw new ArgumentException($"codes has {codes.Length} elements, expected {n}*{latent}.", nameof(codes));
        Infer(images, n, codes, latent, x => _module.Encode(x));
    }

    public StateDict StateDict() => new(Spec.StateEntries.Select(e => new NamedTensor(e.Name, (int[])e.Shape.Clone(), ToArray(_state[e.Name]))));

    public StateDict Gradients() => new(TrainableParameters.Select(p =>
    {
        using Tensor? grad = p.Parameter.grad;
        return new NamedTensor(p.Name, (int[])p.Shape.Clone(), grad is null ? new float[p.Parameter.numel()] : ToArray(grad));
    }));

    public void LoadStateDict(StateDict weights)
    {
        Spec.CheckWeights(weights);
        CopyIn(weights);
    }

    private void CopyIn(StateDict weights)
    {
        using var noGrad = torch.no_grad();
        foreach (StateEntry e in Spec.StateEntries) CopyInto(_state[e.Name], weights[e.Name].Data);
    }

    public void Dispose() => _module.Dispose();

    /// <summary>A tensor's values as a float32 array (copied from any device and dtype).</summary>
    internal static float[] ToArray(Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        Tensor cpu = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
        return MemoryMarshal.Cast<byte, float>(cpu.bytes).ToArray();
    }

    /// <summary>Overwrites <paramref name="destination"/>'s values with <paramref name="values"/> (same element count), on its device and dtype.</summary>
    internal static void CopyInto(Tensor destination, float[] values)
    {
        if (destination.numel() != values.Length)
            throw new ArgumentException($"tensor has {destination.numel()} values, got {values.Length}.");
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        destination.copy_(torch.tensor(values, destination.shape));
    }

    // The rows as one (N, sample...) float32 tensor on the model's device, written straight into LibTorch's memory.
    private Tensor Upload(ReadOnlySpan<float> images, ReadOnlySpan<int> rows)
    {
        Tensor batch = torch.empty([rows.Length, .. _sampleDims], ScalarType.Float32);
        Span<float> destination = MemoryMarshal.Cast<byte, float>(batch.bytes);
        for (int i = 0; i < rows.Length; i++)
            images.Slice(rows[i] * _inputSize, _inputSize).CopyTo(destination.Slice(i * _inputSize, _inputSize));
        return Placed(batch);
    }

    private Tensor Upload(ReadOnlySpan<float> images, int start, int count)
    {
        Tensor batch = torch.empty([count, .. _sampleDims], ScalarType.Float32);
        images.Slice(start * _inputSize, count * _inputSize).CopyTo(MemoryMarshal.Cast<byte, float>(batch.bytes));
        return Placed(batch);
    }

    // A float32 batch on the model's device, in its dtype.
    private Tensor Placed(Tensor batch)
    {
        if (_dtype != ScalarType.Float32) batch = batch.to(_dtype);
        return _device.type == DeviceType.CPU ? batch : batch.to(_device);
    }

    // Runs compute over chunks of images under no_grad in eval mode; each chunk's result has perImage values per image.
    private void Infer(ReadOnlySpan<float> images, int n, Span<float> destination, int perImage, Func<Tensor, Tensor> compute)
    {
        if (n == 0) return;
        using var noGrad = torch.no_grad();
        _module.eval();
        for (int start = 0; start < n; start += InferenceChunk)
        {
            int count = Math.Min(InferenceChunk, n - start);
            using var scope = torch.NewDisposeScope();
            Tensor result = compute(Upload(images, start, count)).to(ScalarType.Float32).cpu().contiguous();
            ReadOnlySpan<float> values = MemoryMarshal.Cast<byte, float>(result.bytes);
            if (values.Length != count * perImage)
                throw new InvalidOperationException($"the torch module gave {values.Length} values for {count} images, expected {count * perImage}.");
            values.CopyTo(destination.Slice(start * perImage, count * perImage));
        }
    }

    private void CheckImages(ReadOnlySpan<float> images, int n, string name) => EngineArguments.CheckImages(images, n, _inputSize, name);
}
