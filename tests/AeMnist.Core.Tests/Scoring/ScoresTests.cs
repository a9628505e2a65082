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

    [Theory]
    [InlineData(11, 11, 11)]   // one output value
    [InlineData(28, 28, 11)]   // MNIST's ssim: 18 values a row, not a whole number of vectors
    [InlineData(32, 32, 5)]    // MNIST's smoothed (padded by 2 each side): 28 a row
    [InlineData(13, 14, 11)]   // rows shorter than a vector
    [InlineData(40, 37, 5)]
    [InlineData(15, 19, 5)]
    public void TheFilterIsItsNaiveTwinBitForBit(int h, int w, int taps)
    {
        var rng = new Random(h * 1000 + w);
        double[] image = [.. Enumerable.Range(0, h * w).Select(_ => rng.NextDouble() * 2 - 1)];
        double[] g = Scores.Gaussian(taps, taps == 11 ? 1.5 : 1.0);
        int vh = h - taps + 1, vw = w - taps + 1;
        double[] fast = new double[vh * vw], naive = new double[vh * vw];
        Scores.FilterValid(image, fast, g, new double[h * vw], h, w);
        Scores.FilterValidNaive(image, naive, g, h, w);
        for (int i = 0; i < fast.Length; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(fast[i]) == BitConverter.DoubleToInt64Bits(naive[i]), $"value {i}: {fast[i]:R} != {naive[i]:R}");
    }

    [Fact]
    public void IdenticalImagesScoreZeroAndWorseReconstructionsScoreHigher()
    {
        (float[] a, float[] b) = Pair();
        float[] worse = [.. b.Select(v => 0.5f * v)];
        foreach (ScoreKind kind in Scores.All.Where(k => !Scores.NeedsCalibration(k)))  // combined's zero is its normal images' (ScoreCalibrationTests)
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

    // An image and a reconstruction of awkward shapes, values spread over [0, 1], the reconstruction off by structure and noise.
    private static (float[] Image, float[] Reconstruction) Pair(ImageShape shape, ulong seed)
    {
        var rng = new Rng(seed);
        float[] x = new float[shape.Length], y = new float[shape.Length];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)((Math.Sin(i * 0.37 + (double)seed) + 1) / 2);
            y[i] = Math.Clamp(0.8f * x[i] + 0.1f + 0.2f * (rng.NextSingle() - 0.5f), 0, 1);
        }
        return (x, y);
    }

    [Theory]
    [InlineData(ScoreKind.Ssim)]
    [InlineData(ScoreKind.Smoothed)]
    public void ScoresAreTheSameBitsOnAnyNumberOfThreadsAndAloneOrInABatch(ScoreKind kind)
    {
        var shape = new ImageShape(3, 19, 26);
        const int n = 300;
        float[] x = new float[n * shape.Length], y = new float[n * shape.Length];
        for (int i = 0; i < n; i++)
        {
            (float[] a, float[] b) = Pair(shape, (ulong)i + 1);
            a.CopyTo(x, i * shape.Length);
            b.CopyTo(y, i * shape.Length);
        }
        float[] one = new float[n];
        Scores.FromReconstructions(kind, x, y, n, shape, one);
        foreach (int threads in new[] { 2, 3, 8 })
        {
            float[] many = new float[n];
            Scores.FromReconstructions(kind, x, y, n, shape, many, threads: threads);
            Assert.Equal(one, many);
        }
        // Each image's score is its own: the last image scored alone gives the same bits as in the batch.
        float[] alone = new float[1];
        Scores.FromReconstructions(kind, x.AsSpan((n - 1) * shape.Length), y.AsSpan((n - 1) * shape.Length), 1, shape, alone);
        Assert.Equal(one[^1], alone[0]);
    }

    public static TheoryData<ScoreKind, int, int, int> MapShapes() => new()
    {
        { ScoreKind.Mse, 1, 28, 28 }, { ScoreKind.Mse, 3, 17, 23 }, { ScoreKind.Mse, 1, 1, 1 },
        { ScoreKind.Smoothed, 1, 28, 28 }, { ScoreKind.Smoothed, 3, 17, 23 }, { ScoreKind.Smoothed, 2, 3, 5 },
        { ScoreKind.Ssim, 1, 28, 28 }, { ScoreKind.Ssim, 3, 37, 45 }, { ScoreKind.Ssim, 3, 11, 14 },
    };

    [Theory]
    [MemberData(nameof(MapShapes))]
    public void MapsMeanIsTheScore(ScoreKind kind, int channels, int height, int width)
    {
        var shape = new ImageShape(channels, height, width);
        (float[] x, float[] y) = Pair(shape, (ulong)(channels * 1000 + height * 10 + width));
        float[] map = new float[height * width], score = new float[1];
        Scores.Map(kind, x, y, shape, map);
        Scores.FromReconstructions(kind, x, y, 1, shape, score);
        double[] finite = [.. map.Where(float.IsFinite).Select(v => (double)v)];
        Assert.Equal(score[0], finite.Average(), 1e-6 + 1e-5 * score[0]);
        // Where it is defined: everywhere but ssim's border, the pixels that no 11x11 window inside the image centres on.
        int border = Scores.MapBorder(kind);
        Assert.Equal(kind == ScoreKind.Ssim ? 5 : 0, border);
        for (int r = 0; r < height; r++)
            for (int c = 0; c < width; c++)
            {
                bool inside = r >= border && r < height - border && c >= border && c < width - border;
                Assert.Equal(inside, float.IsFinite(map[r * width + c]));
            }
    }

    [Fact]
    public void MseMapIsEachPixelsSquaredErrorAveragedOverChannels()
    {
        var shape = new ImageShape(3, 4, 5);
        (float[] x, float[] y) = Pair(shape, 3);
        float[] map = new float[20];
        Scores.Map(ScoreKind.Mse, x, y, shape, map);
        for (int p = 0; p < 20; p++)
        {
            double expected = Enumerable.Range(0, 3).Average(c => Math.Pow(y[c * 20 + p] - x[c * 20 + p], 2));
            Assert.Equal(expected, map[p], 1e-7);
        }
    }

    [Fact]
    public void MapsLightUpWhereTheReconstructionIsWrong()
    {
        // One wrong pixel at (row 12, column 20) of the second channel of a 3x24x30 image.
        var shape = new ImageShape(3, 24, 30);
        float[] x = new float[shape.Length];
        for (int i = 0; i < x.Length; i++) x[i] = 0.3f + 0.4f * (i % 7) / 7f;
        float[] y = [.. x];
        y[720 + 12 * 30 + 20] += 0.5f;
        foreach (ScoreKind kind in Scores.All)
        {
            float[] map = new float[720];
            Scores.Map(kind, x, y, shape, map);
            int hottest = Array.IndexOf(map, map.Where(float.IsFinite).Max());
            Assert.True(hottest == 12 * 30 + 20 || kind == ScoreKind.Ssim && Math.Abs(hottest / 30 - 12) <= 5 && Math.Abs(hottest % 30 - 20) <= 5, $"{kind}: hottest at {hottest / 30},{hottest % 30}");
            // Far from it (more than the window's reach) the map is zero: the reconstruction is right there.
            Assert.Equal(0, map[6 * 30 + 6], 1e-6);
            if (kind == ScoreKind.Mse) Assert.Equal(0.25 / 3, map[12 * 30 + 20], 1e-6);
        }
    }

    [Fact]
    public void MapRejectsWrongSizes()
    {
        var shape = new ImageShape(3, 12, 12);
        var e = Assert.Throws<ArgumentException>(() => Scores.Map(ScoreKind.Mse, new float[432], new float[432], shape, new float[432]));
        Assert.Contains("its map 144", e.Message);
        Assert.Throws<ArgumentException>(() => Scores.Map(ScoreKind.Ssim, new float[100], new float[100], new ImageShape(1, 10, 10), new float[100]));
    }

    [Theory]
    [InlineData("SSIM", ScoreKind.Ssim)]
    [InlineData(" mse ", ScoreKind.Mse)]
    [InlineData("smoothed", ScoreKind.Smoothed)]
    [InlineData("Combined", ScoreKind.Combined)]
    public void NamesParseInAnyCase(string text, ScoreKind expected) => Assert.Equal(expected, Scores.Parse(text));

    [Fact]
    public void AnUnknownScoreIsNamed() =>
        Assert.Equal("--score 'l1' is not a score; use mse, ssim, smoothed, combined", Assert.Throws<ArgumentException>(() => Scores.Parse("l1")).Message);
}
