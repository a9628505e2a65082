// The tutorial's two autoencoders against PyTorch: from the same initial weights and 8 images, one training step
// with Adam(lr=0.01) gives the same output, loss, every gradient and every updated parameter; two more steps the same losses.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Engines.Native.Layers;
using AeMnist.Models;
using AeMnist.Optim;

namespace AeMnist.Core.Tests.Models;

public class ModelFixtureTests
{
    public static TheoryData<string> Kinds => TestModels.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ParameterNamesShapesAndOrderArePyTorchs(string kind)
    {
        FixtureCase c = Fixtures.Get("model/" + kind);
        ModelSpec spec = TestModels.Spec(kind);
        NativeModel model = TestModels.Native(spec, 1);
        string[] names = [.. c.Attrs.GetProperty("parameters").EnumerateArray().Select(e => e.GetString()!)];
        Assert.Equal(names, spec.StateEntries.Select(e => e.Name));
        Assert.Equal(names, model.Parameters.Entries.Select(e => e.Name));
        foreach (StateEntry entry in spec.StateEntries)
            Assert.Equal(c.Get("initial/" + entry.Name).Shape, entry.Shape);
        Assert.Equal(model.Parameters.Length, spec.ParameterCount);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void OneTrainingStepMatchesPyTorch(string kind)
    {
        FixtureCase c = Fixtures.Get("model/" + kind);
        ModelSpec spec = TestModels.Spec(kind);
        NativeModel model = new NativeEngine().LoadNative(spec,
            new StateDict(spec.StateEntries.Select(e => new NamedTensor(e.Name, e.Shape, c["initial/" + e.Name]))));
        float[] input = c["input"];
        int n = input.Length / spec.Input.Length;

        float[] output = new float[input.Length];
        model.Reconstruct(input, n, output);
        Approx.Equal(c["output"], output, $"{kind} output");

        IOptimizer adam = model.CreateAdam(new AdamOptions(LearningRate: c.Double("lr")));
        float[] losses = c["losses"];
        Approx.Equal(losses[0], TestModels.Step(model, adam, input, n), $"{kind} loss");
        foreach (ParameterInfo entry in model.Parameters.Entries)
        {
            Approx.Equal(c["grad/" + entry.Name], model.Parameters.Gradients(entry), $"{kind} grad of {entry.Name}");
            CheckUpdated(c["grad/" + entry.Name], c["updated/" + entry.Name], model.Parameters.Values(entry), c.Double("lr"), $"{kind} {entry.Name}");
        }
        Approx.Equal(losses[1], TestModels.Step(model, adam, input, n), $"{kind} loss at step 2");
        Approx.Equal(losses[2], TestModels.Step(model, adam, input, n), $"{kind} loss at step 3");
    }

    /// <summary>
    /// Parameters after the first Adam step, which moves each by lr * g / (|g| + eps). Where PyTorch's |g| is at least
    /// 1e-7 (10 eps) that is insensitive enough to g and the usual tolerance applies. Where |g| is near eps (gradients that
    /// cancel to ~1e-9) the map amplifies a 1e-11 rounding difference in g up to ~1e-5 in the parameter, so those
    /// few elements get 1% of a step (lr / 100) as absolute tolerance instead.
    /// </summary>
    private static void CheckUpdated(float[] torchGrad, float[] expected, ReadOnlySpan<float> actual, double lr, string what)
    {
        int illConditioned = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            bool tiny = torchGrad[i] != 0 && Math.Abs(torchGrad[i]) < 1e-7;  // exact zeros (dead ReLUs) stay strict
            illConditioned += tiny ? 1 : 0;
            Approx.Equal(expected[i], actual[i], $"{what}[{i}] after the Adam step (PyTorch grad {torchGrad[i]:G3})",
                absolute: tiny ? lr / 100 : Approx.Absolute);
        }
        Assert.True(illConditioned <= expected.Length / 20 + 2, $"{what}: {illConditioned} of {expected.Length} gradients are below 1e-7");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void InitialisationHasPyTorchsBoundsAndDistribution(string kind)
    {
        // The generators differ, so compare the law: U(±1/sqrt(fan_in)) per tensor, with the fan-in the spec's layer
        // declares held to PyTorch's bound for that tensor.
        FixtureCase c = Fixtures.Get("model/" + kind);
        ModelSpec spec = TestModels.Spec(kind);
        StateDict initial = spec.InitialWeights(new Rng(2024));
        foreach (StateEntry entry in spec.StateEntries)
        {
            double bound = c.Attrs.GetProperty("init_bounds").GetProperty(entry.Name).GetDouble();
            Approx.Equal(bound, Init.KaimingUniformBound(entry.FanIn), $"{entry.Name} bound from the spec's fan-in {entry.FanIn}", 1e-7, 0);

            float[] ours = initial[entry.Name].Data, theirs = c["initial/" + entry.Name];
            foreach (float[] values in new[] { ours, theirs })
                Assert.All(values, v => Assert.InRange(Math.Abs(v), 0, bound));
            // Even a small tensor reaches near its bound (P(max < 0.9 b) = 0.9^n): a smaller fan-in bound would fail here.
            if (ours.Length >= 25)
                Assert.True(ours.Max(Math.Abs) > 0.9 * bound, $"{entry.Name}: largest |value| {ours.Max(Math.Abs)} is far below the bound {bound}");
            if (ours.Length >= 1000)
            {
                double mean = ours.Average(v => (double)v), variance = ours.Average(v => (v - mean) * (v - mean));
                Assert.InRange(mean, -4 * bound / Math.Sqrt(3 * ours.Length), 4 * bound / Math.Sqrt(3 * ours.Length));
                Assert.InRange(variance / (bound * bound / 3), 0.95, 1.05);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void InitialWeightsAreAFunctionOfTheSeed(string kind)
    {
        ModelSpec spec = TestModels.Spec(kind);
        Assert.True(spec.InitialWeights(new Rng(3)).BitEquals(spec.InitialWeights(new Rng(3))));
        Assert.False(spec.InitialWeights(new Rng(3)).BitEquals(spec.InitialWeights(new Rng(4))));
    }
}

/// <summary>
/// The bottleneck architecture (batch norm, stride-2 convolutions, Flatten/Unflatten, Sigmoid) against PyTorch: 80
/// images, more than one 64-image shard, so batch norm must normalise by the whole batch's statistics.
/// </summary>
public class BottleneckFixtureTests
{
    private static ModelSpec Spec(FixtureCase c)
    {
        Architecture a = Architectures.Get("bottleneck");
        int[] channels = [.. c.Attrs.GetProperty("channels").EnumerateArray().Select(e => e.GetInt32())];
        return a.Spec(a.Settings((BottleneckAutoEncoder.Latent, [c.Int("latent")]), (BottleneckAutoEncoder.Channels, channels)));
    }

    [Fact]
    public void StateDictNamesAndShapesArePyTorchs()
    {
        FixtureCase c = Fixtures.Get("model/bottleneck");
        ModelSpec spec = Spec(c);
        string[] names = [.. c.Attrs.GetProperty("state_dict").EnumerateArray().Select(e => e.GetString()!)];
        Assert.Equal(names, spec.StateEntries.Select(e => e.Name));
        string[] parameters = [.. c.Attrs.GetProperty("parameters").EnumerateArray().Select(e => e.GetString()!)];
        Assert.Equal(parameters, spec.ParameterEntries.Select(e => e.Name));
        foreach (StateEntry entry in spec.StateEntries)
            Assert.Equal(c.Get("initial/" + entry.Name).Shape, entry.Shape);
        // PyTorch's initial batch-norm values: weight 1, bias 0, running mean 0, variance 1, no batches.
        StateDict initial = spec.InitialWeights(new Rng(1));
        foreach (StateEntry entry in spec.StateEntries.Where(e => e.Constant is not null))
            Approx.Identical(c["initial/" + entry.Name], initial[entry.Name].Data, entry.Name);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void OneTrainingStepMatchesPyTorch(int threads)
    {
        FixtureCase c = Fixtures.Get("model/bottleneck");
        ModelSpec spec = Spec(c);
        NativeModel model = new NativeEngine(threads).LoadNative(spec,
            new StateDict(spec.StateEntries.Select(e => new NamedTensor(e.Name, e.Shape, c["initial/" + e.Name]))));
        float[] input = c["input"];
        int n = input.Length / spec.Input.Length;
        Assert.True(n > model.ShardSize, "the batch must span several shards");

        float[] output = new float[input.Length];
        model.Reconstruct(input, n, output);
        Approx.Equal(c["eval_output"], output, "evaluation-mode output");

        IOptimizer adam = model.CreateAdam(new AdamOptions(LearningRate: c.Double("lr")));
        float[] losses = c["losses"];
        Approx.Equal(losses[0], TestModels.Step(model, adam, input, n), "loss");
        foreach (ParameterInfo entry in model.Parameters.Entries)
            Approx.Equal(c["grad/" + entry.Name], model.Parameters.Gradients(entry), $"grad of {entry.Name}", relative: 1e-4, absolute: 1e-6);
        StateDict after = model.StateDict();
        double lr = c.Double("lr");
        foreach (StateEntry entry in spec.StateEntries)
        {
            float[] expected = c["updated/" + entry.Name], actual = after[entry.Name].Data;
            float[]? torchGrad = entry.IsBuffer ? null : c["grad/" + entry.Name];
            for (int i = 0; i < expected.Length; i++)
            {
                // A convolution's bias before batch norm has a gradient of exactly zero in exact arithmetic (the
                // normalisation removes any constant), so both engines' ~1e-9 gradients are rounding noise, which
                // Adam's first step turns into up to ±lr. Those elements only have to stay within one step.
                bool noise = torchGrad is not null && Math.Abs(torchGrad[i]) < 1e-7;
                Approx.Equal(expected[i], actual[i], $"{entry.Name}[{i}] after the step", relative: 1e-4, absolute: noise ? 2 * lr : 1e-5);
            }
        }
        Approx.Equal(losses[1], TestModels.Step(model, adam, input, n), "loss at step 2", relative: 1e-4);
        Approx.Equal(losses[2], TestModels.Step(model, adam, input, n), "loss at step 3", relative: 1e-4);
        model.Reconstruct(input, n, output);
        Approx.Equal(c["eval_output_after"], output, "evaluation-mode output after three steps", relative: 1e-3, absolute: 1e-4);
    }
}
