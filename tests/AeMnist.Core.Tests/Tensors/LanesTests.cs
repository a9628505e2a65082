using AeMnist.Core.Tests.TestSupport;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Tensors;

/// <summary>The lanes kernels (LanesConv, LanesBatchNorm, Lanes) against their naive twins, every vector path, and NCHW.</summary>
public class LanesTests
{
    // (image channels, height, width, kernel, stride, padding, grid channels, lanes, transposed output padding): the bottleneck
    // model's four convolutions, and awkward sizes: odd channels (tile edges of 4, 6 and 9 rows, vector edges), kernels of 1-5,
    // strides 1-3, padding up to K-1, 1x1 grids, 16-80 lanes.
    public static TheoryData<int, int, int, int, int, int, int, int> Shapes => new()
    {
        { 1, 28, 28, 3, 2, 1, 32, 64 }, { 32, 14, 14, 3, 2, 1, 64, 64 }, { 8, 14, 14, 3, 2, 1, 16, 80 },
        { 3, 9, 7, 3, 2, 1, 5, 16 }, { 2, 5, 6, 1, 1, 0, 3, 32 }, { 5, 8, 8, 5, 3, 2, 7, 48 }, { 4, 6, 6, 2, 2, 0, 1, 16 },
        { 7, 4, 4, 4, 2, 1, 17, 32 }, { 1, 3, 3, 3, 1, 2, 2, 16 }, { 6, 10, 5, 3, 1, 1, 33, 16 },
        { 3, 6, 6, 2, 2, 0, 32, 16 },  // two vectors of grid channels: a 9-row weight-gradient tile, then 3 rows of a 6-row one
        { 1, 9, 8, 3, 1, 0, 6, 32 }, { 1, 7, 9, 3, 3, 2, 5, 96 },  // one image channel, 3x3: grid -> image as a scatter
        { 1, 6, 7, 3, 2, 1, 6, 128 },  // one image channel, image -> grid a position at a call: two 64-lane blocks, 4 + 2 rows
    };

