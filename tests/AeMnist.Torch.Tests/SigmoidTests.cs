// The native engine's Sigmoid (our own exp, Elementwise.Sigmoid) against LibTorch's torch.sigmoid on the same floats:
// the two engines' models end in it, and where they round differently a bottleneck model's training drifts apart.
using AeMnist.Tensors;
using Xunit.Abstractions;

namespace AeMnist.Torch.Tests;

public sealed class SigmoidTests(ITestOutputHelper log)
{
    [Fact]
    public void TheNativeSigmoidRoundsAsLibTorchsAlmostEverywhere()
    {
        using var engine = Engines.Torch();  // loads LibTorch
        float[] x = [.. Enumerable.Range(0, 108_109).Select(i => -20f + i * 0.00037f)];
        float[] native = new float[x.Length], tensorPrimitives = new float[x.Length];
        Elementwise.Sigmoid(x, native);
        System.Numerics.Tensors.TensorPrimitives.Sigmoid(x, tensorPrimitives);
        using TorchSharp.torch.Tensor input = TorchSharp.torch.tensor(x), output = TorchSharp.torch.sigmoid(input);
        float[] torch = output.data<float>().ToArray();
        (double equal, double meanUlps) Against(float[] y)
        {
            int same = 0;
            double ulps = 0;
            for (int i = 0; i < x.Length; i++)
            {
                double exact = 1 / (1 + Math.Exp(-(double)x[i]));
                ulps += Math.Abs(y[i] - exact) / (MathF.BitIncrement((float)exact) - (float)exact);
                if (y[i] == torch[i]) same++;
            }
            return (same / (double)x.Length, ulps / x.Length);
        }
        (double equal, double meanUlps) ours = Against(native), runtime = Against(tensorPrimitives), libTorch = Against(torch);
        log.WriteLine($"equal to LibTorch's: native {100 * ours.equal:F1} %, TensorPrimitives {100 * runtime.equal:F1} %; " +
            $"mean error: native {ours.meanUlps:F3} ulp, LibTorch {libTorch.meanUlps:F3}, TensorPrimitives {runtime.meanUlps:F3}");
        Assert.True(ours.equal >= 0.99, $"the native sigmoid equals LibTorch's in {100 * ours.equal:F1} % of values (at least 99 %)");
        Assert.True(ours.meanUlps <= 0.5, $"the native sigmoid is {ours.meanUlps:F3} ulp from the exact one on average (at most 0.5)");
    }
}
