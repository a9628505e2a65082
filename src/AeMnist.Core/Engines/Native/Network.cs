// A ModelSpec built as the native engine's layers, with the engine's layout choices made here and nowhere else:
// a model with a convolution that the interleaved kernels cannot run (a stride or padding: the bottleneck model)
// computes every layer on lanes tensors (Tensors/Lanes: one image per lane, channels innermost), with each ReLU that
// follows a batch norm folded into it; otherwise a run of convolutions with stride 1 and no padding (and the
// element-wise layers between them) computes on batch-interleaved tensors with the direct kernels, every other layer on
// NCHW rows. The network converts where a run starts and ends, so callers always give and get (N, sample) rows.
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
    private readonly Layout[] _layout;           // the layout layer i computes on
    private readonly float[][] _forwardRelayout;  // at layer i's input (and [count] at the output): the converted activations
    private readonly float[][] _backwardRelayout;
    private int _lastBatch = -1, _lastCount = -1;
    private readonly BufferPair _shared = new();  // input gradients in Backward, outputs in an inference-only Forward
    private bool _inference;                      // the layers' Outputs are set: the last Forward was inference only

    public Network(ModelSpec spec)
    {
        _spec = spec;
        IReadOnlyList<LayerSpec> layers = spec.Layers;
        _layout = PlanLayout(layers);
        _layers = [.. layers.Select((layer, i) => Build(layer, _layout[i], i + 1 < layers.Count ? layers[i + 1] : null))];
        for (int i = 0; i < _layers.Length; i++)
        {
            // A ReLU folded into the batch norm before it, and the row order of a Flatten or Unflatten right after.
            if (_layers[i] is BatchNorm { FusedRelu: true } bn)
            {
                _layers[i + 1] = new Identity();
                SampleShape s = spec.Shapes[i];
                if (i + 2 < _layers.Length && _layers[i + 2] is Flatten flatten)
                {
                    bn.OutputRows = Lanes.ChannelsFirstOrder(s.C, s.H * s.W);
                    flatten.OrderFolded = true;
                }
                else if (i + 2 < _layers.Length && _layers[i + 2] is Unflatten unflatten)
                {
                    bn.OutputRows = Lanes.Inverse(Lanes.ChannelsFirstOrder(unflatten.Channels, unflatten.Height * unflatten.Width));
                    unflatten.OrderFolded = true;
                }
            }
            // Until a Forward sets it per call (Borrow): a lanes layer's input is always one of the network's pinned buffers.
            _layers[i].BorrowsInput = _layout[i] == Layout.Lanes;
            _layers[i].Gradients = _shared;
            // A lanes convolution or Linear layer right before a batch norm takes its bias gradient from the batch norm's pass.
            if (_layers[i] is LanesConv2d or LanesConvTranspose2d or LanesLinear && i + 1 < _layers.Length && _layers[i + 1] is BatchNorm { LanesLayout: true } next)
            {
                next.SumsInputGradient = true;
                _layers[i].BiasGradientFrom = next;
            }
        }
        // A lanes convolution applies the batch norm after it in evaluation mode as it stores its outputs (bit for bit the
        // same: LanesConv's ChannelNorm), where that batch norm keeps the rows' order (no Flatten or Unflatten folded in).
        for (int i = 0; i + 1 < _layers.Length; i++)
            if (_layers[i] is LanesConv2d or LanesConvTranspose2d && _layers[i + 1] is BatchNorm { LanesLayout: true, OutputRows.Length: 0 } norm)
                ((ConvModule)_layers[i]).EvaluationNorm = norm;
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
    public bool IsInterleaved(int layer) => _layout[layer] == Layout.Interleaved;

    /// <summary>Whether layer i computes on lanes tensors.</summary>
    public bool IsLanes(int layer) => _layout[layer] == Layout.Lanes;

    public bool HasConvolutions => _layers.Any(l => l is ConvModule);

    /// <summary>
    /// Runs the first <paramref name="count"/> layers on <paramref name="n"/> images and returns their output as (N, sample)
    /// rows; the span stays valid until the next call. Backward may follow when <paramref name="count"/> is every layer
    /// and the pass was not <paramref name="inference"/> only: an inference pass keeps nothing for Backward, and its layers
    /// write their outputs into two buffers they share (BufferPair), so a pass touches 2 activations' memory, not 17.
    /// <paramref name="imagesKept"/>: the caller keeps <paramref name="images"/> pinned and unchanged until the Backward
    /// that follows, so the layers may read them there instead of copying them (the native model's gathered shard).
    /// </summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> images, int n, int count, bool inference = false, bool imagesKept = false)
    {
        UseSharedOutputs(inference);
        int inputLength = _spec.Input.Length;
        if (images.Length != n * inputLength)
            throw new ArgumentException($"images has {images.Length} floats, expected {n} x {inputLength}.", nameof(images));
        ReadOnlySpan<float> x = images;
        Layout current = Layout.Rows;
        int padded = Lanes.Padded(n);
        for (int i = 0; i <= count; i++)
        {
            x = ForwardLayout(i, i < count ? _layout[i] : Layout.Rows, ref current, x, n, padded);
            // The fold only when the batch norm runs next in this call, in evaluation mode.
            if (i < count && _layers[i] is ConvModule { EvaluationNorm: { Training: false } } conv) conv.FoldEvaluationNorm = i + 1 < count;
            if (i < count)
            {
                Borrow(i, x, images, imagesKept);
                x = _layers[i].Forward(x, Shape(i, Batch(i, n, padded)));
            }
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
        if (_inference) throw new InvalidOperationException("Backward after an inference-only Forward, which keeps nothing for it; run Forward with inference: false.");
        if (dOutput.Length != n * _spec.Shapes[count].Length)
            throw new ArgumentException($"dOutput has {dOutput.Length} floats, expected {n} x {_spec.Shapes[count].Length} from the last Forward.", nameof(dOutput));
        int padded = Lanes.Padded(n);
        ReadOnlySpan<float> d = dOutput;
        Layout current = Layout.Rows;
        for (int i = count; i >= 0; i--)
        {
            if (i == 0 && !computeInputGradient) return [];
            d = BackwardLayout(i, i > 0 ? _layout[i - 1] : Layout.Rows, ref current, d, n, padded);  // the layout of layer i-1's output
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
    /// <remarks>
    /// With <paramref name="lanesOutput"/> (only where <see cref="LossInLanes"/>) the output stays in the lanes layout, (R, L)
    /// rows in <see cref="OutputLanesOrder"/>, for a loss computed there (Reductions.SquaredErrorLanes).
    /// </remarks>
    public int ForwardSegment(ReadOnlySpan<float> images, int n, int start, out ReadOnlySpan<float> output, bool lanesOutput = false)
    {
        if (lanesOutput && !LossInLanes) throw new InvalidOperationException("This network's output is not in the lanes layout.");
        UseSharedOutputs(false);
        int count = _layers.Length, padded = Lanes.Padded(n);
        ReadOnlySpan<float> x;
        Layout current = Layout.Rows;
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
            current = _layout[start];
            i = start + 1;
        }
        for (; i <= count; i++)
        {
            x = ForwardLayout(i, i < count ? _layout[i] : lanesOutput ? Layout.Lanes : Layout.Rows, ref current, x, n, padded);
            if (i == count) break;
            if (_layers[i] is BatchNorm bn)
            {
                bn.BeginForward(x, Shape(i, n));
                output = default;
                _lastBatch = n;
                return i;
            }
            Borrow(i, x, images, imagesKept: false);  // a worker gathers its next shard's images into the same buffer
            x = _layers[i].Forward(x, Shape(i, Batch(i, n, padded)));
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
    /// <remarks>With <paramref name="lanesGradient"/>, dOutput (from the loss only) is in the lanes layout, as a lanes output.</remarks>
    public int BackwardSegment(ReadOnlySpan<float> dOutput, int start, bool lanesGradient = false)
    {
        int n = _lastBatch, count = _layers.Length, padded = Lanes.Padded(n);
        ReadOnlySpan<float> d;
        Layout current = Layout.Rows;
        if (start == count)
        {
            if (_lastCount != count) throw new InvalidOperationException("BackwardSegment needs a complete ForwardSegment first.");
            if (lanesGradient && !LossInLanes) throw new InvalidOperationException("This network's output is not in the lanes layout.");
            int rows = lanesGradient ? padded : n;
            if (dOutput.Length != rows * _spec.Shapes[count].Length)
                throw new ArgumentException($"dOutput has {dOutput.Length} floats, expected {rows} x {_spec.Shapes[count].Length}.", nameof(dOutput));
            d = dOutput;
            if (lanesGradient) current = Layout.Lanes;
        }
        else if (lanesGradient) throw new ArgumentException("Only the loss's gradient can be in the lanes layout.", nameof(lanesGradient));
        else
        {
            if (_layers[start] is not BatchNorm resumed) throw new ArgumentException($"Layer {start} is not a batch-norm layer.", nameof(start));
            if (start == 0) return -1;
            d = resumed.FinishBackward();
            current = _layout[start];
        }
        // Layer `layer`'s output gradient is d; its layout must be that layer's.
        for (int layer = start - 1; layer >= 0; layer--)
        {
            d = BackwardLayout(layer + 1, _layout[layer], ref current, d, n, padded);
            if (_layers[layer] is BatchNorm bn)
            {
                bn.BeginBackward(d);
                return layer;
            }
            d = _layers[layer].Backward(d, computeInputGradient: layer > 0);
        }
        return -1;
    }

    /// <summary>
    /// Whether a training loss can be computed on the lanes layout (ForwardSegment's lanesOutput): the first and last layers
    /// are lanes layers and the output has the input's shape, so that <see cref="LanesInput"/> holds the targets of an
    /// autoencoder in the same rows.
    /// </summary>
    public bool LossInLanes => _layers.Length > 0 && _layout[0] == Layout.Lanes && _layout[^1] == Layout.Lanes && _spec.Shapes[^1] == _spec.Input;

    /// <summary>The rows order of a lanes output (Lanes.ToRows's map); empty for the rows' own order.</summary>
    public ReadOnlySpan<int> OutputLanesOrder => LanesOrder(_spec.Shapes[^1]);

    /// <summary>The last ForwardSegment's images in the lanes layout (where <see cref="LossInLanes"/>), as the first layer read them.</summary>
    public ReadOnlySpan<float> LanesInput
    {
        get
        {
            if (!LossInLanes || _lastBatch < 1) throw new InvalidOperationException("No lanes input: run ForwardSegment on a lanes network first.");
            return ScratchBuffers.View(_forwardRelayout[0], Lanes.Padded(_lastBatch) * _spec.Input.Length);
        }
    }

    // Layer i may keep a pointer to its input x when x is one of this network's activations or relayout buffers (pinned,
    // written again only by their layer's next Forward), or the caller's images when the caller keeps them; a layer that
    // passes its input through (a rows Flatten) hands the images on, so the test is whether x lies in them.
    private void Borrow(int i, ReadOnlySpan<float> x, ReadOnlySpan<float> images, bool imagesKept) =>
        _layers[i].BorrowsInput = imagesKept || !x.Overlaps(images);

    private void UseSharedOutputs(bool inference)
    {
        if (inference == _inference) return;
        foreach (Module layer in _layers) layer.Outputs = inference ? _shared : null;
        _inference = inference;
    }

    private TensorShape Shape(int layer, int n)
    {
        SampleShape s = _spec.Shapes[layer];
        return new TensorShape(n, s.C, s.H, s.W);
    }

    private enum Layout { Rows, Interleaved, Lanes }

    // The batch size a layer's shape carries: interleaved layers and element-wise layers between lanes layers see the padded
    // batch as plain data; the lanes layers see the real batch and pad it themselves.
    private int Batch(int layer, int n, int padded) => _layout[layer] switch
    {
        Layout.Interleaved => padded,
        Layout.Lanes when _layers[layer] is Activation => padded,
        _ => n,
    };

    // Every layer in the lanes layout when a convolution needs it (a stride or padding); else maximal runs of layers that the
    // interleaved kernels can compute (stride-1 unpadded convolutions and element-wise layers) go interleaved when they
    // hold at least one convolution, and the rest stay on rows.
    private static Layout[] PlanLayout(IReadOnlyList<LayerSpec> layers)
    {
        var plan = new Layout[layers.Count];
        if (layers.Any(l => l is Conv2dSpec or ConvTranspose2dSpec && !Interleavable(l)))
        {
            Array.Fill(plan, Layout.Lanes);
            return plan;
        }
        for (int start = 0; start < layers.Count;)
        {
            int end = start;
            while (end < layers.Count && Interleavable(layers[end])) end++;
            bool hasConvolution = false;
            for (int i = start; i < end; i++) hasConvolution |= layers[i] is Conv2dSpec or ConvTranspose2dSpec;
            for (int i = start; i < end; i++) plan[i] = hasConvolution ? Layout.Interleaved : Layout.Rows;
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

    private static Module Build(LayerSpec layer, Layout layout, LayerSpec? next)
    {
        bool lanes = layout == Layout.Lanes;
        return layer switch
        {
            LinearSpec l when lanes => new LanesLinear(l.InFeatures, l.OutFeatures),
            LinearSpec l => new Linear(l.InFeatures, l.OutFeatures),
            Conv2dSpec c when lanes => new LanesConv2d(c.InChannels, c.OutChannels, c.KernelSize, c.Stride, c.Padding),
            Conv2dSpec c when layout == Layout.Interleaved => new InterleavedConv2d(c.InChannels, c.OutChannels, c.KernelSize),
            Conv2dSpec c => new Conv2d(c.InChannels, c.OutChannels, c.KernelSize, c.Stride, c.Padding),
            ConvTranspose2dSpec t when lanes => new LanesConvTranspose2d(t.InChannels, t.OutChannels, t.KernelSize, t.Stride, t.Padding, t.OutputPadding),
            ConvTranspose2dSpec t when layout == Layout.Interleaved => new InterleavedConvTranspose2d(t.InChannels, t.OutChannels, t.KernelSize),
            ConvTranspose2dSpec t => new ConvTranspose2d(t.InChannels, t.OutChannels, t.KernelSize, t.Stride, t.Padding, t.OutputPadding),
            ReLUSpec => new ReLU(),
            BatchNorm2dSpec b => new BatchNorm2d(b.NumFeatures, b.Eps, b.Momentum) { LanesLayout = lanes, FusedRelu = lanes && next is ReLUSpec },
            BatchNorm1dSpec b => new BatchNorm1d(b.NumFeatures, b.Eps, b.Momentum) { LanesLayout = lanes, FusedRelu = lanes && next is ReLUSpec },
            SigmoidSpec => new Sigmoid(),
            FlattenSpec => new Flatten(lanes),
            UnflattenSpec u => new Unflatten(u.Channels, u.Height, u.Width, lanes),
            _ => throw new NotSupportedException($"The native engine has no implementation of {layer}."),
        };
    }

    /// <summary>
    /// Before forward layer <paramref name="i"/> (or the output, i == count): the activations <paramref name="x"/> in the
    /// layout that layer wants: rows, interleaved (images in groups of DirectConv.Lanes) or lanes, padded to <paramref name="padded"/>.
    /// </summary>
    private ReadOnlySpan<float> ForwardLayout(int i, Layout wanted, scoped ref Layout current, ReadOnlySpan<float> x, int n, int padded) =>
        Relayout(ref _forwardRelayout[i], _spec.Shapes[i], wanted, ref current, x, n, padded);

    /// <summary>Before backward layer i-1: dLoss/d(its output) in that layer's layout (padding lanes get zero gradient).</summary>
    private ReadOnlySpan<float> BackwardLayout(int i, Layout wanted, scoped ref Layout current, ReadOnlySpan<float> d, int n, int padded) =>
        Relayout(ref _backwardRelayout[i], _spec.Shapes[i], wanted, ref current, d, n, padded);

    private readonly Dictionary<SampleShape, int[]> _lanesOrders = [];

    // Where a sample's rows (PyTorch's (C, H, W) order) go in the lanes layout's (H*W, C) order; empty when the two agree
    // (one channel, or one position).
    private int[] LanesOrder(SampleShape s)
    {
        if (s.C == 1 || s.H * s.W == 1) return [];
        if (!_lanesOrders.TryGetValue(s, out int[]? order)) _lanesOrders[s] = order = Lanes.Inverse(Lanes.ChannelsFirstOrder(s.C, s.H * s.W));
        return order;
    }

    private ReadOnlySpan<float> Relayout(ref float[] buffer, SampleShape shape, Layout wanted, scoped ref Layout current, ReadOnlySpan<float> x, int n, int padded)
    {
        int length = shape.Length;
        if (wanted == current) return x;
        Layout from = current;
        current = wanted;
        if (from != Layout.Rows && wanted != Layout.Rows) throw new InvalidOperationException($"No relayout from {from} to {wanted}.");
        if (wanted == Layout.Rows)
        {
            Span<float> rows = ScratchBuffers.Rent(ref buffer, n * length);
            if (from == Layout.Interleaved) DirectConv.Deinterleave(x, n, length, rows);
            else Lanes.ToRows(x, n, length, rows, LanesOrder(shape));
            return rows;
        }
        Span<float> packed = ScratchBuffers.Rent(ref buffer, padded * length);
        if (wanted == Layout.Interleaved) DirectConv.Interleave(x, n, length, packed);
        else Lanes.FromRows(x, n, length, packed, LanesOrder(shape));
        return packed;
    }
}
