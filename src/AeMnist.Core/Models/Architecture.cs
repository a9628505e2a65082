// The base of every architecture: a name, the options it takes (dense's hidden sizes, ...), and how it builds its
// ModelSpec from them. Each architecture is one file in Models/ and one line in Architectures; nothing else in the
// code knows which architectures exist.
using System.Globalization;
using AeMnist.Tensors;

namespace AeMnist.Models;

/// <summary>
/// An integer (or list of integers) an architecture is built from, e.g. dense's "hidden" sizes. It is the option
/// --NAME of train, the metadata key NAME of model.safetensors, and the field NAME of run.json's options.
/// </summary>
public sealed record ArchitectureOption(string Name, string HelpName, string Description, int[] Default, bool IsList = false, int Min = 1, int Max = 16384)
{
    /// <summary>Parses "64,32" (or "16" when not a list); throws <see cref="ArgumentException"/> naming --NAME.</summary>
    public int[] Parse(string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        string expected = Expected;
        if (parts.Length == 0 || (!IsList && parts.Length != 1))
            throw new ArgumentException($"--{Name} '{text}' must be {expected}");
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!parts[i].All(char.IsAsciiDigit) || !int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]) || values[i] < Min || values[i] > Max)
                throw new ArgumentException($"--{Name} '{text}' must be {expected}");
        return values;
    }

    /// <summary>"integers 1-16384 separated by commas, e.g. 64,32".</summary>
    public string Expected => IsList ? $"integers {Min}-{Max} separated by commas, e.g. {Format(Default)}" : $"an integer {Min}-{Max}, e.g. {Format(Default)}";

    public static string Format(int[] values) => string.Join(",", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));
}

/// <summary>The values of an architecture's options, complete and valid, in the architecture's option order.</summary>
public sealed class ArchitectureSettings
{
    private readonly (ArchitectureOption Option, int[] Values)[] _items;

    internal ArchitectureSettings((ArchitectureOption, int[])[] items) => _items = items;

    public static ArchitectureSettings Empty { get; } = new([]);

    public IReadOnlyList<(ArchitectureOption Option, int[] Values)> Items => _items;

    /// <summary>The values of <paramref name="option"/>.</summary>
    public int[] this[ArchitectureOption option] =>
        (int[])(_items.FirstOrDefault(i => i.Option.Name == option.Name).Values ?? throw new KeyNotFoundException($"no setting '{option.Name}'")).Clone();

    /// <summary>NAME → "64,32", for model metadata.</summary>
    public IEnumerable<(string Name, string Text)> Texts => _items.Select(i => (i.Option.Name, ArchitectureOption.Format(i.Values)));

    public bool SameAs(ArchitectureSettings other) =>
        _items.Length == other._items.Length && _items.Zip(other._items).All(p => p.First.Option.Name == p.Second.Option.Name && p.First.Values.SequenceEqual(p.Second.Values));

    public override string ToString() => string.Join(", ", Texts.Select(t => $"{t.Name} {t.Text}"));
}

/// <summary>
/// How an architecture is trained when nothing else is said: the tutorial's settings by default (100 epochs, batch 512,
/// Adam 0.01, an evaluation every 10 epochs, patience 3, the best weights kept, scored by mse, no validation split).
/// </summary>
public sealed record TrainingRecipe(
    int Epochs = 100,
    int BatchSize = 512,
    double LearningRate = 0.01,
    int EvalEvery = 10,
    int Patience = 3,
    bool KeepBest = true,
    Scoring.ScoreKind Score = Scoring.ScoreKind.Mse,
    double Validation = 0.0);

public abstract class Architecture
{
    /// <summary>The name users give to --model and files record: "dense", "conv".</summary>
    public abstract string Name { get; }

    /// <summary>One line for --help: what the layers are.</summary>
    public abstract string Summary { get; }

    /// <summary>The options this architecture is built from (none for a fixed architecture).</summary>
    public virtual IReadOnlyList<ArchitectureOption> Options => [];

