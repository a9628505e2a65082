// A ModelSpec built as the native engine's layers, with the engine's layout choices made here and nowhere else:
// a run of convolutions with stride 1 and no padding (and the element-wise layers between them) computes on
// batch-interleaved tensors with the direct kernels, every other layer on NCHW tensors. The network converts between
// the two where a run starts and ends, so callers always give and get (N, sample) rows.
using AeMnist.Engines.Native.Layers;
using AeMnist.Models;
using AeMnist.Tensors;
using ScratchBuffers = AeMnist.Engines.Native.Layers.Buffers;

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
        var buffers = new List<(string, Parameter)>();
        for (int i = 0; i < _layers.Length; i++)
        {
            foreach (Parameter p in _layers[i].LocalParameters) named.Add(($"{spec.LayerName(i)}.{p.Name}", p));
            foreach (Parameter b in _layers[i].LocalBuffers) buffers.Add(($"{spec.LayerName(i)}.{b.Name}", b));
        }
        Parameters = ParameterSet.Create(named);
        Buffers = ParameterSet.Create(buffers);
        BatchNormLayers = [.. Enumerable.Range(0, _layers.Length).Where(i => _layers[i] is BatchNorm)];
    }

    /// <summary>This network's parameters, named and ordered as the spec's state dict.</summary>
    public ParameterSet Parameters { get; }

    /// <summary>This network's buffers (batch norm's running statistics), named as the spec's state dict; Grad is unused.</summary>
    public ParameterSet Buffers { get; }

    /// <summary>Indices of the batch-norm layers, where a sharded training pass must meet its other shards.</summary>
    public IReadOnlyList<int> BatchNormLayers { get; }

    /// <summary>PyTorch's train()/eval(): whether batch norm uses batch statistics (and updates the running ones).</summary>
    public bool Training
    {
        get => _training;
        set
        {
            _training = value;
            foreach (Module layer in _layers)
                if (layer is BatchNorm bn) bn.Training = value;
        }
    }

    private bool _training = true;

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
            x = ForwardLayout(i, i < count && _interleaved[i], ref interleaved, x, n, padded);
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
                    Span<float> packed = ScratchBuffers.Rent(ref _backwardRelayout[i], padded * length);
                    DirectConv.Interleave(d, n, length, packed);  // padding lanes get zero gradient
                    d = packed;
                }
                else
                {
                    Span<float> rows = ScratchBuffers.Rent(ref _backwardRelayout[i], n * length);
                    DirectConv.Deinterleave(d, n, length, rows);
                    d = rows;
                }
                interleaved = wanted;
            }
            if (i > 0) d = _layers[i - 1].Backward(d, computeInputGradient: i > 1 || computeInputGradient);
        }
        return d;
    }

    /// <summary>
    /// A training forward pass in segments that end at batch-norm layers, for a batch cut into shards whose batch
    /// statistics must be the whole batch's. <paramref name="start"/> 0 begins from <paramref name="images"/>;
    /// otherwise it is a batch-norm layer whose statistics have been set (BatchNorm.SetBatchStatistics), and the pass
    /// resumes there. Returns the index of the next batch-norm layer, whose partial sums it has just computed
    /// (BatchNorm.BeginForward), or Layers.Count with the network's output in <paramref name="output"/>.
    /// </summary>
    public int ForwardSegment(ReadOnlySpan<float> images, int n, int start, out ReadOnlySpan<float> output)
    {
        int count = _layers.Length, padded = DirectConv.Groups(n) * DirectConv.Lanes;
        ReadOnlySpan<float> x;
        bool interleaved = false;
        int i;
        if (start == 0)
        {
            if (images.Length != n * _spec.Input.Length)
                throw new ArgumentException($"images has {images.Length} floats, expected {n} x {_spec.Input.Length}.", nameof(images));
            x = images;
            i = 0;
        }
        else
        {
            if (_layers[start] is not BatchNorm resumed) throw new ArgumentException($"Layer {start} is not a batch-norm layer.", nameof(start));
            x = resumed.FinishForward();
            i = start + 1;
        }
        for (; i <= count; i++)
        {
            x = ForwardLayout(i, i < count && _interleaved[i], ref interleaved, x, n, padded);
            if (i == count) break;
            if (_layers[i] is BatchNorm bn)
            {
                bn.BeginForward(x, Shape(i, n));
                output = default;
                _lastBatch = n;
                return i;
            }
            x = _layers[i].Forward(x, Shape(i, interleaved ? padded : n));
        }
        _lastBatch = n;
        _lastCount = count;
        output = x;
        return count;
    }

    /// <summary>
    /// The training backward pass in segments, the counterpart of <see cref="ForwardSegment"/>: from dLoss/dOutput
    /// (<paramref name="start"/> = Layers.Count) or from a batch-norm layer whose gradient means have been set
    /// (BatchNorm.SetGradientMeans). Adds every parameter gradient it passes (+=). Returns the index of the next
    /// batch-norm layer below, whose partial gradient sums it has just computed (BatchNorm.BeginBackward), or -1 when
    /// the pass is complete. The input gradient is not computed.
    /// </summary>
    public int BackwardSegment(ReadOnlySpan<float> dOutput, int start)
    {
        int n = _lastBatch, count = _layers.Length, padded = DirectConv.Groups(n) * DirectConv.Lanes;
        ReadOnlySpan<float> d;
        bool interleaved = false;
        if (start == count)
        {
            if (_lastCount != count) throw new InvalidOperationException("BackwardSegment needs a complete ForwardSegment first.");
            if (dOutput.Length != n * _spec.Shapes[count].Length)
                throw new ArgumentException($"dOutput has {dOutput.Length} floats, expected {n} x {_spec.Shapes[count].Length}.", nameof(dOutput));
            d = dOutput;
        }
        else
        {
            if (_layers[start] is not BatchNorm resumed) throw new ArgumentException($"Layer {start} is not a batch-norm layer.", nameof(start));
            if (start == 0) return -1;
            d = resumed.FinishBackward();
        }
        // Layer `layer`'s output gradient is d; its layout must be that layer's.
        for (int layer = start - 1; layer >= 0; layer--)
        {
            bool wanted = _interleaved[layer];
            if (wanted != interleaved)
            {
                int length = _spec.Shapes[layer + 1].Length;
                if (wanted)
                {
                    Span<float> packed = ScratchBuffers.Rent(ref _backwardRelayout[layer + 1], padded * length);
                    DirectConv.Interleave(d, n, length, packed);
                    d = packed;
                }
                else
                {
                    Span<float> rows = ScratchBuffers.Rent(ref _backwardRelayout[layer + 1], n * length);
                    DirectConv.Deinterleave(d, n, length, rows);
                    d = rows;
                }
                interleaved = wanted;
            }
            if (_layers[layer] is BatchNorm bn)
            {
                bn.BeginBackward(d);
                return layer;
            }
            d = _layers[layer].Backward(d, computeInputGradient: layer > 0);
        }
        return -1;
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
        ReLUSpec or SigmoidSpec => true,  // batch norm is not: it computes on NCHW tensors and ends a run
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
        BatchNorm2dSpec b => new BatchNorm2d(b.NumFeatures, b.Eps, b.Momentum),
        BatchNorm1dSpec b => new BatchNorm1d(b.NumFeatures, b.Eps, b.Momentum),
        SigmoidSpec => new Sigmoid(),
        FlattenSpec => new Flatten(),
        UnflattenSpec u => new Unflatten(u.Channels, u.Height, u.Width),
        _ => throw new NotSupportedException($"The native engine has no implementation of {layer}."),
    };

    /// <summary>
    /// Before forward layer <paramref name="i"/> (or the output, i == count): the activations <paramref name="x"/> in the
    /// layout that layer wants, interleaved (images in groups of DirectConv.Lanes, padded to <paramref name="padded"/>) or rows.
    /// </summary>
    private ReadOnlySpan<float> ForwardLayout(int i, bool wanted, scoped ref bool interleaved, ReadOnlySpan<float> x, int n, int padded)
    {
        if (wanted == interleaved) return x;
        interleaved = wanted;
        int length = _spec.Shapes[i].Length;
        if (wanted)
        {
            Span<float> packed = ScratchBuffers.Rent(ref _forwardRelayout[i], padded * length);
            DirectConv.Interleave(x, n, length, packed);
            return packed;
        }
        Span<float> rows = ScratchBuffers.Rent(ref _forwardRelayout[i], n * length);
        DirectConv.Deinterleave(x, n, length, rows);
        return rows;
    }
}
