// Everything that defines a training run besides the data split (which holds the one seed) and the engine that
// computes it (ComputeOptions). Defaults are the tutorial's.
using AeMnist.Models;
using AeMnist.Scoring;
using AeMnist.Tensors;

namespace AeMnist.Training;

/// <summary>How the learning rate moves over the epochs (--lr-schedule).</summary>
public enum LrSchedule
{
    /// <summary>--lr throughout (the tutorial's; the default).</summary>
    Constant,

    /// <summary>
    /// Cosine annealing to zero over the run, set once per epoch as torch.optim.lr_scheduler.CosineAnnealingLR(T_max=epochs,
    /// eta_min=0) stepped after every epoch: epoch e (0-based) trains at lr · (1 + cos(π e / epochs)) / 2.
    /// </summary>
    Cosine,
}

public enum KeepCheckpoint
{
    /// <summary>Keep the weights of the evaluation with the lowest monitored loss (default).</summary>
    Best,

    /// <summary>Keep the weights after the last epoch, as the tutorial does.</summary>
    Last,
}

/// <summary>
/// Training hyper-parameters and the model's architecture; every field is recorded in run.json. <see cref="Score"/> is
/// the anomaly score the stored threshold is computed with; <see cref="Noise"/> the standard deviation of the Gaussian
/// noise added to the inputs (clipped to [0, 1]) of a denoising autoencoder, whose targets stay the clean images.
/// </summary>
public sealed record TrainOptions(
    string Model = "dense",
    ArchitectureSettings? Settings = null,
    int Epochs = 100,
    int BatchSize = 512,
    double LearningRate = 0.01,
    double WeightDecay = 0.0,
    int EvalEvery = 10,
    int Patience = 3,
    KeepCheckpoint Keep = KeepCheckpoint.Best,
    double Contamination = 0.1,
    ScoreKind Score = ScoreKind.Mse,
    double Noise = 0.0,
    LrSchedule Schedule = LrSchedule.Constant,
    ImageShape? Image = null)
{
    /// <summary>The learning rate of epoch <paramref name="epoch"/> (0-based) under <see cref="Schedule"/>.</summary>
    public double LearningRateAt(int epoch) => Schedule switch
    {
        LrSchedule.Cosine => LearningRate * (1 + Math.Cos(Math.PI * epoch / Epochs)) / 2,
        _ => LearningRate,
    };

    private static readonly (string Name, LrSchedule Value)[] Schedules = [("constant", LrSchedule.Constant), ("cosine", LrSchedule.Cosine)];
    private static readonly (string Name, KeepCheckpoint Value)[] Keeps = [("best", KeepCheckpoint.Best), ("last", KeepCheckpoint.Last)];

    /// <summary>"constant", "cosine".</summary>
    public static string ScheduleName(LrSchedule schedule) => Schedules.First(s => s.Value == schedule).Name;

    /// <summary>The schedule called <paramref name="text"/> (any case, spaces around it allowed).</summary>
    public static bool TryParseSchedule(string text, out LrSchedule schedule) => TryParse(Schedules, text, out schedule);

    /// <summary>The schedule called <paramref name="text"/>; anything else is an <see cref="ArgumentException"/> naming --lr-schedule.</summary>
    public static LrSchedule ParseSchedule(string text) => Parse(Schedules, text, "--lr-schedule", "a schedule");

    /// <summary>"best", "last".</summary>
    public static string KeepName(KeepCheckpoint keep) => Keeps.First(k => k.Value == keep).Name;

    /// <summary>The choice called <paramref name="text"/> (any case, spaces around it allowed).</summary>
    public static bool TryParseKeep(string text, out KeepCheckpoint keep) => TryParse(Keeps, text, out keep);

    /// <summary>The choice called <paramref name="text"/>; anything else is an <see cref="ArgumentException"/> naming --keep.</summary>
    public static KeepCheckpoint ParseKeep(string text) => Parse(Keeps, text, "--keep", "a choice");

    // One rule for the named choices of an option: the name in any case, spaces around it allowed.
    private static bool TryParse<T>((string Name, T Value)[] choices, string text, out T value)
    {
        string key = text.Trim().ToLowerInvariant();
        foreach (var (name, v) in choices)
            if (name == key) { value = v; return true; }
        value = default!;
        return false;
    }

    private static T Parse<T>((string Name, T Value)[] choices, string text, string option, string what) => TryParse(choices, text, out T value) ? value
        : throw new ArgumentException($"{option} {IO.MessageText.Quote(text, 40)} is not {what}; use {string.Join(" or ", choices.Select(c => c.Name))}");

    /// <summary>
    /// How <paramref name="architecture"/> is trained when nothing else is said (its <see cref="Architecture.Recipe"/>), as
    /// options, with the recipe's validation fraction.
    /// </summary>
    public static (TrainOptions Options, double Validation) Recipe(Architecture architecture)
    {
        TrainingRecipe r = architecture.Recipe;
        return (new TrainOptions(Model: architecture.Name, Epochs: r.Epochs, BatchSize: r.BatchSize, LearningRate: r.LearningRate, EvalEvery: r.EvalEvery,
            Patience: r.Patience, Keep: r.KeepBest ? KeepCheckpoint.Best : KeepCheckpoint.Last, Score: r.Score), r.Validation);
    }

    /// <summary>The optimiser these options train with: Adam (torch.optim.Adam) at <see cref="LearningRate"/> and <see cref="WeightDecay"/>.</summary>
    public Optim.AdamOptions Optimizer => new(LearningRate: LearningRate, WeightDecay: WeightDecay);

    /// <summary>The architecture <see cref="Model"/> names.</summary>
    public Architecture Architecture => Architectures.Get(Model);

    /// <summary>The architecture's settings: <see cref="Settings"/>, or its defaults.</summary>
    public ArchitectureSettings ResolvedSettings => Settings ?? Architecture.Settings(new Dictionary<string, string>());

    /// <summary>The shape of the images the model takes (<see cref="Image"/>, MNIST's when not set).</summary>
    public ImageShape ResolvedImage => Image ?? ImageShape.Mnist;

    /// <summary>The model these options train.</summary>
    public ModelSpec Spec() => Architecture.Spec(ResolvedSettings, ResolvedImage);

    /// <summary>Throws <see cref="ArgumentException"/> naming the option when a value is impossible.</summary>
    public void Validate()
    {
        Architecture architecture = Architecture;
        if (Settings is { } settings && !settings.SameAs(architecture.Settings(settings.Texts.ToDictionary(t => t.Name, t => t.Text))))
            throw new ArgumentException($"the settings ({settings}) are not those of the {architecture.Name} model");
        if (Epochs <= 0) throw new ArgumentException($"--epochs must be positive, got {Epochs}");
        if (BatchSize <= 0) throw new ArgumentException($"--batch-size must be positive, got {BatchSize}");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new ArgumentException($"--lr must be a positive number, got {LearningRate}");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay))
            throw new ArgumentException($"--weight-decay must be 0 or a positive number, got {WeightDecay}");
        if (EvalEvery <= 0) throw new ArgumentException($"--eval-every must be positive, got {EvalEvery}");
        if (Patience <= 0) throw new ArgumentException($"--patience must be positive, got {Patience}");
        if (!(Noise >= 0 && Noise <= 10))
            throw new ArgumentException($"--noise must be a standard deviation from 0 to 10, got {Noise}");
        if (!(Contamination > 0 && Contamination <= 0.5))
            throw new ArgumentException($"--contamination {Contamination} must be in (0, 0.5]");
        ModelSpec.CheckSize(Spec());
    }
}
