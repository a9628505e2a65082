// The lanes layers (the bottleneck model's engine) against PyTorch on the same fixtures as the NCHW layers: the inputs and
// upstream gradients moved into the lanes layout, the outputs and input gradients moved back. And the folded ReLU and the
// flattening orders against the NCHW layers, whose own tests hold them to PyTorch.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Engines.Native.Layers;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Layers;

public class LanesLayerTests
{
    public static TheoryData<string> Conv2dCases => Fixtures.Names("conv2d");
    public static TheoryData<string> ConvTranspose2dCases => Fixtures.Names("conv_transpose2d");
    public static TheoryData<string> LinearCases => Fixtures.Names("linear");
    public static TheoryData<string> BatchNormCases => BatchNormTests.Cases;

    // An NCHW batch (N, C, H, W) as lanes (H*W, C, L), and back.
    internal static float[] ToLanes(ReadOnlySpan<float> nchw, TensorShape s)
    {
        int positions = s.H * s.W, lanes = Lanes.Padded(s.N);
        var result = new float[positions * s.C * lanes];
        for (int b = 0; b < s.N; b++)
            for (int c = 0; c < s.C; c++)
                for (int q = 0; q < positions; q++) result[(q * s.C + c) * lanes + b] = nchw[(b * s.C + c) * positions + q];
        return result;
    }

    internal static float[] FromLanes(ReadOnlySpan<float> x, TensorShape s)
    {
        int positions = s.H * s.W, lanes = Lanes.Padded(s.N);
        Assert.Equal(positions * s.C * lanes, x.Length);
        var result = new float[s.Length];
        for (int b = 0; b < s.N; b++)
            for (int c = 0; c < s.C; c++)
                for (int q = 0; q < positions; q++) result[(b * s.C + c) * positions + q] = x[(q * s.C + c) * lanes + b];
        return result;
    }

    // Forward and backward of a lanes layer on a fixture, twice: keeping a copy of its input, and borrowing it (as in a Network).
    private static void Check(FixtureCase c, Func<Module> build)
    {
        foreach (bool borrow in new[] { false, true })
        {
            Module layer = build();
            layer.BorrowsInput = borrow;
            ParameterSet parameters = ParameterSet.Create(layer);
            foreach (ParameterInfo entry in parameters.Entries) c[entry.Name].CopyTo(parameters.Values(entry));
            FixtureTensor input = c.Get("input");
            TensorShape shape = PyTorchLayerTests.ShapeOf(input), outShape = layer.OutputShape(shape);
            float[] x = ToLanes(input.Data, shape);
            Approx.Equal(c["output"], FromLanes(layer.Forward(x, shape), outShape), $"{c} output, borrow {borrow}");
            float[] dInput = FromLanes(layer.Backward(ToLanes(c["grad_output"], outShape)), shape);
            Approx.Equal(c["grad_input"], dInput, $"{c} grad_input, borrow {borrow}");
            foreach (ParameterInfo entry in parameters.Entries)
                Approx.Equal(c["grad_" + entry.Name], parameters.Gradients(entry), $"{c} grad_{entry.Name}, borrow {borrow}");
        }
    }

    [Theory]
    [MemberData(nameof(Conv2dCases))]
    public void Conv2dMatchesPyTorch(string name)
    {
        FixtureCase c = Fixtures.Get(name);
        Check(c, () => new LanesConv2d(c.Int("in_channels"), c.Int("out_channels"), c.Int("kernel_size"), c.Int("stride"), c.Int("padding")));
    }

    [Theory]
    [MemberData(nameof(ConvTranspose2dCases))]
    public void ConvTranspose2dMatchesPyTorch(string name)
    {
        FixtureCase c = Fixtures.Get(name);
        Check(c, () => new LanesConvTranspose2d(c.Int("in_channels"), c.Int("out_channels"), c.Int("kernel_size"), c.Int("stride"), c.Int("padding"), c.Int("output_padding")));
    }

