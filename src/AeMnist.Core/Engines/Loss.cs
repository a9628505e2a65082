// What training minimises, named by the trainer and computed by the engine: the engine owns the arithmetic (its kernels,
// on its device), the trainer and the detector only say which loss. Today there is one; a new loss is a case here and
// its kernels in every engine (the native engine says in one line when it has none).
namespace AeMnist.Engines;

/// <summary>A training loss and the per-image error it defines (for a whole batch, the mean over every element).</summary>
public abstract record Loss
{
    private Loss() { }

    /// <summary>nn.MSELoss(): the mean of (prediction - target)² over every element; per image, over the image's values.</summary>
    public sealed record MeanSquared : Loss
    {
        public override string ToString() => "mse";
    }

    /// <summary>The mean squared error.</summary>
    public static Loss Mse { get; } = new MeanSquared();
}
