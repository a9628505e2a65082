// torch.optim.Adam's update (single-tensor path, amsgrad off) over the flat parameter, gradient and moment buffers on
// the device, one thread per value, in the native engine's order of operations.
using ILGPU;

namespace AeMnist.Gpu.Kernels;

/// <summary>One step's scalars, computed on the host in double as PyTorch does and rounded to float.</summary>
public struct AdamScalars
{
    public float Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, Eps, WeightDecay, NegativeStepSize, BiasCorrection2Sqrt;
}

public static class AdamKernels
{
    // parameters (P), gradients (P), m (P), v (P) -> parameters (P), m (P), v (P)
    /// <summary>
    /// g = grad + wd·p; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g·g; p += -lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps).
    /// </summary>
    public static void Step(ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v, AdamScalars s, int length, int block)
    {
        for (int first = ElementLoop.First(block); first < length; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, length); i < last; i++) StepOne(i, parameters, gradients, m, v, s);
    }

    private static void StepOne(int i, ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v, AdamScalars s)
    {
        float p = parameters[i];
        float grad = s.WeightDecay != 0f ? gradients[i] + s.WeightDecay * p : gradients[i];
        float mi = m[i] * s.Beta1 + s.OneMinusBeta1 * grad;
        float vi = v[i] * s.Beta2 + s.OneMinusBeta2 * grad * grad;
        float denom = MathF.Sqrt(vi) / s.BiasCorrection2Sqrt + s.Eps;
        parameters[i] = p + s.NegativeStepSize * mi / denom;
        m[i] = mi;
        v[i] = vi;
    }
}
