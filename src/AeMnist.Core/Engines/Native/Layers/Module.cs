// The base of every layer of the native engine: explicit Forward and Backward over flat spans, llm.c style.
// A module owns its output and input-gradient buffers; they grow to the largest batch seen and are then reused,
// so training allocates nothing per batch. A returned span stays valid until the module's next call; inside a Network
// the input gradients (and an inference pass's outputs) live in two buffers all its layers share (BufferPair), valid
// until the next layer has run.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

public abstract class Module
{
    /// <summary>Parameters owned by this module itself, in PyTorch registration order (weight, then bias).</summary>
    public virtual IReadOnlyList<Parameter> LocalParameters => [];

    /// <summary>Buffers owned by this module (batch norm's running statistics): saved and loaded, never trained.</summary>
    public virtual IReadOnlyList<Parameter> LocalBuffers => [];

    /// <summary>Child modules with their state-dict names, in PyTorch order.</summary>
    public virtual IReadOnlyList<(string Name, Module Module)> Children => [];

    /// <summary>The output shape for an input of shape <paramref name="input"/>; throws if the input does not fit.</summary>
    public abstract TensorShape OutputShape(TensorShape input);

    /// <summary>Computes the output for <paramref name="input"/> of shape <paramref name="shape"/>, caching what Backward needs.</summary>
    public abstract ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape);

    /// <summary>
    /// Given dLoss/dOutput for the last Forward, adds dLoss/dParameters into the parameter gradients (+=) and returns
    /// dLoss/dInput, or an empty span when <paramref name="computeInputGradient"/> is false (the first layer).
    /// </summary>
    public abstract ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient);

    /// <summary><see cref="Backward(ReadOnlySpan{float}, bool)"/> that also returns dLoss/dInput.</summary>
    public ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput) => Backward(dOutput, computeInputGradient: true);

    /// <summary>
    /// Whether Forward may keep a pointer to its input instead of a copy (the lanes layers): set by a Network whose
    /// activations live in pinned buffers that nothing writes until their layer's next Forward, so an input stays valid
    /// through Backward. Off by default, so a layer called on its own copies what Backward needs.
    /// </summary>
    internal bool BorrowsInput { get; set; }

    /// <summary>
    /// Where Backward writes its input gradient: the pair of buffers a Network's layers share (see <see cref="BufferPair"/>),
    /// or null for the module's own buffer (a module called on its own).
    /// </summary>
    internal BufferPair? Gradients { get; set; }

    /// <summary>
    /// Where Forward writes its output in an inference-only pass (a Network's, set for that pass only): the pair of buffers
    /// its layers share, or null for the module's own buffer. When set, no Backward follows, so Forward keeps nothing for one.
    /// </summary>
    internal BufferPair? Outputs { get; set; }

    /// <summary>Whether this Forward is inference only (<see cref="Outputs"/> set): nothing needs keeping for Backward.</summary>
    protected bool Inference => Outputs is not null;

    /// <summary>
    /// The buffer for Backward's input gradient of <paramref name="length"/> floats, given the <paramref name="dOutput"/> it
    /// reads: the pair's buffer that does not hold dOutput, or <paramref name="own"/>.
    /// </summary>
    protected Span<float> RentInputGradient(ref float[] own, ReadOnlySpan<float> dOutput, int length) =>
        Gradients is { } pair ? pair.Rent(dOutput, length) : Buffers.Rent(ref own, length);

    /// <summary>The buffer for Forward's output of <paramref name="length"/> floats, given the <paramref name="input"/> it reads.</summary>
    protected Span<float> RentOutput(ref float[] own, ReadOnlySpan<float> input, int length) =>
        Outputs is { } pair ? pair.Rent(input, length) : Buffers.Rent(ref own, length);

    /// <summary>
    /// What Backward will read of <paramref name="input"/>: a pointer to the input itself when <see cref="BorrowsInput"/>,
    /// else to a copy in <paramref name="copy"/>.
    /// </summary>
    protected unsafe float* Keep(ReadOnlySpan<float> input, ref float[] copy)
    {
        if (BorrowsInput) return (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(input));
        Span<float> kept = Rent(ref copy, input.Length);
        input.CopyTo(kept);
        return (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(kept));
    }

    /// <summary>
    /// A lanes layer's bias gradient, bias[c] += Σ dOutput over the positions and lanes of channel c: taken from the batch norm
    /// after the layer when it summed exactly that (its input gradient is dOutput), else summed here (LanesConv.SumChannels).
    /// </summary>
    internal static void AddBiasGradient(Parameter bias, BatchNorm? next, ReadOnlySpan<float> dOutput, int positions, int lanes)
    {
        if (next?.TakeInputGradientSums() is { } sums)
        {
            Span<float> grad = bias.Grad;
            for (int c = 0; c < grad.Length; c++) grad[c] += sums[c];
            return;
        }
        LanesConv.SumChannels(dOutput, bias.Grad, positions, lanes);
    }

    /// <summary>Lanes layers: the batch norm right after this layer, whose input-gradient sums are this layer's bias gradient.</summary>
    internal BatchNorm? BiasGradientFrom { get; set; }

    /// <summary>Checks a Forward input in the lanes layout: shape.N samples, each of shape.SampleLength rows of Lanes.Padded(N) lanes.</summary>
    protected static int CheckLanes(ReadOnlySpan<float> input, TensorShape shape)
    {
        if (shape.N < 0 || shape.C < 1 || shape.H < 1 || shape.W < 1)
            throw new ArgumentException($"Invalid input shape {shape}.", nameof(shape));
        int lanes = Lanes.Padded(shape.N);
        if (input.Length != (long)shape.SampleLength * lanes)
            throw new ArgumentException($"input has {input.Length} elements, but shape {shape} in the lanes layout needs {shape.SampleLength} x {lanes}.", nameof(input));
        return lanes;
    }

    /// <summary>The first <paramref name="length"/> floats of <paramref name="buffer"/>, growing it only when too small.</summary>
    protected static Span<float> Rent(ref float[] buffer, int length) => Buffers.Rent(ref buffer, length);

    /// <summary>Checks a Forward input against its shape.</summary>
    protected static void CheckInput(ReadOnlySpan<float> input, TensorShape shape)
    {
        if (shape.N < 0 || shape.C < 1 || shape.H < 1 || shape.W < 1)
            throw new ArgumentException($"Invalid input shape {shape}.", nameof(shape));
        if (input.Length != shape.Length)
            throw new ArgumentException($"input has {input.Length} elements, but shape {shape} needs {shape.Length}.", nameof(input));
    }

    /// <summary>Checks a Backward dOutput against the output shape of the last Forward.</summary>
    protected TensorShape CheckBackward(ReadOnlySpan<float> dOutput, TensorShape? lastInput)
    {
        TensorShape input = lastInput ?? throw new InvalidOperationException($"{GetType().Name}.Backward called before Forward.");
        TensorShape output = OutputShape(input);
        if (dOutput.Length != output.Length)
            throw new ArgumentException($"dOutput has {dOutput.Length} elements, but the last output {output} has {output.Length}.", nameof(dOutput));
        return input;
    }
}
