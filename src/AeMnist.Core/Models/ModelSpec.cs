// A model as a description: its architecture and settings, its input, its encoder and decoder layers. From it come
// the state-dict names and shapes every engine and file uses, the latent (encoder output) shape and the seeded
// initial weights, so all engines start from the same numbers.
using AeMnist.Tensors;

namespace AeMnist.Models;

/// <summary>
/// One entry of a model's state dict: "encoder.0.weight", its shape, and how it starts: U(±1/sqrt(FanIn)), or
/// <see cref="Constant"/> everywhere when set. A buffer (<see cref="IsBuffer"/>: running statistics) is saved and
/// loaded like a parameter but never trained.
/// </summary>
public sealed record StateEntry(string Name, int[] Shape, int FanIn, int Length, float? Constant = null, bool IsBuffer = false);

/// <summary>An autoencoder: images of shape <see cref="Input"/> through <see cref="Encoder"/>, then <see cref="Decoder"/>, back to <see cref="Input"/>.</summary>
public sealed class ModelSpec
{
    public ModelSpec(Architecture architecture, ArchitectureSettings settings, SampleShape input, IReadOnlyList<LayerSpec> encoder, IReadOnlyList<LayerSpec> decoder,
        ImageShape? image = null)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        if (encoder.Count == 0 || decoder.Count == 0) throw new ArgumentException("An autoencoder needs encoder and decoder layers.");
        Architecture = architecture;
        Settings = settings;
        Input = input;
        Image = image ?? (input.IsVector ? new ImageShape(1, 1, input.C) : new ImageShape(input.C, input.H, input.W));
        if (Image.Length != input.Length)
            throw new ArgumentException($"{architecture.Name}: images of {Image} have {Image.Length} values, but the input takes {input.Length}.");
        Encoder = encoder;
        Decoder = decoder;
        var shapes = new List<SampleShape> { input };
        foreach (LayerSpec layer in Layers) shapes.Add(layer.OutputShape(shapes[^1]));
        if (shapes[^1] != input)
            throw new ArgumentException($"{architecture.Name}: the decoder gives {shapes[^1]}, not the input shape {input}.");
        Shapes = shapes;
        Latent = shapes[encoder.Count];
        var entries = new List<StateEntry>();
        for (int i = 0; i < Layers.Count; i++)
        {
            foreach (ParameterSpec p in Layers[i].Parameters)
                entries.Add(new StateEntry(LayerName(i) + "." + p.Name, p.Shape, p.FanIn, p.Length, p.Constant));
            foreach (BufferSpec b in Layers[i].Buffers)
                entries.Add(new StateEntry(LayerName(i) + "." + b.Name, b.Shape, 0, b.Length, b.Initial, IsBuffer: true));
        }
        StateEntries = entries;
    }

    public Architecture Architecture { get; }

    /// <summary>The settings the layers were built from (e.g. dense's hidden sizes).</summary>
    public ArchitectureSettings Settings { get; }

    public SampleShape Input { get; }

    /// <summary>The images the model takes: its input's (C, H, W), or, for a model that flattens them (dense, pca), theirs.</summary>
    public ImageShape Image { get; }

    public IReadOnlyList<LayerSpec> Encoder { get; }

    public IReadOnlyList<LayerSpec> Decoder { get; }

    /// <summary>Encoder layers, then decoder layers.</summary>
    public IReadOnlyList<LayerSpec> Layers => [.. Encoder, .. Decoder];

    /// <summary>Shapes[i] is the input of layer i; the last is the output (= <see cref="Input"/>).</summary>
    public IReadOnlyList<SampleShape> Shapes { get; }

    /// <summary>The encoder's output for one image: the latent code.</summary>
    public SampleShape Latent { get; }

    /// <summary>
    /// The state dict's entries in PyTorch's state_dict() order: per layer its parameters (named_parameters() order),
    /// then its buffers.
    /// </summary>
    public IReadOnlyList<StateEntry> StateEntries { get; }

    /// <summary>The trained entries (no buffers), in named_parameters() order.</summary>
    public IReadOnlyList<StateEntry> ParameterEntries => [.. StateEntries.Where(e => !e.IsBuffer)];

    /// <summary>Whether some layer has buffers (batch norm's running statistics).</summary>
    public bool HasBuffers => StateEntries.Any(e => e.IsBuffer);

    /// <summary>Trained values (buffers not counted).</summary>
    public long ParameterCount => StateEntries.Where(e => !e.IsBuffer).Sum(e => (long)e.Length);

    /// <summary>The most values a model may hold to be trained here (256 MB of weights; training holds several copies).</summary>
    public const long MaxParameters = 1L << 26;

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="spec"/> holds more than <see cref="MaxParameters"/> values.</summary>
    public static void CheckSize(ModelSpec spec)
    {
        long values = spec.StateEntries.Sum(e => (long)e.Length);
        if (values > MaxParameters)
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{spec.Describe()} has {values:N0} parameters, more than the {MaxParameters:N0} aemnist trains; choose smaller sizes"));
    }

    /// <summary>The state-dict prefix of layer <paramref name="index"/> of <see cref="Layers"/>: "encoder.2", "decoder.0".</summary>
    public string LayerName(int index) => index < Encoder.Count
        ? $"encoder.{index.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
        : $"decoder.{(index - Encoder.Count).ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>
    /// PyTorch's reset_parameters() for every layer in order, drawn from <paramref name="rng"/>: each tensor
    /// U(±1/sqrt(fan_in)), a layer's weight before its bias; constant entries (batch norm's weight, bias and
    /// buffers) take their value and draw nothing.
    /// </summary>
    public StateDict InitialWeights(Rng rng) => new(StateEntries.Select(e =>
    {
        var values = new float[e.Length];
        if (e.Constant is { } constant) Array.Fill(values, constant);
        else Init.Uniform(values, Init.KaimingUniformBound(e.FanIn), rng);
        return new NamedTensor(e.Name, (int[])e.Shape.Clone(), values);
    }));

    /// <summary>
    /// Checks that <paramref name="weights"/> has exactly this spec's tensors and shapes; throws
    /// <see cref="ArgumentException"/> naming the first difference.
    /// </summary>
    public void CheckWeights(StateDict weights)
    {
        foreach (StateEntry e in StateEntries)
        {
            if (!weights.TryGet(e.Name, out NamedTensor t))
                throw new ArgumentException($"tensor {IO.MessageText.Quote(e.Name)} is missing for {Describe()}");
            if (!t.Shape.SequenceEqual(e.Shape))
                throw new ArgumentException($"tensor {IO.MessageText.Quote(e.Name)} has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", e.Shape)}] for {Describe()}");
        }
        if (weights.Count != StateEntries.Count)
        {
            var known = StateEntries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
            throw new ArgumentException($"unexpected tensor {IO.MessageText.Quote(weights.Tensors.First(t => !known.Contains(t.Name)).Name)} for {Describe()}");
        }
    }

    /// <summary>"a dense model (hidden 64,32)", "a conv model", "a conv model of 3x40x40 images".</summary>
    public string Describe() => $"a {Architecture.Name} model{Architecture.DescribeSettings(Settings)}{(Image == ImageShape.Mnist ? "" : $" of {Image} images")}";

    /// <summary>The layers as PyTorch prints a Sequential pair.</summary>
    public override string ToString() =>
        $"encoder: {string.Join(", ", Encoder)}; decoder: {string.Join(", ", Decoder)}";
}
