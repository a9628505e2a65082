// An optimiser bound to one engine model's parameters. The trainer calls Step after each ForwardBackward; its state
// travels as named tensors so a checkpoint from one engine resumes on any.
using AeMnist.Models;

namespace AeMnist.Optim;

public interface IOptimizer
{
    OptimizerOptions Options { get; }

    /// <summary>Steps taken (PyTorch's per-parameter "step", equal for all of them).</summary>
    long StepCount { get; }

    /// <summary>Sets the learning rate of the following steps (a schedule's epoch boundary); the moments and the step count stay.</summary>
    void SetLearningRate(double learningRate);

    /// <summary>One update of the parameters from their current gradients.</summary>
    void Step();

    /// <summary>
    /// The moments under PyTorch's optimizer-state names, one pair per parameter:
    /// "exp_avg.{parameter}" and "exp_avg_sq.{parameter}", in the model's state-dict order.
    /// </summary>
    StateDict StateDict();

    /// <summary>Restores moments written by <see cref="StateDict"/> and the step count.</summary>
    void LoadStateDict(StateDict state, long stepCount);
}
