using AeMnist.Core.Tests.TestSupport;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Tensors;

public class ElementwiseTests
{
    // 0, 1, odd, vector widths ± 1 (8, 16 floats), large.
    public static TheoryData<int> Lengths => new() { 0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000, 4099 };

    private static float[] Inputs(int length, int seed)
    {
        float[] x = Approx.Random(new Rng((ulong)seed), length, -4f, 4f);
        for (int i = 0; i < length; i += 5) x[i] = 0f;  // exact zeros sit on ReLU's kink
        return x;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void ScaleAndAddInPlaceMatchScalarLoops(int length)
    {
        float[] x = Inputs(length, 21), y = Inputs(length, 22);
        float[] scaled = new float[length], sum = (float[])y.Clone(), shifted = (float[])y.Clone();
        Elementwise.Scale(x, 3.7e-5f, scaled);
        Elementwise.AddInPlace(sum, x);
        Elementwise.AddInPlace(shifted, -0.25f);
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(x[i] * 3.7e-5f, scaled[i]);
            Assert.Equal(y[i] + x[i], sum[i]);
            Assert.Equal(y[i] + -0.25f, shifted[i]);
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void ReluAndItsBackwardMatchNaive(int length)
    {
        float[] x = Inputs(length, length), dy = Approx.Random(new Rng(99), length);
        float[] fast = new float[length], naive = new float[length];
        Elementwise.Relu(x, fast);
        Elementwise.ReluNaive(x, naive);
        Approx.Identical(naive, fast, "relu");
        float[] dFast = new float[length], dNaive = new float[length];
        Elementwise.ReluBackward(fast, dy, dFast);
        Elementwise.ReluBackwardNaive(fast, dy, dNaive);
        Approx.Identical(dNaive, dFast, "relu backward");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SigmoidAndItsBackwardMatchNaive(int length)
    {
        float[] x = Inputs(length, length + 1), dy = Approx.Random(new Rng(98), length);
        float[] fast = new float[length], naive = new float[length];
        Elementwise.Sigmoid(x, fast);
        Elementwise.SigmoidNaive(x, naive);
        Approx.Equal(naive, fast, "sigmoid", relative: 1e-6, absolute: 1e-7);  // exp approximations differ in the last ulps
        float[] dFast = new float[length], dNaive = new float[length];
        Elementwise.SigmoidBackward(fast, dy, dFast);
        Elementwise.SigmoidBackwardNaive(fast, dy, dNaive);
        Approx.Identical(dNaive, dFast, "sigmoid backward");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void BiasAddsMatchNaive(int length)
    {
        var rng = new Rng((ulong)length + 7);
        int rows = 3;
        float[] bias = Approx.Random(rng, length), y = Approx.Random(rng, rows * length);
        float[] fast = (float[])y.Clone(), naive = (float[])y.Clone();
        Elementwise.AddRowBias(bias, fast, rows);
        Elementwise.AddRowBiasNaive(bias, naive, rows);
        Approx.Identical(naive, fast, "row bias");

        float[] channelBias = Approx.Random(rng, 3);
        float[] planes = Approx.Random(rng, 2 * 3 * length);
        fast = (float[])planes.Clone();
        naive = (float[])planes.Clone();
        Elementwise.AddChannelBias(channelBias, fast, 2, length);
        Elementwise.AddChannelBiasNaive(channelBias, naive, 2, length);
        Approx.Identical(naive, fast, "channel bias");
    }

    [Fact]
    public void MismatchedLengthsThrow()
    {
        var e = Assert.Throws<ArgumentException>(() => Elementwise.ReluBackward(new float[3], new float[3], new float[2]));
        Assert.Equal("dInput", e.ParamName);
        Assert.Throws<ArgumentException>(() => Elementwise.AddRowBias(new float[3], new float[7], 2));
    }
}
