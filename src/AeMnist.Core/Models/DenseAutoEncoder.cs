// The tutorial's AutoEncoder(784, 64, 32), generalised to any list of hidden sizes; ReLU after every Linear,
// the last one included. State dict: encoder.{2i}.weight/bias and decoder.{2i}.weight/bias.
using AeMnist.Layers;
using AeMnist.Tensors;

namespace AeMnist.Models;

// images (N, In) -> encoder (N, hidden[^1]) -> decoder (N, In)
public sealed class DenseAutoEncoder : AutoEncoder
{
    private readonly int[] _hidden;

    internal DenseAutoEncoder(int inputSize, int[] hidden)
        : base(BuildEncoder(inputSize, hidden), BuildDecoder(inputSize, hidden), inputSize)
    {
        _hidden = (int[])hidden.Clone();
    }

    public override string Kind => "dense";

    public override int[] Hidden => (int[])_hidden.Clone();

    // Larger shards: fewer per-shard gradient arrays to clear and add, longer weight-gradient sums.
    public override int ShardSize => 128;

    public override TensorShape InputShape(int n) => TensorShape.Dense(n, InputSize);

    protected override AutoEncoder CreateReplica() => new DenseAutoEncoder(InputSize, _hidden);

    private static Sequential BuildEncoder(int inputSize, int[] hidden)
    {
        Check(inputSize, hidden);
        var layers = new List<Module>();
        int previous = inputSize;
        foreach (int size in hidden)
        {
            layers.Add(new Linear(previous, size));
            layers.Add(new ReLU());
            previous = size;
        }
        return new Sequential([.. layers]);
    }

    private static Sequential BuildDecoder(int inputSize, int[] hidden)
    {
        var layers = new List<Module>();
        for (int i = hidden.Length - 1; i >= 0; i--)
        {
            layers.Add(new Linear(hidden[i], i > 0 ? hidden[i - 1] : inputSize));
            layers.Add(new ReLU());
        }
        return new Sequential([.. layers]);
    }

    private static void Check(int inputSize, int[] hidden)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        if (inputSize < 1) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "Input size must be positive.");
        if (hidden.Length == 0 || hidden.Any(h => h < 1))
            throw new ArgumentException($"Hidden sizes must be a non-empty list of positive numbers, got [{string.Join(", ", hidden)}].", nameof(hidden));
    }
}
