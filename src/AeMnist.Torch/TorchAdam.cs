// torch.optim.Adam (TorchSharp's) over a torch model's parameters, as an IOptimizer: its moments leave and enter as
// the named tensors the native Adam uses (exp_avg.NAME, exp_avg_sq.NAME, in state-dict order), so a checkpoint of
// either engine resumes on either.
using AeMnist.Models;
using AeMnist.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace AeMnist.Torch;

internal sealed class TorchAdam : IOptimizer, IDisposable
{
    private readonly TorchModel _model;
    private readonly TorchSharp.Modules.Adam _adam;

    public TorchAdam(TorchModel model, AdamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        Options = options;
        _adam = optim.Adam(model.TrainableParameters.Select(p => p.Parameter), lr: options.LearningRate, beta1: options.Beta1, beta2: options.Beta2,
            eps: options.Eps, weight_decay: options.WeightDecay);
    }

    public AdamOptions Options { get; private set; }

    OptimizerOptions IOptimizer.Options => Options;

    public void SetLearningRate(double learningRate)
    {
        AdamOptions changed = Options with { LearningRate = learningRate };
        changed.Validate();
        foreach (var group in _adam.ParamGroups) group.LearningRate = learningRate;
        Options = changed;
    }

    public long StepCount { get; private set; }

    public void Step()
    {
        _adam.step();
        StepCount++;
    }

    public StateDict StateDict()
    {
        var states = States();
        var parameters = _model.TrainableParameters;
        return new(parameters.Select((p, i) => new NamedTensor("exp_avg." + p.Name, (int[])p.Shape.Clone(), TorchModel.ToArray(states[i].exp_avg)))
            .Concat(parameters.Select((p, i) => new NamedTensor("exp_avg_sq." + p.Name, (int[])p.Shape.Clone(), TorchModel.ToArray(states[i].exp_avg_sq)))));
    }

    public void LoadStateDict(StateDict state, long stepCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        var parameters = _model.TrainableParameters;
        if (state.Count != 2 * parameters.Count)
            throw new ArgumentException($"Adam state has {state.Count} tensors, expected {2 * parameters.Count} (exp_avg and exp_avg_sq per parameter).");
        var states = States();
        using var noGrad = torch.no_grad();
        for (int i = 0; i < parameters.Count; i++)
        {
            foreach (string moment in new[] { "exp_avg.", "exp_avg_sq." })
            {
                if (!state.TryGet(moment + parameters[i].Name, out NamedTensor t))
                    throw new ArgumentException($"Adam state tensor '{moment}{parameters[i].Name}' is missing.");
                if (!t.Shape.SequenceEqual(parameters[i].Shape))
                    throw new ArgumentException($"Adam state tensor '{moment}{parameters[i].Name}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", parameters[i].Shape)}].");
                TorchModel.CopyInto(moment == "exp_avg." ? states[i].exp_avg : states[i].exp_avg_sq, t.Data);
            }
            states[i].step = stepCount;
        }
        StepCount = stepCount;
    }

    public void Dispose() => _adam.Dispose();

    // TorchSharp keeps one State per parameter, in the order the parameters were given (spec order).
    private List<TorchSharp.Modules.Adam.State> States() => [.. _adam.state_dict().State.Cast<TorchSharp.Modules.Adam.State>()];
}
