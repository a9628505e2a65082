using AeMnist.Core.Tests.TestSupport;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Tensors;

public class DirectConvTests
{
    // (groups, in channels, height, width, out channels, kernel): the tutorial's four layers, and awkward sizes that
    // hit every tile width (8, 4, 1), kernels of 1, 3, 5 and 6 (the general weight-gradient path) and 1x1 outputs.
    public static TheoryData<int, int, int, int, int, int> Shapes => new()
    {
        { 2, 1, 28, 28, 3, 5 }, { 1, 3, 24, 24, 5, 5 }, { 1, 5, 20, 20, 3, 5 }, { 1, 3, 24, 24, 1, 5 },
        { 1, 2, 17, 13, 3, 3 }, { 3, 1, 5, 5, 2, 5 }, { 1, 4, 9, 30, 2, 1 }, { 2, 2, 11, 7, 1, 6 }, { 1, 1, 6, 19, 4, 6 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardEqualsItsNaiveTwinBitForBit(int groups, int inChannels, int height, int width, int outChannels, int k)
    {
        var rng = new Rng((ulong)(groups * 1000 + height * 10 + k));
        float[] x = Approx.Random(rng, groups * inChannels * height * width * 16), w = Approx.Random(rng, outChannels * inChannels * k * k);
        int outLength = groups * outChannels * (height - k + 1) * (width - k + 1) * 16;
        float[] expected = new float[outLength], actual = Approx.Random(rng, outLength);
        DirectConv.ForwardNaive(x, w, expected, groups, inChannels, height, width, outChannels, k);
        DirectConv.Forward(x, w, actual, groups, inChannels, height, width, outChannels, k);
        Approx.Identical(expected, actual, "direct forward");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void WeightGradientEqualsItsNaiveTwinBitForBit(int groups, int inChannels, int height, int width, int outChannels, int k)
    {
        var rng = new Rng((ulong)(groups * 7000 + width * 10 + k));
        float[] x = Approx.Random(rng, groups * inChannels * height * width * 16);
        float[] dy = Approx.Random(rng, groups * outChannels * (height - k + 1) * (width - k + 1) * 16);
        float[] start = Approx.Random(rng, outChannels * inChannels * k * k);
        float[] expected = (float[])start.Clone(), actual = (float[])start.Clone();
        DirectConv.WeightGradientNaive(dy, x, expected, groups, outChannels, inChannels, height, width, k);
        DirectConv.WeightGradient(dy, x, actual, groups, outChannels, inChannels, height, width, k);
        Approx.Identical(expected, actual, "weight gradient");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TransposedIsTheAdjointScatter(int groups, int zChannels, int height, int width, int outChannels, int k)
    {
        var rng = new Rng((ulong)(groups * 3000 + height * 10 + k));
        float[] z = Approx.Random(rng, groups * zChannels * height * width * 16), w = Approx.Random(rng, zChannels * outChannels * k * k);
        int outLength = groups * outChannels * (height + k - 1) * (width + k - 1) * 16;
        float[] expected = new float[outLength], actual = Approx.Random(rng, outLength);
        float[] padded = Approx.Random(rng, groups * zChannels * height * (width + 2 * k - 2) * 16 + 5);  // dirty scratch, as small as allowed
        float[] flipped = Approx.Random(rng, w.Length + 3);
        DirectConv.TransposedNaive(z, w, expected, groups, zChannels, height, width, outChannels, k);
        DirectConv.Transposed(z, w, actual, padded, flipped, groups, zChannels, height, width, outChannels, k);
        // Sums of up to C*K*K products in another order: rounding differences only.
        Approx.Equal(expected, actual, "transposed", relative: 1e-5, absolute: 1e-5);
    }

    [Theory]
    [InlineData(1, 7)]
    [InlineData(16, 5)]
    [InlineData(17, 3)]
    [InlineData(40, 784)]
    public void InterleaveRoundTripsAndZeroesThePadding(int n, int length)
    {
        var rng = new Rng((ulong)n);
        float[] images = Approx.Random(rng, n * length);
        float[] interleaved = Approx.Random(rng, DirectConv.Groups(n) * length * 16), back = new float[n * length];
        DirectConv.Interleave(images, n, length, interleaved);
        for (int i = 0; i < n; i++)
            for (int p = 0; p < length; p++)
                Assert.Equal(images[i * length + p], interleaved[((i / 16) * length + p) * 16 + i % 16]);
        for (int lane = n % 16 == 0 ? 16 : n % 16; lane < 16; lane++)
            Assert.Equal(0f, interleaved[((DirectConv.Groups(n) - 1) * length + length - 1) * 16 + lane]);
        DirectConv.Deinterleave(interleaved, n, length, back);
        Approx.Identical(images, back, "round trip");
    }
}
