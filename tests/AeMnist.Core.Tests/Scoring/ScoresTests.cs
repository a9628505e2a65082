// The scores against references computed in double by PyTorch's conv2d (tests/fixtures' conventions: 11x11 Gaussian
// SSIM window with sigma 1.5 over valid positions, 5x5 sigma-1 blur of the residual with zero padding).
using AeMnist.Scoring;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Scoring;

public class ScoresTests
{
    private static (float[] A, float[] B) Pair()
    {
        float[] a = new float[784], b = new float[784];
        for (int i = 0; i < 784; i++)
        {
            a[i] = (float)((Math.Sin(i * 0.37) + 1) / 2);
            b[i] = (float)(0.7 * ((Math.Sin(i * 0.37) + 1) / 2) + 0.1 + 0.05 * Math.Cos(i * 0.5));
        }
        return (a, b);
    }

    [Fact]
    public void SsimAndSmoothedErrorMatchAReferenceImplementation()
    {
        (float[] a, float[] b) = Pair();
        // torch: ((2 mu_a mu_b + C1)(2 s_ab + C2) / ((mu_a² + mu_b² + C1)(s_aa + s_bb + C2))).mean() in float64.
        Assert.Equal(0.9285253024720111, Scores.Ssim(a, b), 1e-6);
        Assert.Equal(0.002524897851952643, Scores.SmoothedError(a, b), 1e-6);
    }

    [Fact]
    public void IdenticalImagesScoreZeroAndWorseReconstructionsScoreHigher()
    {
        (float[] a, float[] b) = Pair();
        float[] worse = [.. b.Select(v => 0.5f * v)];
        foreach (ScoreKind kind in Scores.All)
        {
            float[] scores = new float[3];
            Scores.FromReconstructions(kind, [.. a, .. a, .. a], [.. a, .. b, .. worse], 3, ImageShape.Mnist, scores);
            Assert.Equal(0, scores[0], 1e-6);
            Assert.True(scores[1] > 0 && scores[2] > scores[1], $"{kind}: {string.Join(", ", scores)}");
        }
    }

    [Fact]
    public void MseScoreIsThePerImageMeanSquaredError()
    {
        (float[] a, float[] b) = Pair();
        float[] score = new float[1];
        Scores.FromReconstructions(ScoreKind.Mse, a, b, 1, ImageShape.Mnist, score);
        Assert.Equal(a.Zip(b).Average(p => (p.First - p.Second) * (double)(p.First - p.Second)), score[0], 1e-6);
    }

    [Theory]
    [InlineData("SSIM", ScoreKind.Ssim)]
    [InlineData(" mse ", ScoreKind.Mse)]
    [InlineData("smoothed", ScoreKind.Smoothed)]
    public void NamesParseInAnyCase(string text, ScoreKind expected) => Assert.Equal(expected, Scores.Parse(text));

    [Fact]
    public void AnUnknownScoreIsNamed() =>
        Assert.Equal("--score 'l1' is not a score; use mse, ssim, smoothed", Assert.Throws<ArgumentException>(() => Scores.Parse("l1")).Message);
}
