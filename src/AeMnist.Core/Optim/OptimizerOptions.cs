// What optimiser a model is trained with, as a value the trainer hands to the engine (IEngineModel.CreateOptimizer), so
// that the engine builds it over its own parameters. Adam is the one optimiser today.
namespace AeMnist.Optim;

/// <summary>An optimiser and its hyper-parameters; <see cref="LearningRate"/> is what a schedule changes between epochs.</summary>
public abstract record OptimizerOptions(double LearningRate)
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for values PyTorch rejects too.</summary>
    public abstract void Validate();
}
