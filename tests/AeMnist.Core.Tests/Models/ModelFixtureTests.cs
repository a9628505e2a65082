// The tutorial's two autoencoders against PyTorch: from the same initial weights and 8 images, one training step
// with Adam(lr=0.01) gives the same output, loss, every gradient and every updated parameter; two more steps the same losses.
using System.Text.Json;
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Layers;
using AeMnist.Models;
using AeMnist.Optim;

namespace AeMnist.Core.Tests.Models;

public class ModelFixtureTests
{
    public static TheoryData<string> Kinds => new() { "dense", "conv" };

    private static AutoEncoder Create(string kind, ulong seed) =>
        kind == "dense" ? AutoEncoder.CreateDense(784, [64, 32], new Rng(seed)) : AutoEncoder.CreateConv(new Rng(seed));

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ParameterNamesShapesAndOrderArePyTorchs(string kind)
    {
        FixtureCase c = Fixtures.Get("model/" + kind);
        AutoEncoder model = Create(kind, 1);
        string[] names = [.. c.Attrs.GetProperty("parameters").EnumerateArray().Select(e => e.GetString()!)];
        Assert.Equal(names, model.Parameters.Entries.Select(e => e.Name));
        foreach (ParameterInfo entry in model.Parameters.Entries)
            Assert.Equal(c.Get("initial/" + entry.Name).Shape, entry.Shape);
        Assert.Equal(model.Parameters.Length, model.Parameters.Entries.Sum(e => e.Length));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void OneTrainingStepMatchesPyTorch(string kind)
    {
        FixtureCase c = Fixtures.Get("model/" + kind);
        AutoEncoder model = Create(kind, 1);
        foreach (ParameterInfo entry in model.Parameters.Entries) c["initial/" + entry.Name].CopyTo(model.Parameters.Values(entry));
        float[] input = c["input"];
        int n = input.Length / AutoEncoder.ImagePixels;

        float[] output = new float[input.Length];
        model.Reconstruct(input, n, output);
        Approx.Equal(c["output"], output, $"{kind} output");

        var adam = new Adam(model.Parameters, new AdamOptions(LearningRate: c.Double("lr")));
        float[] losses = c["losses"];
        Approx.Equal(losses[0], model.TrainStep(input, n, adam), $"{kind} loss");
        foreach (ParameterInfo entry in model.Parameters.Entries)
        {
            Approx.Equal(c["grad/" + entry.Name], model.Parameters.Gradients(entry), $"{kind} grad of {entry.Name}");
            CheckUpdated(c["grad/" + entry.Name], c["updated/" + entry.Name], model.Parameters.Values(entry), c.Double("lr"), $"{kind} {entry.Name}");
        }
        Approx.Equal(losses[1], model.TrainStep(input, n, adam), $"{kind} loss at step 2");
        Approx.Equal(losses[2], model.TrainStep(input, n, adam), $"{kind} loss at step 3");
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
        // The generators differ, so compare the law: U(±1/sqrt(fan_in)) per tensor, with PyTorch's fan_in.
        FixtureCase c = Fixtures.Get("model/" + kind);
        AutoEncoder model = Create(kind, 2024);
        foreach (ParameterInfo entry in model.Parameters.Entries)
        {
            double bound = c.Attrs.GetProperty("init_bounds").GetProperty(entry.Name).GetDouble();
            string layer = entry.Name[..entry.Name.LastIndexOf('.')];
            int[] weightShape = model.Parameters.Find(layer + ".weight")!.Shape;
            int fanIn = weightShape.Skip(1).Aggregate(1, (a, b) => a * b);  // PyTorch: size(1) * receptive field
            Approx.Equal(bound, Init.KaimingUniformBound(fanIn), $"{entry.Name} bound", 1e-7, 0);

            float[] ours = model.Parameters.Values(entry).ToArray(), theirs = c["initial/" + entry.Name];
            foreach (float[] values in new[] { ours, theirs })
                Assert.All(values, v => Assert.InRange(Math.Abs(v), 0, bound));
            if (ours.Length >= 1000)
            {
                double mean = ours.Average(v => (double)v), variance = ours.Average(v => (v - mean) * (v - mean));
                Assert.InRange(mean, -4 * bound / Math.Sqrt(3 * ours.Length), 4 * bound / Math.Sqrt(3 * ours.Length));
                Assert.InRange(variance / (bound * bound / 3), 0.95, 1.05);
                Assert.True(ours.Max(Math.Abs) > 0.99 * bound, $"{entry.Name} does not reach its bound");
            }
        }
    }
}