    [Theory]
    [MemberData(nameof(LinearCases))]
    public void LinearMatchesPyTorch(string name)
    {
        FixtureCase c = Fixtures.Get(name);
        Check(c, () => new LanesLinear(c.Int("in"), c.Int("out")));
    }

    [Theory]
    [MemberData(nameof(BatchNormCases))]
    public void BatchNormMatchesPyTorch(string name)
    {
        FixtureCase c = Fixtures.Get(name);
        int features = c.Int("num_features");
        BatchNorm layer = c.Kind == "batchnorm2d" ? new BatchNorm2d(features) { LanesLayout = true } : new BatchNorm1d(features) { LanesLayout = true };
        var parameters = ParameterSet.Create(layer);
        var buffers = ParameterSet.Create([.. layer.LocalBuffers.Select(b => (b.Name, b))]);
        c["weight"].CopyTo(parameters.Values(parameters.Find("weight")!));
        c["bias"].CopyTo(parameters.Values(parameters.Find("bias")!));
        c["initial_running_mean"].CopyTo(buffers.Values(buffers.Find("running_mean")!));
        c["initial_running_var"].CopyTo(buffers.Values(buffers.Find("running_var")!));
        layer.Training = c.Attrs.GetProperty("mode").GetString() == "train";
        FixtureTensor input = c.Get("input");
        TensorShape shape = PyTorchLayerTests.ShapeOf(input);
        Approx.Equal(c["output"], FromLanes(layer.Forward(ToLanes(input.Data, shape), shape), shape), $"{c} output");
        Approx.Equal(c["grad_input"], FromLanes(layer.Backward(ToLanes(c["grad_output"], shape)), shape), $"{c} grad_input");
        Approx.Equal(c["grad_weight"], parameters.Gradients(parameters.Find("weight")!), $"{c} grad_weight");
        Approx.Equal(c["grad_bias"], parameters.Gradients(parameters.Find("bias")!), $"{c} grad_bias");
        Approx.Equal(c["running_mean"], buffers.Values(buffers.Find("running_mean")!), $"{c} running_mean");
        Approx.Equal(c["running_var"], buffers.Values(buffers.Find("running_var")!), $"{c} running_var");
    }

    [Theory]
    [InlineData(37, 5, 4, 3, true)]
    [InlineData(64, 32, 14, 14, true)]
    [InlineData(16, 7, 1, 1, true)]
    [InlineData(9, 3, 2, 5, false)]
    [InlineData(150, 32, 14, 14, true)]
    [InlineData(150, 5, 3, 3, true)]
    public void BatchNormWithItsReLUFoldedInEqualsBatchNormThenReLU(int n, int channels, int h, int w, bool training)
    {
        var rng = new Rng((ulong)(n * channels));
        var shape = new TensorShape(n, channels, h, w);
        BatchNorm Make(bool lanes) => h == 1 && w == 1
            ? new BatchNorm1d(channels) { LanesLayout = lanes, FusedRelu = lanes, Training = training }
            : new BatchNorm2d(channels) { LanesLayout = lanes, FusedRelu = lanes, Training = training };
        BatchNorm fused = Make(true), plain = Make(false);
        var relu = new ReLU();
        ParameterSet pf = ParameterSet.Create(fused), pp = ParameterSet.Create(plain);
        ParameterSet bf = ParameterSet.Create([.. fused.LocalBuffers.Select(b => (b.Name, b))]), bp = ParameterSet.Create([.. plain.LocalBuffers.Select(b => (b.Name, b))]);
        float[] weights = Approx.Random(rng, pf.Length, 0.5f, 1.5f), buffers = Approx.Random(rng, bf.Length, 0.2f, 1f);
        weights.CopyTo(pf.Data, 0); weights.CopyTo(pp.Data, 0);
        buffers.CopyTo(bf.Data, 0); buffers.CopyTo(bp.Data, 0);
        float[] x = Approx.Random(rng, shape.Length), dy = Approx.Random(rng, shape.Length);

        float[] expected = relu.Forward(plain.Forward(x, shape), shape).ToArray();
        float[] expectedDx = plain.Backward(relu.Backward(dy)).ToArray();
        Approx.Equal(expected, FromLanes(fused.Forward(ToLanes(x, shape), shape), shape), "output", 1e-6, 1e-6);
        Approx.Equal(expectedDx, FromLanes(fused.Backward(ToLanes(dy, shape)), shape), "grad_input", 1e-5, 1e-6);
        Approx.Equal(pp.Grad, pf.Grad, "grad of weight and bias", 1e-5, 1e-6);
        Approx.Equal(bp.Data, bf.Data, "running statistics", 1e-6, 1e-7);
    }

