// 1 / (1 + exp(-x)) as nn.Sigmoid; Backward uses the cached output: dInput = dOutput * (1 - output) * output.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, C, H, W) -> output (N, C, H, W)
public sealed class Sigmoid : Activation
{
    protected override void Apply(ReadOnlySpan<float> input, Span<float> output) => Elementwise.Sigmoid(input, output);

    protected override void ApplyBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput) =>
        Elementwise.SigmoidBackward(output, dOutput, dInput);
}
