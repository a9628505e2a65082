// Adam against torch.optim.Adam: three steps from given parameters and gradients, with and without weight decay.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Engines.Native;
using AeMnist.Engines.Native.Layers;
using AeMnist.Models;
using AeMnist.Optim;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Optim;

public class AdamTests
{
    public static TheoryData<string> AdamCases => Fixtures.Names("adam");

    private sealed class Holder(int length) : Module
    {
        public Parameter P { get; } = new("p", length);
        public override IReadOnlyList<Parameter> LocalParameters => [P];
        public override TensorShape OutputShape(TensorShape input) => input;
        public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape) => input;
        public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient) => dOutput;
    }

    [Theory]
    [MemberData(nameof(AdamCases))]
    public void ThreeStepsMatchPyTorch(string name)
    {
        FixtureCase c = Fixtures.Get(name);
        var set = ParameterSet.Create(new Holder(c["param0"].Length));
        c["param0"].CopyTo(set.Data, 0);
        var options = new AdamOptions(c.Double("lr"), c.Double("beta1"), c.Double("beta2"), c.Double("eps"), c.Double("weight_decay"));
        var adam = new Adam(set, options);
        for (int step = 1; step <= 3; step++)
        {
            c[$"grad{step}"].CopyTo(set.Grad, 0);
            adam.Step();
            Approx.Equal(c[$"param{step}"], set.Data, $"{c} param after step {step}");
        }
        Assert.Equal(3, adam.StepCount);
        Approx.Equal(c["exp_avg"], adam.M, $"{c} exp_avg");
        Approx.Equal(c["exp_avg_sq"], adam.V, $"{c} exp_avg_sq", absolute: 1e-12);
    }

    // On a model's pool the update runs in chunks of 8,192 elements on both threads: the same bits as one pass, for a
    // length with a partial last chunk and a scalar tail (fails when a chunk's offset or length is off by any element).
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    public void AStepOnAPoolEqualsOnePassBitForBit(double weightDecay)
    {
        const int length = 3 * 8192 + 1000 + 5;
        var rng = new Rng(8);
        var alone = ParameterSet.Create(new Holder(length));
        var pooled = ParameterSet.Create(new Holder(length));
        Approx.Random(rng, length).CopyTo(alone.Data, 0);
        alone.Data.CopyTo(pooled.Data, 0);
        var options = new AdamOptions(LearningRate: 0.01, WeightDecay: weightDecay);
        using var pool = new WorkerPool(2);
        var one = new Adam(alone, options);
        var two = new Adam(pooled, options, pool);
        for (int step = 1; step <= 3; step++)
        {
            float[] g = Approx.Random(rng, length);
            g.CopyTo(alone.Grad, 0);
            g.CopyTo(pooled.Grad, 0);
            one.Step();
            two.Step();
        }
        Assert.Equal(alone.Data, pooled.Data);
        Assert.Equal(one.M, two.M);
        Assert.Equal(one.V, two.V);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    public void VectorisedStepEqualsTheScalarFormulaBitForBit(double weightDecay)
    {
        const int length = 101;  // six 16-float vectors and a scalar tail of five
        var rng = new Rng(6);
        var set = ParameterSet.Create(new Holder(length));
        Approx.Random(rng, length).CopyTo(set.Data, 0);
        float[] p = (float[])set.Data.Clone(), m = new float[length], v = new float[length];
        var options = new AdamOptions(LearningRate: 0.01, WeightDecay: weightDecay);
        var adam = new Adam(set, options);
        for (int step = 1; step <= 3; step++)
        {
            float[] g = Approx.Random(rng, length);
            g.CopyTo(set.Grad, 0);
            adam.Step();
            float negativeStepSize = (float)-(options.LearningRate / (1 - Math.Pow(options.Beta1, step)));
            float bc2Sqrt = (float)Math.Sqrt(1 - Math.Pow(options.Beta2, step));
            for (int i = 0; i < length; i++)
            {
                float grad = weightDecay != 0 ? g[i] + (float)weightDecay * p[i] : g[i];
                m[i] = m[i] * 0.9f + 0.1f * grad;
                v[i] = v[i] * 0.999f + (float)(1 - 0.999) * grad * grad;
                p[i] += negativeStepSize * m[i] / (MathF.Sqrt(v[i]) / bc2Sqrt + 1e-8f);
            }
        }
        Approx.Identical(p, set.Data, "parameters");
        Approx.Identical(m, adam.M, "M");
        Approx.Identical(v, adam.V, "V");
    }

    [Fact]
    public void DefaultsArePyTorchs()
    {
        var o = new AdamOptions();
        Assert.Equal((1e-3, 0.9, 0.999, 1e-8, 0.0), (o.LearningRate, o.Beta1, o.Beta2, o.Eps, o.WeightDecay));
    }

    [Fact]
    public void RestoredStateContinuesExactly()
    {
        // A checkpoint saves the weights, the moments as named tensors and StepCount; restoring them must continue the run bit for bit.
        var rng = new Rng(5);
        var set = ParameterSet.Create(new Holder(50));
        Approx.Random(rng, 50).CopyTo(set.Data, 0);
        var adam = new Adam(set, new AdamOptions(LearningRate: 0.01, WeightDecay: 0.1));
        float[][] grads = [.. Enumerable.Range(0, 4).Select(_ => Approx.Random(rng, 50))];
        grads[0].CopyTo(set.Grad, 0);
        adam.Step();
        grads[1].CopyTo(set.Grad, 0);
        adam.Step();

        var copy = ParameterSet.Create(new Holder(50));
        set.Data.CopyTo(copy.Data, 0);
        var resumed = new Adam(copy, adam.Options);
        StateDict state = adam.StateDict();
        Assert.Equal(["exp_avg.p", "exp_avg_sq.p"], state.Tensors.Select(t => t.Name));
        resumed.LoadStateDict(state, adam.StepCount);
        foreach (float[] g in grads[2..])
        {
            g.CopyTo(set.Grad, 0);
            adam.Step();
            g.CopyTo(copy.Grad, 0);
            resumed.Step();
        }
        Approx.Identical(set.Data, copy.Data, "resumed parameters");
        Approx.Identical(adam.V, resumed.V, "resumed V");
    }

    [Fact]
    public void InvalidOptionsAreRejected()
    {
        var set = ParameterSet.Create(new Holder(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(set, new AdamOptions(LearningRate: -1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(set, new AdamOptions(Beta2: 1.0)));
        var adam = new Adam(set, new AdamOptions());
        Assert.Throws<ArgumentException>(() => adam.LoadStateDict(new StateDict([new NamedTensor("exp_avg.p", [2], new float[2])]), 0));
        var wrongShape = new StateDict([new NamedTensor("exp_avg.p", [2], new float[2]), new NamedTensor("exp_avg_sq.p", [1], new float[1])]);
        Assert.Contains("exp_avg.p", Assert.Throws<ArgumentException>(() => adam.LoadStateDict(wrongShape, 0)).Message);
    }
}
