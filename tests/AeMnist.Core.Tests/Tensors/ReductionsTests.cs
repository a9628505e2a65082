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
}
