// torch.optim.Adam over a model's flat parameter and gradient buffers on the device: the moments are two more flat
// device buffers, the step one kernel. The moments leave and enter as the named tensors every engine uses
// (exp_avg.NAME, exp_avg_sq.NAME, in state-dict order), so a checkpoint of any engine resumes on this one.
using AeMnist.Gpu.Kernels;
using AeMnist.Models;
using AeMnist.Optim;
using ILGPU;
using ILGPU.Runtime;

namespace AeMnist.Gpu;

// parameters (P), gradients (P), m (P), v (P) -> parameters (P), m (P), v (P)
internal sealed class GpuAdam : IOptimizer, IDisposable
{
    private readonly GpuModel _model;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _m, _v;

    public GpuAdam(GpuModel model, AdamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        Options = options;
        _m = model.Memory.Allocate<float>(model.Parameters.Length);
        _v = model.Memory.Allocate<float>(model.Parameters.Length);
        _m.MemSetToZero();
        _v.MemSetToZero();
    }

    public AdamOptions Options { get; private set; }

    OptimizerOptions IOptimizer.Options => Options;

    public long StepCount { get; private set; }

    private ArrayView<float> M => ((ArrayView<float>)_m.View).SubView(0, _model.Parameters.Length);

    private ArrayView<float> V => ((ArrayView<float>)_v.View).SubView(0, _model.Parameters.Length);

    public void SetLearningRate(double learningRate)
    {
        AdamOptions changed = Options with { LearningRate = learningRate };
        changed.Validate();
        Options = changed;
    }

    public void Step()
    {
        StepCount++;
        AdamOptions o = Options;
        // PyTorch computes these in Python floats (double), then each becomes a float scalar of a float32 tensor op.
        double biasCorrection1 = 1 - Math.Pow(o.Beta1, StepCount);
        double biasCorrection2 = 1 - Math.Pow(o.Beta2, StepCount);
        var scalars = new AdamScalars
        {
            Beta1 = (float)o.Beta1, OneMinusBeta1 = (float)(1 - o.Beta1), Beta2 = (float)o.Beta2, OneMinusBeta2 = (float)(1 - o.Beta2),
            Eps = (float)o.Eps, WeightDecay = (float)o.WeightDecay,
            NegativeStepSize = (float)-(o.LearningRate / biasCorrection1), BiasCorrection2Sqrt = (float)Math.Sqrt(biasCorrection2),
        };
        _model.Bind();
        _model.Kernels.AdamStep(_model.Parameters.Values, _model.Parameters.Gradients, M, V, scalars);
    }

    public StateDict StateDict()
    {
        _model.Bind();
        DeviceParameters p = _model.Parameters;
        return new StateDict(p.Slice(DeviceParameters.Download(M), "exp_avg.").Tensors.Concat(p.Slice(DeviceParameters.Download(V), "exp_avg_sq.").Tensors));
    }

    public void LoadStateDict(StateDict state, long stepCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        var entries = _model.Parameters.ParameterOffsets.ToList();
        if (state.Count != 2 * entries.Count)
            throw new ArgumentException($"Adam state has {state.Count} tensors, expected {2 * entries.Count} (exp_avg and exp_avg_sq per parameter).");
        var m = new float[_model.Parameters.Length];
        var v = new float[_model.Parameters.Length];
        foreach ((StateEntry e, long offset) in entries)
            foreach ((string moment, float[] destination) in new[] { ("exp_avg.", m), ("exp_avg_sq.", v) })
            {
                if (!state.TryGet(moment + e.Name, out NamedTensor t))
                    throw new ArgumentException($"Adam state tensor '{moment}{e.Name}' is missing.");
                if (!t.Shape.SequenceEqual(e.Shape))
                    throw new ArgumentException($"Adam state tensor '{moment}{e.Name}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", e.Shape)}].");
                t.Data.CopyTo(destination.AsSpan((int)offset, e.Length));
            }
        _model.Bind();
        DeviceMemory.Upload(M, m);
        DeviceMemory.Upload(V, v);
        StepCount = stepCount;
    }

    public void Dispose()
    {
        _model.Memory.Release(_m);
        _model.Memory.Release(_v);
    }
}