    [Fact]
    public void FlattenAndUnflattenMoveRowsBetweenTheLanesOrderAndPyTorchs()
    {
        var rng = new Rng(8);
        var shape = new TensorShape(20, 3, 2, 5);
        float[] x = Approx.Random(rng, shape.Length);
        var flatten = new Flatten(lanes: true);
        var unflatten = new Unflatten(3, 2, 5, lanes: true);
        TensorShape flat = flatten.OutputShape(shape);
        float[] flattened = flatten.Forward(ToLanes(x, shape), shape).ToArray();
        Approx.Identical(x, FromLanes(flattened, flat), "flatten is PyTorch's (C, H, W) order");
        Approx.Identical(x, FromLanes(unflatten.Forward(flattened, flat), shape), "unflatten undoes it");
        // Backward: the gradients are the same NCHW numbers in the other layout.
        float[] g = Approx.Random(rng, flattened.Length), h = ToLanes(Approx.Random(rng, shape.Length), shape);
        Approx.Identical(FromLanes(g, flat), FromLanes(flatten.Backward(g), shape), "flatten backward");
        Approx.Identical(FromLanes(h, shape), FromLanes(unflatten.Backward(h), flat), "unflatten backward");
    }
    [Theory]
    [InlineData(40, 16, 37)]   // In > Out, Out a multiple of 16: dWeightᵀ transposed back in blocks
    [InlineData(40, 8, 37)]    // In > Out otherwise: added element by element
    [InlineData(16, 48, 20)]   // In <= Out: x transposed instead
    public void LinearWeightGradientIsEachElementsChainOverTheLanesAddedOnce(int inFeatures, int outFeatures, int n)
    {
        var rng = new Rng((ulong)(inFeatures * 100 + outFeatures));
        var layer = new LanesLinear(inFeatures, outFeatures) { BorrowsInput = false };
        ParameterSet parameters = ParameterSet.Create(layer);
        ParameterInfo weight = parameters.Entries.Single(e => e.Name == "weight");
        Approx.Random(rng, inFeatures * outFeatures).CopyTo(parameters.Values(weight));
        float[] start = Approx.Random(rng, inFeatures * outFeatures);
        start.CopyTo(parameters.Gradients(weight));
        int lanes = Lanes.Padded(n);
        float[] x = Approx.Random(rng, inFeatures * lanes), dy = Approx.Random(rng, outFeatures * lanes);
        for (int f = 0; f < inFeatures; f++)
            for (int l = n; l < lanes; l++) x[f * lanes + l] = 0;  // padding lanes are zero, as the network keeps them
        var shape = new TensorShape(n, inFeatures, 1, 1);
        layer.Forward(x, shape);
        layer.Backward(dy, computeInputGradient: false);
        float[] expected = (float[])start.Clone();
        for (int j = 0; j < outFeatures; j++)
            for (int f = 0; f < inFeatures; f++)
            {
                float chain = 0f;
                for (int l = 0; l < lanes; l++) chain = MathF.FusedMultiplyAdd(x[f * lanes + l], dy[j * lanes + l], chain);
                expected[j * inFeatures + f] += chain;
            }
        Approx.Identical(expected, parameters.Gradients(weight).ToArray(), $"dWeight, Linear({inFeatures}, {outFeatures})");
    }
}
