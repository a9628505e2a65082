// Adam as torch.optim.Adam computes it on the CPU (single-tensor path, amsgrad off, maximize off), over the flat
// parameter and gradient arrays of a ParameterSet. M, V and StepCount are the whole state a checkpoint needs; they
// travel as named tensors (exp_avg.NAME, exp_avg_sq.NAME), sliced by the set's entries.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using AeMnist.Engines.Native.Layers;
using AeMnist.Models;
using AeMnist.Optim;

namespace AeMnist.Engines.Native;

// parameters (P), gradients (P), M (P), V (P) -> parameters (P), M (P), V (P)
public sealed class Adam : IOptimizer
{
    // Elements per work item when the update runs on a pool: a multiple of every vector width, so each item's
    // elements take the same (vector or scalar) path as in one pass. The update is element-wise: the same bits.
    private const int ChunkLength = 8 * 1024;

    private readonly WorkerPool? _pool;
    private readonly Action<int, int> _updateChunk;
    private StepScalars _scalars;

    /// <summary>
    /// Adam over <paramref name="parameters"/>; with a <paramref name="pool"/> of more than one thread, each step's
    /// element-wise update is spread over it (a model's own pool: the native engine's models pass theirs).
    /// </summary>
    public Adam(ParameterSet parameters, AdamOptions options, WorkerPool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Parameters = parameters;
        Options = options;
        M = new float[parameters.Length];
        V = new float[parameters.Length];
        HugePages.Request(M);
        HugePages.Request(V);
        _pool = pool;
        _updateChunk = UpdateChunk;
    }

    public ParameterSet Parameters { get; }
    public AdamOptions Options { get; private set; }

    OptimizerOptions IOptimizer.Options => Options;

    public void SetLearningRate(double learningRate)
    {
        AdamOptions changed = Options with { LearningRate = learningRate };
        changed.Validate();
        Options = changed;
    }

    /// <summary>First moments (PyTorch's exp_avg), laid out like <see cref="ParameterSet.Data"/>.</summary>
    public float[] M { get; }

    /// <summary>Second moments (PyTorch's exp_avg_sq), laid out like <see cref="ParameterSet.Data"/>.</summary>
    public float[] V { get; }

    /// <summary>Steps taken (PyTorch's per-parameter "step", equal for all of them).</summary>
    public long StepCount { get; private set; }

    public StateDict StateDict() => new(
        Parameters.Entries.Select(e => new NamedTensor("exp_avg." + e.Name, (int[])e.Shape.Clone(), M.AsSpan(e.Offset, e.Length).ToArray()))
            .Concat(Parameters.Entries.Select(e => new NamedTensor("exp_avg_sq." + e.Name, (int[])e.Shape.Clone(), V.AsSpan(e.Offset, e.Length).ToArray()))));

    public void LoadStateDict(StateDict state, long stepCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        if (state.Count != 2 * Parameters.Entries.Count)
            throw new ArgumentException($"Adam state has {state.Count} tensors, expected {2 * Parameters.Entries.Count} (exp_avg and exp_avg_sq per parameter).");
        foreach (ParameterInfo e in Parameters.Entries)
            foreach ((string moment, float[] destination) in new[] { ("exp_avg.", M), ("exp_avg_sq.", V) })
            {
                if (!state.TryGet(moment + e.Name, out NamedTensor t))
                    throw new ArgumentException($"Adam state tensor '{moment}{e.Name}' is missing.");
                if (!t.Shape.SequenceEqual(e.Shape))
                    throw new ArgumentException($"Adam state tensor '{moment}{e.Name}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", e.Shape)}].");
                t.Data.CopyTo(destination.AsSpan(e.Offset, e.Length));
            }
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
        _scalars = new StepScalars(
            NegativeStepSize: (float)-(o.LearningRate / biasCorrection1),
            BiasCorrection2Sqrt: (float)Math.Sqrt(biasCorrection2),
            Beta1: (float)o.Beta1, OneMinusBeta1: (float)(1 - o.Beta1),
            Beta2: (float)o.Beta2, OneMinusBeta2: (float)(1 - o.Beta2),
            Eps: (float)o.Eps, WeightDecay: (float)o.WeightDecay);
        int length = Parameters.Data.Length;
        if (_pool is { Threads: > 1 } pool && length > ChunkLength) pool.Run((length + ChunkLength - 1) / ChunkLength, _updateChunk);
        else Update(0, length);
    }

    private void UpdateChunk(int chunk, int worker)
    {
        int start = chunk * ChunkLength;
        Update(start, Math.Min(ChunkLength, Parameters.Data.Length - start));
    }

    private readonly record struct StepScalars(float NegativeStepSize, float BiasCorrection2Sqrt, float Beta1, float OneMinusBeta1,
        float Beta2, float OneMinusBeta2, float Eps, float WeightDecay);

    // The update of elements [start, start + length).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Update(int start, int length)
    {
        (float negativeStepSize, float biasCorrection2Sqrt, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float eps, float weightDecay) = _scalars;
        Span<float> p = Parameters.Data.AsSpan(start, length), g = Parameters.Grad.AsSpan(start, length), m = M.AsSpan(start, length), v = V.AsSpan(start, length);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // The same operations in the same order as the scalar loop, lane by lane, so the results are identical.
            Vector512<float> vBeta1 = Vector512.Create(beta1), vOneMinusBeta1 = Vector512.Create(oneMinusBeta1);
            Vector512<float> vBeta2 = Vector512.Create(beta2), vOneMinusBeta2 = Vector512.Create(oneMinusBeta2);
            Vector512<float> vEps = Vector512.Create(eps), vWeightDecay = Vector512.Create(weightDecay);
            Vector512<float> vBiasCorrection2Sqrt = Vector512.Create(biasCorrection2Sqrt), vNegativeStepSize = Vector512.Create(negativeStepSize);
            for (; i + Vector512<float>.Count <= p.Length; i += Vector512<float>.Count)
            {
                Vector512<float> param = Vector512.LoadUnsafe(ref p[i]), grad = Vector512.LoadUnsafe(ref g[i]);
                if (weightDecay != 0f) grad += vWeightDecay * param;
                Vector512<float> mi = Vector512.LoadUnsafe(ref m[i]) * vBeta1 + vOneMinusBeta1 * grad;
                Vector512<float> vi = Vector512.LoadUnsafe(ref v[i]) * vBeta2 + vOneMinusBeta2 * grad * grad;
                Vector512<float> denom = Vector512.Sqrt(vi) / vBiasCorrection2Sqrt + vEps;
                (param + vNegativeStepSize * mi / denom).StoreUnsafe(ref p[i]);
                mi.StoreUnsafe(ref m[i]);
                vi.StoreUnsafe(ref v[i]);
            }
        }
        for (; i < p.Length; i++)
        {
            float grad = weightDecay != 0f ? g[i] + weightDecay * p[i] : g[i];   // grad.add(param, alpha=weight_decay)
            m[i] = m[i] * beta1 + oneMinusBeta1 * grad;                            // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
            v[i] = v[i] * beta2 + oneMinusBeta2 * grad * grad;                     // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            float denom = MathF.Sqrt(v[i]) / biasCorrection2Sqrt + eps;            // (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
            p[i] += negativeStepSize * m[i] / denom;                               // param.addcdiv_(exp_avg, denom, value=-step_size)
        }
    }
}
