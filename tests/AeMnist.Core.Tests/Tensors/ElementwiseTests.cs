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
        Approx.Identical(naive, fast, "sigmoid");
        float[] dFast = new float[length], dNaive = new float[length];
        Elementwise.SigmoidBackward(fast, dy, dFast);
        Elementwise.SigmoidBackwardNaive(fast, dy, dNaive);
        Approx.Identical(dNaive, dFast, "sigmoid backward");
    }

    [Fact]
    public void SigmoidIsWithinTwoAndAHalfUlpsOfTheExactOneEverywhere()
    {
        const double MinNormal = 1.1754943508222875e-38;  // 2^−126
        // Every 499th float from −120 to 120 (4.5 million values, across every binade and both clamps), the vector path in
        // lengths of 16, against 1 / (1 + exp(−x)) in double.
        const int Step = 499;
        int top = BitConverter.SingleToInt32Bits(120f), count = (top + Step - 1) / Step;
        float[] x = new float[2 * count], y = new float[x.Length];
        for (int i = 0; i < count; i++)
        {
            float v = BitConverter.Int32BitsToSingle(top - i * Step);
            (x[2 * i], x[2 * i + 1]) = (v, -v);
        }
        Elementwise.Sigmoid(x, y);
        double worst = 0;
        float worstX = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double exact = 1 / (1 + Math.Exp(-(double)x[i]));
            // Where the sigmoid is under the smallest normal float (x < −87.3) it may be off by that much, and is 0 past −88.
            double ulp = exact < MinNormal ? MinNormal : MathF.BitIncrement((float)exact) - (float)exact;
            double error = Math.Abs(y[i] - exact) / ulp;
            if (error > worst) (worst, worstX) = (error, x[i]);
        }
        Assert.True(worst <= 2.5, $"sigmoid({worstX}) is {worst:F2} ulps from the exact value");
    }

    [Fact]
    public void SigmoidKeepsNaNAndSaturatesAtTheEnds()
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 17f, 90f, -90f, -88.5f, float.MaxValue, float.MinValue, 1e-30f,
            float.NaN, 3f, -3f, 0.5f, 100f];
        float[] y = new float[x.Length], naive = new float[x.Length];
        Elementwise.Sigmoid(x, y);
        Elementwise.SigmoidNaive(x, naive);
        Approx.Identical(naive, y, "sigmoid");
        Assert.True(float.IsNaN(y[0]) && float.IsNaN(y[12]));
        Assert.Equal(1f, y[1]);
        Assert.Equal(0f, y[2]);
        Assert.Equal(0.5f, y[3]);
        Assert.Equal(0.5f, y[4]);
        Assert.Equal(1f, y[6]);
        Assert.Equal(0f, y[7]);
        Assert.True(y[8] >= 0f && y[8] < 1e-38f);
        Assert.Equal(1f, y[9]);
        Assert.Equal(0f, y[10]);
        Assert.Equal(0.5f, y[11]);
        Assert.Equal(1f, y[16]);
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
