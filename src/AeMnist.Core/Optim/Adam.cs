// Adam as torch.optim.Adam computes it on the CPU (single-tensor path, amsgrad off, maximize off), over the flat
// parameter and gradient arrays of a ParameterSet. M, V and StepCount are the whole state a checkpoint needs.
using AeMnist.Layers;

namespace AeMnist.Optim;

// parameters (P), gradients (P), M (P), V (P) -> parameters (P), M (P), V (P)
public sealed class Adam
{
    public Adam(ParameterSet parameters, AdamOptions options)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Parameters = parameters;
        Options = options;
        M = new float[parameters.Length];
        V = new float[parameters.Length];
    }

    public ParameterSet Parameters { get; }
    public AdamOptions Options { get; }

    /// <summary>First moments (PyTorch's exp_avg), laid out like <see cref="ParameterSet.Data"/>.</summary>
    public float[] M { get; }

    /// <summary>Second moments (PyTorch's exp_avg_sq), laid out like <see cref="ParameterSet.Data"/>.</summary>
    public float[] V { get; }

    /// <summary>Steps taken (PyTorch's per-parameter "step", equal for all of them).</summary>
    public long StepCount { get; private set; }

    /// <summary>Restores a saved state (for checkpoints): copies <paramref name="m"/> and <paramref name="v"/>.</summary>
    public void LoadState(ReadOnlySpan<float> m, ReadOnlySpan<float> v, long stepCount)
    {
        if (m.Length != M.Length || v.Length != V.Length)
            throw new ArgumentException($"Adam state has {m.Length} and {v.Length} moments, expected {M.Length} each.");
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        m.CopyTo(M);
        v.CopyTo(V);
        StepCount = stepCount;
    }

    /// <summary>One update from the gradients in <see cref="ParameterSet.Grad"/>.</summary>
    public void Step()
    {
        StepCount++;
        AdamOptions o = Options;
        // PyTorch computes these in Python floats (double), then each becomes a float scalar of a float32 tensor op.
        double biasCorrection1 = 1 - Math.Pow(o.Beta1, StepCount);
        double biasCorrection2 = 1 - Math.Pow(o.Beta2, StepCount);
        float negativeStepSize = (float)-(o.LearningRate / biasCorrection1);
        float biasCorrection2Sqrt = (float)Math.Sqrt(biasCorrection2);
        float beta1 = (float)o.Beta1, oneMinusBeta1 = (float)(1 - o.Beta1);
        float beta2 = (float)o.Beta2, oneMinusBeta2 = (float)(1 - o.Beta2);
        float eps = (float)o.Eps, weightDecay = (float)o.WeightDecay;

        float[] p = Parameters.Data, g = Parameters.Grad, m = M, v = V;
        for (int i = 0; i < p.Length; i++)
        {
            float grad = weightDecay != 0f ? g[i] + weightDecay * p[i] : g[i];   // grad.add(param, alpha=weight_decay)
            m[i] = m[i] * beta1 + oneMinusBeta1 * grad;                            // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
            v[i] = v[i] * beta2 + oneMinusBeta2 * grad * grad;                     // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            float denom = MathF.Sqrt(v[i]) / biasCorrection2Sqrt + eps;            // (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
            p[i] += negativeStepSize * m[i] / denom;                               // param.addcdiv_(exp_avg, denom, value=-step_size)
        }
    }
}
