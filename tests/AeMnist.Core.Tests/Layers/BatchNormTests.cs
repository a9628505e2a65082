// Batch norm against PyTorch (training and evaluation mode: output, every gradient, the running statistics after one
// batch), its kernels against their naive twins, and the split into shards: the partial sums of two halves of a batch,
// added, give the whole batch's result.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Engines.Native.Layers;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Layers;

public class BatchNormTests
{
    public static TheoryData<string> Cases
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (string kind in new[] { "batchnorm2d", "batchnorm1d" })
                foreach (string name in Fixtures.Names(kind)) data.Add(name);
            return data;
        }
    }

    private static (BatchNorm Layer, ParameterSet Parameters, ParameterSet Buffers) Build(FixtureCase c)
    {
        int features = c.Int("num_features");
        BatchNorm layer = c.Kind == "batchnorm2d" ? new BatchNorm2d(features) : new BatchNorm1d(features);
        var parameters = ParameterSet.Create(layer);
        var buffers = ParameterSet.Create([.. layer.LocalBuffers.Select(b => (b.Name, b))]);
        c["weight"].CopyTo(parameters.Values(parameters.Find("weight")!));
        c["bias"].CopyTo(parameters.Values(parameters.Find("bias")!));
        c["initial_running_mean"].CopyTo(buffers.Values(buffers.Find("running_mean")!));
        c["initial_running_var"].CopyTo(buffers.Values(buffers.Find("running_var")!));
        layer.Training = c.Attrs.GetProperty("mode").GetString() == "train";
        return (layer, parameters, buffers);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name)
    {
        FixtureCase c = Fixtures.Get(name);
        (BatchNorm layer, ParameterSet parameters, ParameterSet buffers) = Build(c);
        FixtureTensor input = c.Get("input");
        TensorShape shape = PyTorchLayerTests.ShapeOf(input);
        Approx.Equal(c["output"], layer.Forward(input.Data, shape), $"{c} output");
        Approx.Equal(c["grad_input"], layer.Backward(c["grad_output"]), $"{c} grad_input");
        Approx.Equal(c["grad_weight"], parameters.Gradients(parameters.Find("weight")!), $"{c} grad_weight");
        Approx.Equal(c["grad_bias"], parameters.Gradients(parameters.Find("bias")!), $"{c} grad_bias");
        Approx.Equal(c["running_mean"], buffers.Values(buffers.Find("running_mean")!), $"{c} running_mean");
        Approx.Equal(c["running_var"], buffers.Values(buffers.Find("running_var")!), $"{c} running_var");
        Approx.Equal(c["num_batches_tracked"], buffers.Values(buffers.Find("num_batches_tracked")!), $"{c} num_batches_tracked");
    }

    [Theory]
    [InlineData(3, 5, 1)]
    [InlineData(2, 3, 49)]
    [InlineData(4, 17, 16)]
    [InlineData(1, 33, 1)]
    [InlineData(2, 2, 15)]
    public void KernelsEqualTheirNaiveTwins(int n, int channels, int spatial)
    {
        var rng = new Rng(7);
        float[] Random(int length) => [.. Enumerable.Range(0, length).Select(_ => rng.NextSingle(-2, 3))];
        int length = n * channels * spatial;
        float[] x = Random(length), dy = Random(length), mean = Random(channels), inv = Random(channels), w = Random(channels), b = Random(channels);
        double[] s1 = new double[channels], q1 = new double[channels], s2 = new double[channels], q2 = new double[channels];
        BatchNormKernels.ChannelMoments(x, n, channels, spatial, s1, q1);
        BatchNormKernels.ChannelMomentsNaive(x, n, channels, spatial, s2, q2);
        Assert.Equal(s2, s1);
        Assert.Equal(q2, q1);
        float[] h1 = new float[length], y1 = new float[length], h2 = new float[length], y2 = new float[length];
        BatchNormKernels.Normalize(x, mean, inv, w, b, h1, y1, n, channels, spatial);
        BatchNormKernels.NormalizeNaive(x, mean, inv, w, b, h2, y2, n, channels, spatial);
        Approx.Identical(h2, h1, "xhat");
        Approx.Identical(y2, y1, "y");
        BatchNormKernels.ChannelGradientSums(dy, h1, n, channels, spatial, s1, q1);
        BatchNormKernels.ChannelGradientSumsNaive(dy, h1, n, channels, spatial, s2, q2);
        Assert.Equal(s2, s1);
        Assert.Equal(q2, q1);
        float[] d1 = new float[length], d2 = new float[length];
        BatchNormKernels.NormalizeBackward(dy, h1, mean, inv, w, d1, n, channels, spatial);
        BatchNormKernels.NormalizeBackwardNaive(dy, h1, mean, inv, w, d2, n, channels, spatial);
        Approx.Identical(d2, d1, "dx");
    }

    [Fact]
    public void TwoShardsWithSummedStatisticsEqualTheWholeBatch()
    {
        const int n = 6, channels = 3, h = 4, w = 5;
        var rng = new Rng(11);
        float[] x = [.. Enumerable.Range(0, n * channels * h * w).Select(_ => rng.NextSingle(-1, 2))];
        float[] dy = [.. Enumerable.Range(0, x.Length).Select(_ => rng.NextSingle(-1, 1))];
        var whole = new BatchNorm2d(channels);
        var wholeParameters = ParameterSet.Create(whole);
        ParameterSet.Create([.. whole.LocalBuffers.Select(b => (b.Name, b))]);
        wholeParameters.Values(wholeParameters.Find("weight")!).Fill(1.5f);
        float[] expected = whole.Forward(x, new TensorShape(n, channels, h, w)).ToArray();
        float[] expectedDx = whole.Backward(dy).ToArray();

        var shards = new[] { new BatchNorm2d(channels), new BatchNorm2d(channels) };
        int half = x.Length / 2;
        foreach (BatchNorm2d shard in shards)
        {
            var p = ParameterSet.Create(shard);
            ParameterSet.Create([.. shard.LocalBuffers.Select(b => (b.Name, b))]);
            p.Values(p.Find("weight")!).Fill(1.5f);
        }
        for (int s = 0; s < 2; s++) shards[s].BeginForward(x.AsSpan(s * half, half), new TensorShape(n / 2, channels, h, w));
        double[] sum = new double[channels], squares = new double[channels];
        for (int j = 0; j < channels; j++)
        {
            sum[j] = shards[0].PartialSum[j] + shards[1].PartialSum[j];
            squares[j] = shards[0].PartialSumSquares[j] + shards[1].PartialSumSquares[j];
        }
        (double[] mean, double[] variance) = BatchNorm.Statistics(sum, squares, n * h * w);
        float[] output = new float[x.Length], dx = new float[x.Length];
        for (int s = 0; s < 2; s++)
        {
            shards[s].SetBatchStatistics(mean, variance);
            shards[s].FinishForward().CopyTo(output.AsSpan(s * half, half));
        }
        Approx.Equal(expected, output, "sharded output", relative: 1e-6, absolute: 1e-6);
        for (int s = 0; s < 2; s++) shards[s].BeginBackward(dy.AsSpan(s * half, half));
        double[] sumDy = new double[channels], sumDyXhat = new double[channels];
        for (int j = 0; j < channels; j++)
        {
            sumDy[j] = shards[0].PartialSumDy[j] + shards[1].PartialSumDy[j];
            sumDyXhat[j] = shards[0].PartialSumDyXhat[j] + shards[1].PartialSumDyXhat[j];
        }
        for (int s = 0; s < 2; s++)
        {
            shards[s].SetGradientMeans(sumDy, sumDyXhat, n * h * w);
            shards[s].FinishBackward().CopyTo(dx.AsSpan(s * half, half));
        }
        Approx.Equal(expectedDx, dx, "sharded dInput", relative: 1e-5, absolute: 1e-6);
    }

    // ChannelMath vectorises the per-channel statistics over the channels; every element must be the scalar expression's
    // bits, for every length (whole vectors and a tail) and for the values where vector and scalar could part: a negative
    // or −0 variance (Math.Max gives +0), NaN (kept), infinities, subnormals.
    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(21)]
    [InlineData(3136)]
    public void ChannelMathIsTheScalarArithmeticBitForBit(int channels)
    {
        var rng = new Rng((ulong)channels);
        double[] special = [double.NaN, -0.0, 0.0, -1e-300, double.PositiveInfinity, double.NegativeInfinity, 5e-324, -3.5, 1e300];
        double Value(int c) => c % 5 == 0 ? special[(c / 5) % special.Length] : (rng.NextDouble() - 0.3) * Math.Pow(10, rng.NextInt(16) - 8);
        double[] sum = [.. Enumerable.Range(0, channels).Select(Value)], squares = [.. Enumerable.Range(0, channels).Select(c => c % 3 == 0 ? Value(c) : Math.Abs(Value(c)))];
        const long count = 3 * 64;
        var (mean, variance) = (new double[channels], new double[channels]);
        ChannelMath.Statistics(sum, squares, count, mean, variance);
        for (int c = 0; c < channels; c++)
        {
            double m = sum[c] / count;
            Assert.Equal(BitConverter.DoubleToInt64Bits(m), BitConverter.DoubleToInt64Bits(mean[c]));
            Assert.Equal(BitConverter.DoubleToInt64Bits(Math.Max(squares[c] / count - m * m, 0.0)), BitConverter.DoubleToInt64Bits(variance[c]));
        }

        float[] invStd = new float[channels], fromFloat = new float[channels], narrowed = new float[channels], quotient = new float[channels];
        float[] floats = [.. sum.Select(v => (float)v)];
        ChannelMath.InverseStd(variance, 1e-5, invStd);
        ChannelMath.InverseStd(floats, 1e-5, fromFloat);
        ChannelMath.Narrow(sum, narrowed);
        ChannelMath.NarrowedQuotient(sum, count, quotient);
        float[] running = [.. squares.Select(v => (float)v)], runningScaled = (float[])running.Clone(), added = (float[])running.Clone();
        float[] runningBefore = (float[])running.Clone();
        ChannelMath.MovingAverage(running, mean, 0.1, 1.0);
        ChannelMath.MovingAverage(runningScaled, variance, 0.1, count / (double)(count - 1));
        ChannelMath.AddNarrowed(sum, added);
        for (int c = 0; c < channels; c++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits((float)(1.0 / Math.Sqrt(variance[c] + 1e-5))), BitConverter.SingleToInt32Bits(invStd[c]));
            Assert.Equal(BitConverter.SingleToInt32Bits((float)(1.0 / Math.Sqrt(floats[c] + 1e-5))), BitConverter.SingleToInt32Bits(fromFloat[c]));
            Assert.Equal(BitConverter.SingleToInt32Bits((float)sum[c]), BitConverter.SingleToInt32Bits(narrowed[c]));
            Assert.Equal(BitConverter.SingleToInt32Bits((float)(sum[c] / count)), BitConverter.SingleToInt32Bits(quotient[c]));
            Assert.Equal(BitConverter.SingleToInt32Bits((float)((1 - 0.1) * runningBefore[c] + 0.1 * mean[c])), BitConverter.SingleToInt32Bits(running[c]));
            Assert.Equal(BitConverter.SingleToInt32Bits((float)((1 - 0.1) * runningBefore[c] + 0.1 * variance[c] * (count / (double)(count - 1)))), BitConverter.SingleToInt32Bits(runningScaled[c]));
            Assert.Equal(BitConverter.SingleToInt32Bits(runningBefore[c] + (float)sum[c]), BitConverter.SingleToInt32Bits(added[c]));
        }
    }
}
