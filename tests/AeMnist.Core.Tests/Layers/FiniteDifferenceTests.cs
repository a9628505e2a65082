// Each layer's Backward against central finite differences of an independent double-precision reference of
// the same function (direct loops, no im2col or GEMM). The reference is first checked against Forward.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Engines.Native.Layers;
using AeMnist.Models;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Layers;

public class FiniteDifferenceTests
{
    /// <summary>output = f(input, parameters), all double, parameters in ParameterSet order.</summary>
    private delegate double[] Reference(double[] input, double[] parameters);

    private static void CheckBackward(Module layer, TensorShape shape, Reference reference, ulong seed, bool awayFromZero = false)
    {
        var rng = new Rng(seed);
        ParameterSet parameters = ParameterSet.Create(layer);
        Init.Uniform(parameters.Data, 0.5f, rng);
        ParameterSet buffers = ParameterSet.Create([.. layer.LocalBuffers.Select(b => (b.Name, b))]);
        if (layer is BatchNorm bn)  // running statistics for evaluation mode
        {
            buffers.Values(buffers.Find("running_mean")!).Fill(0.1f);
            buffers.Values(buffers.Find("running_var")!).Fill(0.8f);
            parameters.Values(parameters.Find("weight")!).Fill(1.2f);
        }
        float[] input = Approx.Random(rng, shape.Length, -1f, 1f);
        if (awayFromZero)  // keep ReLU inputs off the kink, farther than the finite-difference step
            for (int i = 0; i < input.Length; i++) input[i] = (input[i] < 0 ? -0.1f : 0.1f) + input[i];
        TensorShape outShape = layer.OutputShape(shape);
        float[] upstream = Approx.Random(rng, outShape.Length);

        double[] x = [.. input.Select(v => (double)v)], p = [.. parameters.Data.Select(v => (double)v)];
        double[] expectedOutput = reference(x, p);
        float[] output = layer.Forward(input, shape).ToArray();
        Approx.Equal([.. expectedOutput.Select(v => (float)v)], output, $"{layer.GetType().Name} forward vs double reference", 1e-5, 1e-5);

        parameters.ZeroGrad();
        float[] dInput = layer.Backward(upstream).ToArray();

        // L = Σ upstream · f(x, p); dL/dθ by central differences in double.
        double Loss(double[] xs, double[] ps)
        {
            double[] y = reference(xs, ps);
            double sum = 0;
            for (int i = 0; i < y.Length; i++) sum += upstream[i] * y[i];
            return sum;
        }
        double[] Numeric(double[] values, Func<double> loss)
        {
            const double h = 1e-6;
            var grad = new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                double saved = values[i];
                values[i] = saved + h;
                double plus = loss();
                values[i] = saved - h;
                double minus = loss();
                values[i] = saved;
                grad[i] = (plus - minus) / (2 * h);
            }
            return grad;
        }
        // Float analytic gradients vs double numeric ones: float rounding in sums of up to a few hundred terms.
        const double relative = 1e-4, absolute = 1e-5;
        Approx.Equal([.. Numeric(x, () => Loss(x, p)).Select(v => (float)v)], dInput, $"{layer.GetType().Name} dInput vs finite differences", relative, absolute);
        Approx.Equal([.. Numeric(p, () => Loss(x, p)).Select(v => (float)v)], parameters.Grad, $"{layer.GetType().Name} dParameters vs finite differences", relative, absolute);
    }

    // weight (C), bias (C): training mode normalises by the batch's mean and biased variance, evaluation mode by 0.1 and 0.8.
    private static double[] BatchNormRef(double[] x, double[] p, TensorShape s, bool training)
    {
        int spatial = s.H * s.W, c = s.C;
        var y = new double[x.Length];
        for (int ch = 0; ch < c; ch++)
        {
            double mean = 0.1, variance = 0.8;
            if (training)
            {
                double sum = 0, squares = 0;
                for (int n = 0; n < s.N; n++)
                    for (int i = 0; i < spatial; i++) sum += x[(n * c + ch) * spatial + i];
                mean = sum / (s.N * spatial);
                for (int n = 0; n < s.N; n++)
                    for (int i = 0; i < spatial; i++) squares += Math.Pow(x[(n * c + ch) * spatial + i] - mean, 2);
                variance = squares / (s.N * spatial);
            }
            for (int n = 0; n < s.N; n++)
                for (int i = 0; i < spatial; i++)
                {
                    int j = (n * c + ch) * spatial + i;
                    y[j] = (x[j] - mean) / Math.Sqrt(variance + 1e-5) * p[ch] + p[c + ch];
                }
        }
        return y;
    }

    [Theory]
    [InlineData(true, 4, 3, 3, 2)]
    [InlineData(false, 4, 3, 3, 2)]
    [InlineData(true, 5, 7, 1, 1)]
    [InlineData(false, 3, 6, 1, 1)]
    [InlineData(true, 2, 2, 5, 5)]
    public void BatchNorm(bool training, int n, int c, int h, int w)
    {
        var shape = new TensorShape(n, c, h, w);
        BatchNorm layer = h == 1 && w == 1 ? new BatchNorm1d(c) : new BatchNorm2d(c);
        layer.Training = training;
        CheckBackward(layer, shape, (x, p) => BatchNormRef(x, p, shape, training), 17);
    }

    private static double[] LinearRef(double[] x, double[] p, int n, int inF, int outF, int offset = 0)
    {
        var y = new double[n * outF];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < outF; o++)
            {
                double sum = p[offset + outF * inF + o];
                for (int j = 0; j < inF; j++) sum += x[i * inF + j] * p[offset + o * inF + j];
                y[i * outF + o] = sum;
            }
        return y;
    }

    private static double[] Conv2dRef(double[] x, double[] p, TensorShape s, int cout, int k, int stride, int pad)
    {
        int ho = (s.H + 2 * pad - k) / stride + 1, wo = (s.W + 2 * pad - k) / stride + 1;
        var y = new double[s.N * cout * ho * wo];
        int biasOffset = cout * s.C * k * k;
        for (int n = 0; n < s.N; n++)
            for (int co = 0; co < cout; co++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++)
                    {
                        double sum = p[biasOffset + co];
                        for (int ci = 0; ci < s.C; ci++)
                            for (int ki = 0; ki < k; ki++)
                                for (int kj = 0; kj < k; kj++)
                                {
                                    int iy = oy * stride - pad + ki, ix = ox * stride - pad + kj;
                                    if (iy < 0 || iy >= s.H || ix < 0 || ix >= s.W) continue;
                                    sum += x[((n * s.C + ci) * s.H + iy) * s.W + ix] * p[((co * s.C + ci) * k + ki) * k + kj];
                                }
                        y[((n * cout + co) * ho + oy) * wo + ox] = sum;
                    }
        return y;
    }

    private static double[] ConvTranspose2dRef(double[] x, double[] p, TensorShape s, int cout, int k, int stride, int pad, int outPad)
    {
        int ho = (s.H - 1) * stride - 2 * pad + k + outPad, wo = (s.W - 1) * stride - 2 * pad + k + outPad;
        var y = new double[s.N * cout * ho * wo];
        int biasOffset = s.C * cout * k * k;
        for (int n = 0; n < s.N; n++)
            for (int co = 0; co < cout; co++)
                for (int i = 0; i < ho * wo; i++) y[(n * cout + co) * ho * wo + i] = p[biasOffset + co];
        for (int n = 0; n < s.N; n++)
            for (int ci = 0; ci < s.C; ci++)
                for (int iy = 0; iy < s.H; iy++)
                    for (int ix = 0; ix < s.W; ix++)
                        for (int co = 0; co < cout; co++)
                            for (int ki = 0; ki < k; ki++)
                                for (int kj = 0; kj < k; kj++)
                                {
                                    int oy = iy * stride - pad + ki, ox = ix * stride - pad + kj;
                                    if (oy < 0 || oy >= ho || ox < 0 || ox >= wo) continue;
                                    y[((n * cout + co) * ho + oy) * wo + ox] +=
                                        x[((n * s.C + ci) * s.H + iy) * s.W + ix] * p[((ci * cout + co) * k + ki) * k + kj];
                                }
        return y;
    }

    private static double[] SigmoidRef(double[] x) => [.. x.Select(v => 1 / (1 + Math.Exp(-v)))];

    private static double[] ReluRef(double[] x) => [.. x.Select(v => Math.Max(v, 0))];

    [Theory]
    [InlineData(3, 7, 5)]
    [InlineData(1, 1, 1)]
    [InlineData(4, 33, 17)]
    public void Linear(int n, int inF, int outF) =>
        CheckBackward(new Linear(inF, outF), TensorShape.Dense(n, inF), (x, p) => LinearRef(x, p, n, inF, outF), 1);

    [Theory]
    [InlineData(2, 2, 3, 6, 7, 3, 1, 0)]
    [InlineData(2, 1, 2, 7, 7, 3, 2, 1)]
    [InlineData(1, 3, 2, 8, 5, 5, 2, 2)]
    [InlineData(2, 2, 2, 6, 6, 4, 3, 1)]
    public void Conv2d(int n, int cin, int cout, int h, int w, int k, int stride, int pad)
    {
        var shape = new TensorShape(n, cin, h, w);
        CheckBackward(new Conv2d(cin, cout, k, stride, pad), shape, (x, p) => Conv2dRef(x, p, shape, cout, k, stride, pad), 2);
    }

    [Theory]
    [InlineData(2, 2, 3, 4, 5, 3, 1, 0, 0)]
    [InlineData(2, 3, 2, 3, 4, 3, 2, 1, 1)]
    [InlineData(1, 2, 1, 4, 4, 5, 2, 2, 0)]
    [InlineData(2, 1, 2, 3, 3, 4, 3, 1, 2)]
    public void ConvTranspose2d(int n, int cin, int cout, int h, int w, int k, int stride, int pad, int outPad)
    {
        var shape = new TensorShape(n, cin, h, w);
        CheckBackward(new ConvTranspose2d(cin, cout, k, stride, pad, outPad), shape,
            (x, p) => ConvTranspose2dRef(x, p, shape, cout, k, stride, pad, outPad), 3);
    }

    [Fact]
    public void ReLU() => CheckBackward(new ReLU(), new TensorShape(2, 3, 4, 5), (x, _) => ReluRef(x), 4, awayFromZero: true);

    [Fact]
    public void Sigmoid() => CheckBackward(new Sigmoid(), new TensorShape(2, 3, 4, 5), (x, _) => SigmoidRef(x), 5);

    [Fact]
    public void SequentialOfLinearSigmoidLinearReLU()
    {
        // Composition: the chain rule through Sequential, including the parameter offsets of the second Linear.
        var model = new Sequential(new Linear(6, 5), new Sigmoid(), new Linear(5, 4), new ReLU());
        CheckBackward(model, TensorShape.Dense(3, 6),
            (x, p) => ReluRef(LinearRef(SigmoidRef(LinearRef(x, p, 3, 6, 5)), p, 3, 5, 4, offset: 35)), 6);
    }

    [Fact]
    public void FlattenThenLinearOverConv()
    {
        var shape = new TensorShape(2, 1, 5, 5);
        var model = new Sequential(new Conv2d(1, 2, 3), new Flatten(), new Linear(18, 3), new Unflatten(3, 1, 1));
        CheckBackward(model, shape, (x, p) => LinearRef(Conv2dRef(x, p, shape, 2, 3, 1, 0), p, 2, 18, 3, offset: 20), 7);
    }

    [Fact]
    public void MseLoss()
    {
        var rng = new Rng(8);
        var shape = new TensorShape(3, 2, 2, 5);
        float[] prediction = Approx.Random(rng, shape.Length, 0, 1), target = Approx.Random(rng, shape.Length, 0, 1);
        var loss = new MseLoss();
        float value = loss.Forward(prediction, target, shape);
        float[] grad = loss.Backward().ToArray();
        double[] x = [.. prediction.Select(v => (double)v)];
        double Mse() => x.Select((v, i) => (v - target[i]) * (v - target[i])).Sum() / x.Length;
        Approx.Equal(Mse(), value, "mse value");
        var numeric = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double saved = x[i];
            x[i] = saved + 1e-6;
            double plus = Mse();
            x[i] = saved - 1e-6;
            double minus = Mse();
            x[i] = saved;
            numeric[i] = (float)((plus - minus) / 2e-6);
        }
        Approx.Equal(numeric, grad, "mse gradient vs finite differences", 1e-4, 1e-6);
    }
}
