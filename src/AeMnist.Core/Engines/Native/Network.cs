// A ModelSpec built as the native engine's layers, with the engine's layout choices made here and nowhere else:
// a run of convolutions with stride 1 and no padding (and the element-wise layers between them) computes on
// batch-interleaved tensors with the direct kernels, every other layer on NCHW tensors. The network converts between
// the two where a run starts and ends, so callers always give and get (N, sample) rows.
using AeMnist.Engines.Native.Layers;
using AeMnist.Models;
using AeMnist.Tensors;

namespace AeMnist.Engines.Native;

// images (N, Input) -> layers of the spec, in order -> output (N, Shapes[count])
internal sealed class Network
{
    private readonly ModelSpec _spec;
    private readonly Module[] _layers;
    private readonly bool[] _interleaved;        // layer i runs on interleaved tensors
    private readonly float[][] _forwardRelayout;  // at layer i's input (and [count] at the output): the converted activations
    private readonly float[][] _backwardRelayout;
    private int _lastBatch = -1, _lastCount = -1;

    public Network(ModelSpec spec)
    {
        _spec = spec;
        IReadOnlyList<LayerSpec> layers = spec.Layers;
        _interleaved = PlanLayout(layers);
        _layers = [.. layers.Select((layer, i) => Build(layer, _interleaved[i]))];
        _forwardRelayout = [.. Enumerable.Range(0, layers.Count + 1).Select(_ => Array.Empty<float>())];
        _backwardRelayout = [.. Enumerable.Range(0, layers.Count + 1).Select(_ => Array.Empty<float>())];
        var named = new List<(string, Parameter)>();
        for (int i = 0; i < _layers.Length; i++)
            foreach (Parameter p in _layers[i].LocalParameters) named.Add(($"{spec.LayerName(i)}.{p.Name}", p));
        Parameters = ParameterSet.Create(named);
    }

    /// <summary>This network's parameters, named and ordered as the spec's state dict.</summary>
    public ParameterSet Parameters { get; }

    public IReadOnlyList<Module> Layers => _layers;

    /// <summary>Whether layer i computes on batch-interleaved tensors.</summary>
    public bool IsInterleaved(int layer) => _interleaved[layer];

    public bool HasConvolutions => _layers.Any(l => l is Conv2d or ConvTranspose2d or InterleavedConv2d or InterleavedConvTranspose2d);

    /// <summary>
    /// Runs the first <paramref name="count"/> layers on <paramref name="n"/> images and returns their output as (N, sample)
    /// rows; the span stays valid until the next call. Backward may follow when <paramref name="count"/> is every layer.
    /// </summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> images, int n, int count)
    {
        int inputLength = _spec.Input.Length;
        if (images.Length != n * inputLength)
            throw new ArgumentException($"images has {images.Length} floats, expected {n} x {inputLength}.", nameof(images));
        ReadOnlySpan<float> x = images;
        bool interleaved = false;
        int padded = DirectConv.Groups(n) * DirectConv.Lanes;
        for (int i = 0; i <= count; i++)
        {
            bool wanted = i < count && _interleaved[i];
            if (wanted != interleaved)
            {
                int length = _spec.Shapes[i].Length;
                if (wanted)
                {
                    Span<float> packed = Buffers.Rent(ref _forwardRelayout[i], padded * length);
                    DirectConv.Interleave(x, n, length, packed);
                    x = packed;
                }
                else
                {
                    Span<float> rows = Buffers.Rent(ref _forwardRelayout[i], n * length);
                    DirectConv.Deinterleave(x, n, length, rows);
                    x = rows;
                }
                interleaved = wanted;
            }
            if (i < count) x = _layers[i].Forward(x, Shape(i, interleaved ? padded : n));
        }
        _lastBatch = n;
        _lastCount = count;
        return x;
    }

