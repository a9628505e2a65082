// The latent projection's PCA: known components and variance shares, determinism, and the sign convention.
using AeMnist.Reporting;

namespace AeMnist.Core.Tests.Reporting;

public class PcaTests
{
    [Fact]
    public void Project_FindsTheAxesOfAnEllipse()
    {
        // Points spread 3x more along (1, 1, 0)/√2 than along (1, -1, 0)/√2, nothing along z, shifted off the origin.
        var rng = new Rng(3);
        const int n = 2000;
        var data = new float[n * 3];
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        for (int i = 0; i < n; i++)
        {
            double a = 3 * Gauss(), b = Gauss();
            data[3 * i] = (float)(5 + (a + b) / Math.Sqrt(2));
            data[3 * i + 1] = (float)(-2 + (a - b) / Math.Sqrt(2));
            data[3 * i + 2] = 7;
        }
        var (scores, explained, components) = Pca.Project(data, n, 3);
        Assert.Equal(1 / Math.Sqrt(2), Math.Abs(components[0]), 2);
        Assert.Equal(1 / Math.Sqrt(2), Math.Abs(components[1]), 2);
        Assert.True(components[0] * components[1] > 0, "first component along (1, 1)");
        Assert.True(components[3] * components[4] < 0, "second component along (1, -1)");
        Assert.Equal(0, components[2], 6);
        Assert.Equal(0.9, explained[0], 1);
        Assert.Equal(1, explained[0] + explained[1], 6);
        // Scores are centred, and the sign convention makes the largest entry of each component positive.
        Assert.Equal(0, Enumerable.Range(0, n).Average(i => scores[2 * i]), 6);
        Assert.True(components.Take(3).MaxBy(Math.Abs) > 0);
        Assert.Equal(scores, Pca.Project(data, n, 3).Scores);
    }

    [Fact]
    public void Project_RejectsBadShapes()
    {
        Assert.Throws<ArgumentException>(() => Pca.Project(new float[5], 2, 3));
        Assert.Throws<ArgumentException>(() => Pca.Project(new float[6], 2, 3, k: 4));
    }
}
