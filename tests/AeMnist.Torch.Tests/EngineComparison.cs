// Comparisons of the native engine with another (the torch engine, the ilgpu engine) that both engines' differential tests
// use: a tensor's distance in L2 norm, and one Adam step from the same weights, moments and step count. Shared by
// AeMnist.Torch.Tests, AeMnist.Gpu.Tests and the GPU check package.
using AeMnist.Models;
using AeMnist.Optim;
using Xunit;
using Xunit.Abstractions;

namespace AeMnist.Torch.Tests;

internal static class EngineComparison
{
    /// <summary>|x - reference| / |reference| in L2 norm (0 when both are zero).</summary>
    public static double RelativeL2(float[] reference, float[] x)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            diff += ((double)x[i] - reference[i]) * ((double)x[i] - reference[i]);
            norm += (double)reference[i] * reference[i];
        }
        return norm > 0 ? Math.Sqrt(diff / norm) : (diff == 0 ? 0 : double.PositiveInfinity);
    }

    /// <summary>
    /// One Adam step, taken by both engines from the same weights, moments and step count. Its moments must agree per
    /// tensor in L2 norm, within <paramref name="momentLimit"/> of the native moments' norm: not element for element,
    /// because the gradients can differ by more than rounding (a ReLU's input within rounding of zero, masked by one
    /// engine and not the other, which a batch norm spreads over its channel: see the torch tests' Tolerance.CheckAgainstReference;
    /// over 16 initialisations of the fourteen cases the largest difference was 0.71%, in the bottleneck model; a moment
    /// not updated, or updated with a beta 5% off, differs by more). The weights must then agree element for
    /// element up to what the moments explain: Adam divides the first moment by the square root of the second, so a
    /// weight may differ by the difference of the two engines' steps computed (in double) from their own moments (up to
    /// 2 lr where a moment's sign differs), plus the usual allowance; any other difference fails. Both bounds follow from
    /// the step's arithmetic, not from a share of elements. Weights without moments (running statistics) get the
    /// element allowance alone.
    /// </summary>
    public static void AdamStep(string engine, StateDict native, StateDict other, StateDict nativeMoments, StateDict otherMoments, AdamOptions options, long step,
        string what, ITestOutputHelper? log, IReadOnlySet<string>? except, double relative, double absolute, double momentLimit = 0.02)
    {
        Assert.Equal(nativeMoments.Tensors.Select(t => t.Name), otherMoments.Tensors.Select(t => t.Name));
        foreach (NamedTensor m in nativeMoments.Tensors)
        {
            if (except?.Contains(m.Name[(m.Name.IndexOf('.') + 1)..]) == true) continue;
            double ratio = RelativeL2(m.Data, otherMoments[m.Name].Data);
            log?.WriteLine($"{what} {m.Name}: |{engine} - native| is {ratio:G3} of |native|");
            Assert.True(ratio <= momentLimit, $"{what} {m.Name}: the engines' moments differ by {ratio:G3} of the native moments' norm (at most {momentLimit})");
        }
        Assert.Equal(native.Tensors.Select(t => t.Name), other.Tensors.Select(t => t.Name));
        double firstCorrection = 1 - Math.Pow(options.Beta1, step), secondCorrection = Math.Sqrt(1 - Math.Pow(options.Beta2, step));
        foreach (NamedTensor t in native.Tensors)
        {
            if (except?.Contains(t.Name) == true) continue;
            float[] a = t.Data, b = other[t.Name].Data;
            bool hasMoments = nativeMoments.TryGet("exp_avg." + t.Name, out NamedTensor ma);
            float[] va = hasMoments ? nativeMoments["exp_avg_sq." + t.Name].Data : [], mb = hasMoments ? otherMoments["exp_avg." + t.Name].Data : [],
                vb = hasMoments ? otherMoments["exp_avg_sq." + t.Name].Data : [];
            double Update(float m, float v) => options.LearningRate * (m / firstCorrection) / (Math.Sqrt(v) / secondCorrection + options.Eps);
            double scale = a.Max(v => Math.Abs(v)), worstRatio = 0;
            int worst = -1;
            for (int i = 0; i < a.Length; i++)
            {
                double allowed = relative * Math.Abs(a[i]) + absolute * scale + (hasMoments ? 1.01 * Math.Abs(Update(ma.Data[i], va[i]) - Update(mb[i], vb[i])) : 0);
                double ratio = allowed > 0 ? Math.Abs((double)b[i] - a[i]) / allowed : (a[i] == b[i] ? 0 : double.PositiveInfinity);
                if (!(ratio <= worstRatio)) { worstRatio = ratio; worst = i; }
            }
            log?.WriteLine($"{what} {t.Name}: {100 * worstRatio:F1}% of the allowance");
            if (worst >= 0 && !(worstRatio <= 1))
                Assert.Fail($"{what} {t.Name}: element {worst} is {b[worst]:R} on {engine}, {a[worst]:R} on native, " + (hasMoments
                    ? $"more than their moments' steps ({Update(ma.Data[worst], va[worst]):G3} and {Update(mb[worst], vb[worst]):G3}) explain."
                    : $"more than {relative:G2}*|native| + {absolute:G2}*{scale:G3}."));
        }
    }
}