    /// <summary>
    /// How this architecture is trained when nothing else is said (train's defaults for options the user did not give,
    /// and the benchmark's). The tutorial's models keep the tutorial's.
    /// </summary>
    public virtual TrainingRecipe Recipe => new();

    /// <summary>True for an architecture whose weights are computed in closed form (<see cref="Fit"/>) instead of trained.</summary>
    public virtual bool FitsExactly => false;

    /// <summary>
    /// The exact weights for <paramref name="n"/> training images (only where <see cref="FitsExactly"/>), computed on up to
    /// <paramref name="threads"/> threads; the same bits for any thread count.
    /// </summary>
    public virtual StateDict Fit(ModelSpec spec, ReadOnlySpan<float> images, int n, int threads = 1) =>
        throw new NotSupportedException($"the {Name} model is trained, not fitted");

    /// <summary>The layers for complete, valid <paramref name="settings"/> and images of <paramref name="image"/>'s shape (checked by <see cref="CheckImage"/>).</summary>
    protected abstract ModelSpec Build(ArchitectureSettings settings, ImageShape image);

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when this architecture cannot take images of <paramref name="image"/>'s shape
    /// (too small for its kernels, a size its strides cannot halve back), saying what it needs.
    /// </summary>
    public virtual void CheckImage(ImageShape image)
    {
        if (image.Channels < 1 || image.Height < 1 || image.Width < 1)
            throw new ArgumentException($"images of {image} have no pixels");
    }

    /// <summary>
    /// The spec for <paramref name="settings"/> (null: every option at its default) and images of
    /// <paramref name="image"/>'s shape (null: MNIST's, one channel of 28x28).
    /// </summary>
    public ModelSpec Spec(ArchitectureSettings? settings = null, ImageShape? image = null)
    {
        ImageShape shape = image ?? ImageShape.Mnist;
        CheckImage(shape);
        return Build(settings ?? Settings(new Dictionary<string, string>()), shape);
    }

    /// <summary>
    /// The image shape a state dict's tensors imply, for model files that do not record it: the architecture's input
    /// channels with MNIST's 28x28 unless the shapes say more (a dense model's input size); null when they say nothing.
    /// </summary>
    public virtual ImageShape? ImageFromShapes(IReadOnlyDictionary<string, int[]> shapes) => null;

    /// <summary>
    /// Settings from option texts (train's --NAME values, a model file's metadata), defaults for the rest. An option
    /// this architecture does not take is an <see cref="ArgumentException"/> naming the architectures that do.
    /// </summary>
    public ArchitectureSettings Settings(IReadOnlyDictionary<string, string> given)
    {
        foreach (string name in given.Keys)
            if (Options.All(o => o.Name != name))
            {
                string[] takers = [.. Architectures.All.Where(a => a.Options.Any(o => o.Name == name)).Select(a => a.Name)];
                throw new ArgumentException($"--{name} applies to the {string.Join(" and ", takers)} model{(takers.Length > 1 ? "s" : "")} only, not to {Name}");
            }
        return new ArchitectureSettings([.. Options.Select(o => (o, given.TryGetValue(o.Name, out string? text) ? o.Parse(text) : (int[])o.Default.Clone()))]);
    }

    /// <summary>Settings from explicit values (for code and tests); checked like parsed ones.</summary>
    public ArchitectureSettings Settings(params (ArchitectureOption Option, int[] Values)[] values) =>
        Settings(values.ToDictionary(v => v.Option.Name, v => ArchitectureOption.Format(v.Values)));

    /// <summary>
    /// Settings read off a state dict's tensor shapes, for model files that do not record them (e.g. saved from
    /// PyTorch); null when the shapes say nothing (the defaults apply) — the spec then checks every shape.
    /// </summary>
    public virtual ArchitectureSettings? SettingsFromShapes(IReadOnlyDictionary<string, int[]> shapes) => null;

    /// <summary>" (hidden 64,32)" for settings, "" for an architecture without options.</summary>
    public string DescribeSettings(ArchitectureSettings settings) => settings.Items.Count == 0 ? "" : $" ({settings})";

    public override string ToString() => Name;
}
