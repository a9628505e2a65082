using AeMnist.Core.Tests.TestSupport;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Tensors;

public class ReductionsTests
{
    public static TheoryData<int> Lengths => ElementwiseTests.Lengths;

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SumRowsMatchesNaiveBitForBit(int length)
    {
        var rng = new Rng((ulong)length);
        float[] x = Approx.Random(rng, 5 * length), start = Approx.Random(rng, length);
        float[] fast = (float[])start.Clone(), naive = (float[])start.Clone();
        Reductions.SumRows(x, fast, 5);
        Reductions.SumRowsNaive(x, naive, 5);
        Approx.Identical(naive, fast, "sum rows");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SumChannelsMatchesNaive(int length)
    {
        var rng = new Rng((ulong)length + 1);
        float[] x = Approx.Random(rng, 2 * 3 * length), start = Approx.Random(rng, 3);
        float[] fast = (float[])start.Clone(), naive = (float[])start.Clone();
        Reductions.SumChannels(x, fast, 2, length);
        Reductions.SumChannelsNaive(x, naive, 2, length);
        Approx.Identical(naive, fast, "sum channels");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SquaredErrorRowsMatchesNaive(int length)
    {
        var rng = new Rng((ulong)length + 2);
        int rows = 4;
        float[] prediction = Approx.Random(rng, rows * length, 0, 1), target = Approx.Random(rng, rows * length, 0, 1);
        float[] diffFast = new float[rows * length], diffNaive = new float[rows * length];
        float[] sumsFast = new float[rows], sumsNaive = new float[rows];
        Reductions.SquaredErrorRows(prediction, target, diffFast, sumsFast);
        Reductions.SquaredErrorRowsNaive(prediction, target, diffNaive, sumsNaive);
        Approx.Identical(diffNaive, diffFast, "difference");
        Approx.Identical(sumsNaive, sumsFast, "row sums");
    }

    // The loss on lanes tensors: its row sums and gradient are the rows' (ToRows, SquaredErrorRows, Scale, FromRows) to
    // the bit, for full and partial groups of 16 samples, values not a multiple of 16 (the tail after the tree), and a
    // row order (several channels). The padding lanes hold garbage that must neither reach a sum nor the gradient.
    [Theory]
    [InlineData(64, 784, false)]
    [InlineData(37, 784, false)]
    [InlineData(5, 23, false)]
    [InlineData(20, 162, true)]
    [InlineData(16, 1, false)]
    public void SquaredErrorLanesIsTheRowsLossBitForBit(int n, int length, bool ordered)
    {
        var rng = new Rng((ulong)(n * 1000 + length));
        int lanes = Lanes.Padded(n);
        float[] prediction = Approx.Random(rng, lanes * length, 0, 1), target = Approx.Random(rng, lanes * length, 0, 1);
        int[] order = ordered ? Lanes.Inverse(Lanes.ChannelsFirstOrder(2, length / 2)) : [];
        float scale = (float)(2.0 / (3.0 * n * length));
        // What the network did before: the output to rows, the rows' loss, its gradient scaled and back to lanes.
        float[] p = new float[n * length], t = new float[n * length], difference = new float[n * length], expectedSums = new float[n];
        Lanes.ToRows(prediction, n, length, p, order);
        Lanes.ToRows(target, n, length, t, order);
        Reductions.SquaredErrorRows(p, t, difference, expectedSums);
        float[] scaled = new float[difference.Length], expectedGradient = new float[lanes * length];
        Elementwise.Scale(difference, scale, scaled);
        Lanes.FromRows(scaled, n, length, expectedGradient, order);

        float[] gradient = Approx.Random(rng, lanes * length), sums = new float[n];
        Reductions.SquaredErrorLanes(prediction, target, n, order, scale, gradient, sums);
        Approx.Identical(expectedSums, sums, "row sums");
        Approx.Identical(expectedGradient, gradient, "gradient");
        float[] naiveGradient = new float[lanes * length], naiveSums = new float[n];
        Reductions.SquaredErrorLanesNaive(prediction, target, n, order, scale, naiveGradient, naiveSums);
        Approx.Identical(naiveSums, sums, "row sums vs naive");
        Approx.Identical(naiveGradient, gradient, "gradient vs naive");
    }

    [Fact]
    public void SquaredErrorLanesRejectsMismatchedShapes()
    {
        float[] x = new float[16 * 10];
        Assert.Throws<ArgumentException>(() => Reductions.SquaredErrorLanes(x, x, 0, [], 1f, new float[x.Length], []));
        Assert.Throws<ArgumentException>(() => Reductions.SquaredErrorLanes(new float[16 * 9], new float[16 * 9], 17, [], 1f, new float[16 * 9], new float[17]));  // 17 samples take 32 lanes
        Assert.Throws<ArgumentException>(() => Reductions.SquaredErrorLanes(x, x, 16, [], 1f, new float[x.Length], new float[15]));
        Assert.Throws<ArgumentException>(() => Reductions.SquaredErrorLanes(x, x, 16, [0, 1], 1f, new float[x.Length], new float[16]));
        Assert.Throws<ArgumentException>(() => Reductions.SquaredErrorLanes(x, x.AsSpan(1), 16, [], 1f, new float[x.Length], new float[16]));
    }
}
