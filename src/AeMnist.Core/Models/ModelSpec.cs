// A model as a description: its architecture and settings, its input, its encoder and decoder layers. From it come
// the state-dict names and shapes every engine and file uses, the latent (encoder output) shape and the seeded
// initial weights, so all engines start from the same numbers.
namespace AeMnist.Models;

/// <summary>One entry of a model's state dict: "encoder.0.weight", its shape, and its layer's fan-in.</summary>
public sealed record StateEntry(string Name, int[] Shape, int FanIn, int Length);

/// <summary>An autoencoder: images of shape <see cref="Input"/> through <see cref="Encoder"/>, then <see cref="Decoder"/>, back to <see cref="Input"/>.</summary>
public sealed class ModelSpec
{
    public ModelSpec(Architecture architecture, ArchitectureSettings settings, SampleShape input, IReadOnlyList<LayerSpec> encoder, IReadOnlyList<LayerSpec> decoder)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        if (encoder.Count == 0 || decoder.Count == 0) throw new ArgumentException("An autoencoder needs encoder and decoder layers.");
        Architecture = architecture;
        Settings = settings;
        Input = input;
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
            foreach (ParameterSpec p in Layers[i].Parameters)
                entries.Add(new StateEntry(LayerName(i) + "." + p.Name, p.Shape, p.FanIn, p.Length));
        StateEntries = entries;
    }

    public Architecture Architecture { get; }

    /// <summary>The settings the layers were built from (e.g. dense's hidden sizes).</summary>
    public ArchitectureSettings Settings { get; }

    public SampleShape Input { get; }

    public IReadOnlyList<LayerSpec> Encoder { get; }

    public IReadOnlyList<LayerSpec> Decoder { get; }

    /// <summary>Encoder layers, then decoder layers.</summary>
    public IReadOnlyList<LayerSpec> Layers => [.. Encoder, .. Decoder];

    /// <summary>Shapes[i] is the input of layer i; the last is the output (= <see cref="Input"/>).</summary>
    public IReadOnlyList<SampleShape> Shapes { get; }

    /// <summary>The encoder's output for one image: the latent code.</summary>
    public SampleShape Latent { get; }

    /// <summary>The state dict's entries in PyTorch's named_parameters() order.</summary>
    public IReadOnlyList<StateEntry> StateEntries { get; }

    public long ParameterCount => StateEntries.Sum(e => (long)e.Length);

    /// <summary>The most parameters a model may have to be trained here (256 MB of weights; training holds several copies).</summary>
    public const long MaxParameters = 1L << 26;

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="spec"/> has more than <see cref="MaxParameters"/> parameters.</summary>
    public static void CheckSize(ModelSpec spec)
    {
        if (spec.ParameterCount > MaxParameters)
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{spec.Describe()} has {spec.ParameterCount:N0} parameters, more than the {MaxParameters:N0} aemnist trains; choose smaller sizes"));
    }

    /// <summary>The state-dict prefix of layer <paramref name="index"/> of <see cref="Layers"/>: "encoder.2", "decoder.0".</summary>
    public string LayerName(int index) => index < Encoder.Count
        ? $"encoder.{index.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
        : $"decoder.{(index - Encoder.Count).ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>
    /// PyTorch's reset_parameters() for every layer in order, drawn from <paramref name="rng"/>: each tensor
    /// U(±1/sqrt(fan_in)), a layer's weight before its bias.
    /// </summary>
    public StateDict InitialWeights(Rng rng) => new(StateEntries.Select(e =>
    {
        var values = new float[e.Length];
        Init.Uniform(values, Init.KaimingUniformBound(e.FanIn), rng);
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

    /// <summary>"a dense model (hidden 64,32)", "a conv model".</summary>
    public string Describe() => $"a {Architecture.Name} model{Architecture.DescribeSettings(Settings)}";

    /// <summary>The layers as PyTorch prints a Sequential pair.</summary>
    public override string ToString() =>
        $"encoder: {string.Join(", ", Encoder)}; decoder: {string.Join(", ", Decoder)}";
}
