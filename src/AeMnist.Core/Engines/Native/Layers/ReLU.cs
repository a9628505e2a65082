// max(x, 0) as nn.ReLU; its cached output doubles as the mask (output > 0) for Backward.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, C, H, W) -> output (N, C, H, W)
public sealed class ReLU : Activation
{
    protected override void Apply(ReadOnlySpan<float> input, Span<float> output) => Elementwise.Relu(input, output);

    protected override void ApplyBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> dOutput, Span<float> dInput) =>
        Elementwise.ReluBackward(output, dOutput, dInput);
}
