// Element-wise comparison with a combined tolerance: |actual - expected| <= absolute + relative * |expected|.
namespace AeMnist.Core.Tests.TestSupport;

public static class Approx
{
    /// <summary>The default relative tolerance for float32 results compared with PyTorch.</summary>
    public const double Relative = 1e-5;

    /// <summary>The default absolute floor, for elements that are (nearly) zero after cancellation.</summary>
    public const double Absolute = 1e-6;

    public static void Equal(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what,
        double relative = Relative, double absolute = Absolute)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}.");
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs((double)actual[i] - expected[i]);
            double allowed = absolute + relative * Math.Abs((double)expected[i]);
            if (!(diff <= allowed) && (worst < 0 || diff - allowed > worstExcess))
            {
                worst = i;
                worstExcess = diff - allowed;
            }
        }
        if (worst >= 0)
            Assert.Fail($"{what}: element {worst} is {actual[worst]:R}, expected {expected[worst]:R} " +
                        $"(|diff| {Math.Abs((double)actual[worst] - expected[worst]):G3} > {absolute:G2} + {relative:G2}*|expected|).");
    }

    public static void Equal(double expected, double actual, string what, double relative = Relative, double absolute = Absolute)
    {
        double diff = Math.Abs(actual - expected);
        Assert.True(diff <= absolute + relative * Math.Abs(expected),
            $"{what}: {actual:R}, expected {expected:R} (|diff| {diff:G3}).");
    }

    /// <summary>Bit-for-bit equality, reporting the first differing element.</summary>
    public static void Identical(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}.");
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R}, expected exactly {expected[i]:R}.");
    }

    public static float[] Random(Rng rng, int length, float low = -1f, float high = 1f)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = rng.NextSingle(low, high);
        return values;
    }
}
