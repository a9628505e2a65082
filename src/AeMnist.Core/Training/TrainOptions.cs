// Everything that defines a training run besides the data split. Defaults are the tutorial's.
namespace AeMnist.Training;

public enum KeepCheckpoint
{
    /// <summary>Keep the weights of the evaluation with the lowest monitored loss (default).</summary>
    Best,

    /// <summary>Keep the weights after the last epoch, as the tutorial does.</summary>
    Last,
}

/// <summary>Training hyper-parameters and model shape; every field is recorded in run.json.</summary>
public sealed record TrainOptions(
    string Model = "dense",
    int[]? Hidden = null,
    int Epochs = 100,
    int BatchSize = 512,
    double LearningRate = 0.01,
    double WeightDecay = 0.0,
    int EvalEvery = 10,
    int Patience = 3,
    KeepCheckpoint Keep = KeepCheckpoint.Best,
    double Contamination = 0.1,
    ulong Seed = 42,
    int Threads = 1)
{
    public static readonly int[] DefaultHidden = [64, 32];

    public int[] HiddenOrDefault => Hidden ?? DefaultHidden;

    /// <summary>Throws <see cref="ArgumentException"/> naming the option when a value is impossible.</summary>
    public void Validate()
    {
        if (Model is not ("dense" or "conv"))
            throw new ArgumentException($"--model '{Model}' is not a model; use dense or conv");
        if (Hidden is { } hidden && (hidden.Length == 0 || hidden.Any(h => h <= 0)))
            throw new ArgumentException("--hidden needs one or more positive layer sizes, e.g. 64,32");
        if (Epochs <= 0) throw new ArgumentException($"--epochs must be positive, got {Epochs}");
        if (BatchSize <= 0) throw new ArgumentException($"--batch-size must be positive, got {BatchSize}");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new ArgumentException($"--lr must be a positive number, got {LearningRate}");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay))
            throw new ArgumentException($"--weight-decay must be 0 or a positive number, got {WeightDecay}");
        if (EvalEvery <= 0) throw new ArgumentException($"--eval-every must be positive, got {EvalEvery}");
        if (Patience <= 0) throw new ArgumentException($"--patience must be positive, got {Patience}");
        if (!(Contamination > 0 && Contamination <= 0.5))
            throw new ArgumentException($"--contamination {Contamination} must be in (0, 0.5]");
        if (Threads <= 0) throw new ArgumentException($"--threads must be positive, got {Threads}");
    }
}