    /// <summary>
    /// Given dLoss/dOutput (N, output) for the last full Forward, adds every parameter's gradient (+=) and returns
    /// dLoss/dImages, or an empty span when <paramref name="computeInputGradient"/> is false.
    /// </summary>
    public ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        int n = _lastBatch, count = _layers.Length;
        if (_lastCount != count) throw new InvalidOperationException("Backward needs a Forward through every layer first.");
        if (dOutput.Length != n * _spec.Shapes[count].Length)
            throw new ArgumentException($"dOutput has {dOutput.Length} floats, expected {n} x {_spec.Shapes[count].Length} from the last Forward.", nameof(dOutput));
        int padded = DirectConv.Groups(n) * DirectConv.Lanes;
        ReadOnlySpan<float> d = dOutput;
        bool interleaved = false;
        for (int i = count; i >= 0; i--)
        {
            if (i == 0 && !computeInputGradient) return [];
            bool wanted = i > 0 ? _interleaved[i - 1] : false;  // the layout of layer i-1's output
            if (wanted != interleaved)
            {
                int length = _spec.Shapes[i].Length;
                if (wanted)
                {
                    Span<float> packed = Buffers.Rent(ref _backwardRelayout[i], padded * length);
                    DirectConv.Interleave(d, n, length, packed);  // padding lanes get zero gradient
                    d = packed;
                }
                else
                {
                    Span<float> rows = Buffers.Rent(ref _backwardRelayout[i], n * length);
                    DirectConv.Deinterleave(d, n, length, rows);
                    d = rows;
                }
                interleaved = wanted;
            }
            if (i > 0) d = _layers[i - 1].Backward(d, computeInputGradient: i > 1 || computeInputGradient);
        }
        return d;
    }

    private TensorShape Shape(int layer, int n)
    {
        SampleShape s = _spec.Shapes[layer];
        return new TensorShape(n, s.C, s.H, s.W);
    }

    // Maximal runs of layers that the interleaved kernels can compute (stride-1 unpadded convolutions and element-wise
    // layers) go interleaved when they hold at least one convolution.
    private static bool[] PlanLayout(IReadOnlyList<LayerSpec> layers)
    {
        var plan = new bool[layers.Count];
        for (int start = 0; start < layers.Count;)
        {
            int end = start;
            while (end < layers.Count && Interleavable(layers[end])) end++;
            bool hasConvolution = false;
            for (int i = start; i < end; i++) hasConvolution |= layers[i] is Conv2dSpec or ConvTranspose2dSpec;
            for (int i = start; i < end; i++) plan[i] = hasConvolution;
            start = Math.Max(end, start + 1);
        }
        return plan;
    }

    private static bool Interleavable(LayerSpec layer) => layer switch
    {
        Conv2dSpec c => c.Stride == 1 && c.Padding == 0,
        ConvTranspose2dSpec t => t.Stride == 1 && t.Padding == 0 && t.OutputPadding == 0,
        ReLUSpec or SigmoidSpec => true,
        _ => false,
    };

    private static Module Build(LayerSpec layer, bool interleaved) => layer switch
    {
        LinearSpec l => new Linear(l.InFeatures, l.OutFeatures),
        Conv2dSpec c when interleaved => new InterleavedConv2d(c.InChannels, c.OutChannels, c.KernelSize),
        Conv2dSpec c => new Conv2d(c.InChannels, c.OutChannels, c.KernelSize, c.Stride, c.Padding),
        ConvTranspose2dSpec t when interleaved => new InterleavedConvTranspose2d(t.InChannels, t.OutChannels, t.KernelSize),
        ConvTranspose2dSpec t => new ConvTranspose2d(t.InChannels, t.OutChannels, t.KernelSize, t.Stride, t.Padding, t.OutputPadding),
        ReLUSpec => new ReLU(),
        SigmoidSpec => new Sigmoid(),
        FlattenSpec => new Flatten(),
        UnflattenSpec u => new Unflatten(u.Channels, u.Height, u.Width),
        _ => throw new NotSupportedException($"The native engine has no implementation of {layer}."),
    };
}