    private static ConvGeometry Geometry(int ci, int h, int w, int k, int s, int p) => ConvGeometry.ForConv(ci, h, w, k, s, p);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ConvolutionsEqualTheirNaiveTwinsBitForBitOnEveryPath(int ci, int h, int w, int k, int s, int p, int co, int lanes)
    {
        var rng = new Rng((ulong)(ci * 1000 + h * 10 + co));
        ConvGeometry g = Geometry(ci, h, w, k, s, p);
        float[] image = Approx.Random(rng, g.ImageLength * lanes), grid = Approx.Random(rng, g.ColumnCols * co * lanes);
        float[] weight = Approx.Random(rng, co * g.ColumnRows), gridBias = Approx.Random(rng, co), imageBias = Approx.Random(rng, ci);
        foreach (bool withBias in new[] { true, false })
        {
            float[] expected = new float[grid.Length];
            LanesConv.Conv2dNaive(image, weight, withBias ? gridBias : [], expected, g, co, lanes);
            float[] expectedImage = new float[image.Length];
            LanesConv.ConvTranspose2dNaive(grid, weight, withBias ? imageBias : [], expectedImage, g, co, lanes);
            foreach (SimdPath path in Enum.GetValues<SimdPath>())
            {
                float[] actual = Approx.Random(rng, grid.Length);
                LanesConv.Conv2dOn(image, weight, withBias ? gridBias : [], actual, g, co, lanes, path);
                Approx.Identical(expected, actual, $"Conv2d, {path}, bias {withBias}");
                float[] actualImage = Approx.Random(rng, image.Length);
                LanesConv.ConvTranspose2dOn(grid, weight, withBias ? imageBias : [], actualImage, g, co, lanes, path);
                Approx.Identical(expectedImage, actualImage, $"ConvTranspose2d, {path}, bias {withBias}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ANormalisationAppliedAsTheOutputsAreStoredIsTheBatchNormAfterTheConvolutionBitForBit(int ci, int h, int w, int k, int s, int p, int co, int lanes)
    {
        var rng = new Rng((ulong)(ci * 3000 + h * 10 + co));
        ConvGeometry g = Geometry(ci, h, w, k, s, p);
        float[] image = Approx.Random(rng, g.ImageLength * lanes), grid = Approx.Random(rng, g.ColumnCols * co * lanes);
        float[] weight = Approx.Random(rng, co * g.ColumnRows), gridBias = Approx.Random(rng, co), imageBias = Approx.Random(rng, ci);
        // Per channel: mean, 1/std (positive), weight and bias, as a batch norm in evaluation mode has them.
        float[][] Norm(int channels) => [Approx.Random(rng, channels), Approx.Random(rng, channels, 0.5f, 2f), Approx.Random(rng, channels), Approx.Random(rng, channels)];
        float[][] gridNorm = Norm(co), imageNorm = Norm(ci);
        foreach (bool relu in new[] { true, false })
            foreach (bool withBias in new[] { true, false })
                foreach (SimdPath path in Enum.GetValues<SimdPath>())
                {
                    float[] plain = new float[grid.Length], expected = new float[grid.Length], actual = Approx.Random(rng, grid.Length);
                    LanesConv.Conv2dOn(image, weight, withBias ? gridBias : [], plain, g, co, lanes, path);
                    LanesBatchNorm.NormalizeNaive(plain, gridNorm[0], gridNorm[1], gridNorm[2], gridNorm[3], relu, [], expected, lanes);
                    LanesConv.Conv2dOn(image, weight, withBias ? gridBias : [], actual, g, co, lanes, path,
                        new ChannelNorm(gridNorm[0], gridNorm[1], gridNorm[2], gridNorm[3], relu));
                    Approx.Identical(expected, actual, $"Conv2d + norm, {path}, bias {withBias}, relu {relu}");

                    float[] plainImage = new float[image.Length], expectedImage = new float[image.Length], actualImage = Approx.Random(rng, image.Length);
                    LanesConv.ConvTranspose2dOn(grid, weight, withBias ? imageBias : [], plainImage, g, co, lanes, path);
                    LanesBatchNorm.NormalizeNaive(plainImage, imageNorm[0], imageNorm[1], imageNorm[2], imageNorm[3], relu, [], expectedImage, lanes);
                    LanesConv.ConvTranspose2dOn(grid, weight, withBias ? imageBias : [], actualImage, g, co, lanes, path,
                        new ChannelNorm(imageNorm[0], imageNorm[1], imageNorm[2], imageNorm[3], relu));
                    Approx.Identical(expectedImage, actualImage, $"ConvTranspose2d + norm, {path}, bias {withBias}, relu {relu}");
                }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void WeightAndBiasGradientsEqualTheirNaiveTwinsBitForBitOnEveryPath(int ci, int h, int w, int k, int s, int p, int co, int lanes)
    {
        var rng = new Rng((ulong)(ci * 7000 + w * 10 + co));
        ConvGeometry g = Geometry(ci, h, w, k, s, p);
        float[] image = Approx.Random(rng, g.ImageLength * lanes), grid = Approx.Random(rng, g.ColumnCols * co * lanes);
        float[] start = Approx.Random(rng, co * g.ColumnRows), biasStart = Approx.Random(rng, co);
        float[] expected = (float[])start.Clone(), expectedBias = (float[])biasStart.Clone();
        LanesConv.WeightGradientNaive(grid, image, expected, g, co, lanes);
        LanesConv.SumChannelsNaive(grid, expectedBias, g.ColumnCols, lanes);
        foreach (SimdPath path in Enum.GetValues<SimdPath>())
        {
            float[] actual = (float[])start.Clone(), actualBias = (float[])biasStart.Clone();
            LanesConv.WeightGradientOn(grid, image, actual, g, co, lanes, path);
            LanesConv.SumChannelsOn(grid, actualBias, g.ColumnCols, lanes, path);
            Approx.Identical(expected, actual, $"weight gradient, {path}");
            Approx.Identical(expectedBias, actualBias, $"bias gradient, {path}");
        }
    }

    // NCHW images of n samples <-> lanes (H*W, C, L).
    private static float[] ToLanes(float[] nchw, int n, int c, int positions, int lanes)
    {
        var result = new float[positions * c * lanes];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int q = 0; q < positions; q++) result[(q * c + ch) * lanes + b] = nchw[(b * c + ch) * positions + q];
        return result;
    }

    private static float[] FromLanes(float[] lanesTensor, int n, int c, int positions, int lanes)
    {
        var result = new float[n * c * positions];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int q = 0; q < positions; q++) result[(b * c + ch) * positions + q] = lanesTensor[(q * c + ch) * lanes + b];
        return result;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void NaiveKernelsComputeTheNchwConvolutionItsAdjointAndItsWeightGradient(int ci, int h, int w, int k, int s, int p, int co, int lanes)
    {
        // Against im2col + GEMM on NCHW (the path the PyTorch fixtures hold), for the real lanes only.
        var rng = new Rng((ulong)(co * 31 + k));
        ConvGeometry g = Geometry(ci, h, w, k, s, p);
        int n = lanes - 3, positions = g.ColumnCols;
        float[] x = Approx.Random(rng, n * g.ImageLength), weight = Approx.Random(rng, co * g.ColumnRows), dy = Approx.Random(rng, n * co * positions);
        var reference = new float[n * co * positions];
        var columns = new float[g.ColumnRows * positions];
        var one = new float[co * positions];
        for (int b = 0; b < n; b++)
        {
            Im2Col.UnfoldNaive(x.AsSpan(b * g.ImageLength, g.ImageLength), columns, g);
            Gemm.MatMulNaive(weight, columns, one, co, g.ColumnRows, positions);
            one.CopyTo(reference, b * co * positions);
        }
        float[] xLanes = ToLanes(x, n, ci, h * w, lanes), dyLanes = ToLanes(dy, n, co, positions, lanes);
        var yLanes = new float[positions * co * lanes];
        LanesConv.Conv2dNaive(xLanes, weight, [], yLanes, g, co, lanes);
        Approx.Equal(reference, FromLanes(yLanes, n, co, positions, lanes), "Conv2d vs im2col", 1e-5, 1e-5);

        // <conv(x), dy> = <x, conv_transpose(dy)>, and dWeight = d<conv(x), dy>/dWeight.
        var dxLanes = new float[xLanes.Length];
        LanesConv.ConvTranspose2dNaive(dyLanes, weight, [], dxLanes, g, co, lanes);
        double left = 0, right = 0;
        for (int i = 0; i < reference.Length; i++) left += (double)reference[i] * dy[i];
        float[] dx = FromLanes(dxLanes, n, ci, h * w, lanes);
        for (int i = 0; i < x.Length; i++) right += (double)x[i] * dx[i];
        Approx.Equal(left, right, "adjoint", 1e-4, 1e-3);
        var dWeight = new float[weight.Length];
        LanesConv.WeightGradientNaive(dyLanes, xLanes, dWeight, g, co, lanes);
        var expected = new float[weight.Length];
        for (int b = 0; b < n; b++)
        {
            Im2Col.UnfoldNaive(x.AsSpan(b * g.ImageLength, g.ImageLength), columns, g);
            Gemm.MatMulTransposeBNaive(dy.AsSpan(b * co * positions, co * positions), columns, expected, co, positions, g.ColumnRows, accumulate: true);
        }
        Approx.Equal(expected, dWeight, "weight gradient vs im2col", 1e-4, 1e-4);
    }

    [Theory]
    [InlineData(32, 196, 64, 64, true)]
    [InlineData(3136, 1, 64, 37, true)]
    [InlineData(5, 7, 16, 9, false)]
    [InlineData(7, 3, 48, 33, true)]
    [InlineData(2, 5, 32, 1, false)]
    [InlineData(9, 2, 80, 80, true)]
    [InlineData(4, 6, 64, 57, true)]  // a last 32 of 25 lanes: 16 whole, then 9 into accumulators 2 and 3
    public void BatchNormKernelsEqualTheirNaiveTwinsBitForBitAndLeaveThePaddingAlone(int channels, int positions, int lanes, int n, bool relu)
    {
        var rng = new Rng((ulong)(channels * 100 + n));
        int length = channels * positions * lanes;
        float[] x = Approx.Random(rng, length, -2f, 3f), dy = Approx.Random(rng, length);
        float[] mean = Approx.Random(rng, channels), invStd = Approx.Random(rng, channels, 0.5f, 2f), weight = Approx.Random(rng, channels), bias = Approx.Random(rng, channels);
        float[] meanDy = Approx.Random(rng, channels), meanDyXhat = Approx.Random(rng, channels), scale = Approx.Random(rng, channels);
        // Padding lanes carry large values: none of them may reach a sum or the input gradient.
        for (int r = 0; r < channels * positions; r++)
            for (int l = n; l < lanes; l++) { x[r * lanes + l] = 1e6f; dy[r * lanes + l] = -1e6f; }
        int[] order = Lanes.ChannelsFirstOrder(channels, positions);

        var (s1, q1, s2, q2) = (new double[channels], new double[channels], new double[channels], new double[channels]);
        LanesBatchNorm.Moments(x, channels, lanes, n, s1, q1);
        LanesBatchNorm.MomentsNaive(x, channels, lanes, n, s2, q2);
        Assert.Equal(s2, s1);
        Assert.Equal(q2, q1);
        for (int c = 0; c < channels; c++) Assert.InRange(Math.Abs(s1[c]), 0, 3.0 * n * positions);

        foreach (int[] map in new[] { Array.Empty<int>(), order })
        {
            float[] expected = new float[length], actual = Approx.Random(rng, length);
            LanesBatchNorm.NormalizeNaive(x, mean, invStd, weight, bias, relu, map, expected, lanes);
            LanesBatchNorm.Normalize(x, mean, invStd, weight, bias, relu, map, actual, lanes);
            Approx.Identical(expected, actual, $"normalize, map {map.Length}");

            var (d1, e1, d2, e2) = (new double[channels], new double[channels], new double[channels], new double[channels]);
            LanesBatchNorm.GradientSums(dy, map, x, mean, invStd, weight, bias, relu, lanes, n, d1, e1);
            LanesBatchNorm.GradientSumsNaive(dy, map, x, mean, invStd, weight, bias, relu, lanes, n, d2, e2);
            Assert.Equal(d2, d1);
            Assert.Equal(e2, e1);
            for (int c = 0; c < channels; c++) Assert.InRange(Math.Abs(d1[c]), 0, 1.0 * n * positions);

            float[] dx = Approx.Random(rng, length), dxNaive = new float[length];
            float[] sums = Approx.Random(rng, channels), sumsNaive = (float[])sums.Clone(), sumsAfter = (float[])sums.Clone();
            LanesBatchNorm.NormalizeBackward(dy, map, x, mean, invStd, weight, bias, relu, meanDy, meanDyXhat, scale, dx, lanes, n, sums);
            LanesBatchNorm.NormalizeBackwardNaive(dy, map, x, mean, invStd, weight, bias, relu, meanDy, meanDyXhat, scale, dxNaive, lanes, n, sumsNaive);
            Approx.Identical(dxNaive, dx, $"normalize backward, map {map.Length}");
            float[] dxUnsummed = Approx.Random(rng, length);  // the loop without the sums: the same dx
            LanesBatchNorm.NormalizeBackward(dy, map, x, mean, invStd, weight, bias, relu, meanDy, meanDyXhat, scale, dxUnsummed, lanes, n);
            Approx.Identical(dxNaive, dxUnsummed, $"normalize backward without sums, map {map.Length}");
            // The input-gradient sums are LanesConv.SumChannels of dx, bit for bit.
            LanesConv.SumChannels(dx, sumsAfter, positions, lanes);
            Approx.Identical(sumsAfter, sums, "dx sums vs SumChannels");
            Approx.Identical(sumsNaive, sums, "dx sums vs naive");
            for (int r = 0; r < channels * positions; r++)
                for (int l = n; l < lanes; l++) Assert.Equal(0f, dx[r * lanes + l]);
        }
    }

    [Fact]
    public void MomentsStayAccurateForAChannelFarFromZero()
    {
        // Mean 100 standard deviations from zero: summing in float would lose the variance (see BatchNormKernels).
        const int lanes = 64, positions = 49;
        var rng = new Rng(4);
        float[] x = new float[positions * lanes];
        for (int i = 0; i < x.Length; i++) x[i] = 100f + rng.NextSingle(-1f, 1f);
        double[] sum = new double[1], squares = new double[1];
        LanesBatchNorm.Moments(x, 1, lanes, lanes, sum, squares);
        double mean = x.Average(v => (double)v), variance = x.Average(v => ((double)v - mean) * ((double)v - mean));
        Approx.Equal(variance, squares[0] / x.Length - (sum[0] / x.Length) * (sum[0] / x.Length), "variance", 1e-6, 0);
    }

    [Theory]
    [InlineData(1, 784)]
    [InlineData(16, 16)]
    [InlineData(37, 20)]
    [InlineData(64, 3136)]
    [InlineData(65, 3)]
    public void RelayoutsEqualTheirNaiveTwinsAndRoundTrip(int n, int length)
    {
        var rng = new Rng((ulong)(n + length));
        float[] rows = Approx.Random(rng, n * length);
        int l = Lanes.Padded(n);
        float[] lanes = Approx.Random(rng, length * l), naive = new float[length * l];
        Lanes.FromRows(rows, n, length, lanes);
        Lanes.FromRowsNaive(rows, n, length, naive);
        Approx.Identical(naive, lanes, "from rows");
        float[] back = new float[rows.Length], backNaive = new float[rows.Length];
        Lanes.ToRows(lanes, n, length, back);
        Lanes.ToRowsNaive(lanes, n, length, backNaive);
        Approx.Identical(rows, back, "round trip");
        Approx.Identical(rows, backNaive, "round trip, naive");
        if (length % 4 != 0) return;
        // With a row order (4 channels of length/4 positions): row r of a sample goes to lanes row order[r], and back.
        int[] order = Lanes.Inverse(Lanes.ChannelsFirstOrder(4, length / 4));
        Lanes.FromRows(rows, n, length, lanes, order);
        Lanes.FromRowsNaive(rows, n, length, naive, order);
        Approx.Identical(naive, lanes, "from rows, ordered");
        Assert.Equal(rows[Math.Min(1, n - 1) * length + 1], lanes[order[1] * l + Math.Min(1, n - 1)]);
        Lanes.ToRows(lanes, n, length, back, order);
        Approx.Identical(rows, back, "round trip, ordered");
    }

    [Theory]
    [InlineData(49, 64, 64)]
    [InlineData(3, 32, 48)]
    [InlineData(5, 7, 16)]
    [InlineData(2, 1, 80)]
    public void TransposePositionsEqualsItsNaiveTwinOnEveryPath(int positions, int channels, int lanes)
    {
        var rng = new Rng((ulong)(positions * channels));
        float[] x = Approx.Random(rng, positions * channels * lanes), expected = new float[x.Length];
        Lanes.TransposePositionsNaive(x, expected, positions, channels, lanes);
        foreach (SimdPath path in Enum.GetValues<SimdPath>())
        {
            float[] actual = new float[x.Length];
            Lanes.TransposePositionsOn(x, actual, positions, channels, lanes, path);
            Approx.Identical(expected, actual, $"transpose, {path}");
        }
        Assert.Equal(x[(2 % positions * channels + channels - 1) * lanes + 5], expected[(2 % positions * lanes + 5) * channels + channels - 1]);
    }

    [Fact]
    public void FlatteningOrderIsPyTorchs()
    {
        // Row (p, c) of the lanes layout is element c*H*W + p of a flattened (C, H, W) sample, and Inverse undoes it.
        int[] order = Lanes.ChannelsFirstOrder(3, 4);
        Assert.Equal([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11], order);
        Assert.Equal([0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11], Lanes.Inverse(order));
        float[] x = [.. Enumerable.Range(0, 12 * 16).Select(i => (float)i)], y = new float[x.Length];
        Lanes.PermuteRows(x, order, y, 16);
        Assert.Equal(x.AsSpan(16, 16).ToArray(), y.AsSpan(4 * 16, 16).ToArray());
    }
}
