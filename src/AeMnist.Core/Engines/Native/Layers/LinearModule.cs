// What the two fully connected layers share: nn.Linear's sizes, checked once, its parameters under PyTorch's names
// (weight (Out, In), bias (Out)) and its shape rule. Linear and LanesLinear differ only in layout and kernels.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

public abstract class LinearModule : Module
{
    protected LinearModule(int inFeatures, int outFeatures)
    {
        if (inFeatures < 1 || outFeatures < 1)
            throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear({inFeatures}, {outFeatures}) needs positive sizes.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = new Parameter("weight", outFeatures, inFeatures);
        Bias = new Parameter("bias", outFeatures);
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Parameter Weight { get; }
    public Parameter Bias { get; }

    public override IReadOnlyList<Parameter> LocalParameters => [Weight, Bias];

    public override TensorShape OutputShape(TensorShape input)
    {
        if (input.C != InFeatures || input.H != 1 || input.W != 1)
            throw new ArgumentException($"Linear({InFeatures}, {OutFeatures}) needs input (N, {InFeatures}), got {input}; flatten it first.");
        return TensorShape.Dense(input.N, OutFeatures);
    }
}
