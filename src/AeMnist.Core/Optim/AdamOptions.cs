// Adam's hyper-parameters with torch.optim.Adam's defaults. Doubles, like PyTorch's Python floats, so the
// bias corrections are computed exactly as PyTorch computes them before rounding to float.
namespace AeMnist.Optim;

/// <summary>Adam settings; defaults are PyTorch's (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0).</summary>
public sealed record AdamOptions(
    double LearningRate = 1e-3,
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Eps = 1e-8,
    double WeightDecay = 0.0) : OptimizerOptions(LearningRate)
{
    public override void Validate()
    {
        if (!(LearningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Invalid learning rate.");
        if (!(Eps >= 0)) throw new ArgumentOutOfRangeException(nameof(Eps), Eps, "Invalid epsilon value.");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "Invalid beta parameter at index 0.");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "Invalid beta parameter at index 1.");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "Invalid weight_decay value.");
    }
}
