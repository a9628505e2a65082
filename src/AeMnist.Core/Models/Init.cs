// PyTorch's default initialisation for Linear, Conv2d and ConvTranspose2d, drawn from the project's Rng.
// kaiming_uniform_(a=sqrt(5)) gives weights U(-b, b) with b = sqrt(3) * sqrt(2 / (1 + 5)) / sqrt(fan_in) = 1/sqrt(fan_in),
// and biases use the same bound. The numbers differ from PyTorch's (another generator); the distribution does not.
namespace AeMnist.Models;

public static class Init
{
    /// <summary>1/sqrt(fanIn), the bound of PyTorch's default weight and bias initialisation (0 when fanIn is 0).</summary>
    public static float KaimingUniformBound(int fanIn) => fanIn > 0 ? (float)(1.0 / Math.Sqrt(fanIn)) : 0f;

    /// <summary>Fills <paramref name="values"/> with independent draws from U(-bound, bound).</summary>
    public static void Uniform(Span<float> values, float bound, Rng rng)
    {
        for (int i = 0; i < values.Length; i++) values[i] = rng.NextSingle(-bound, bound);
    }
}
