// A fully connected layer, y = x·Wᵀ + b, as nn.Linear. Input must be (N, in) i.e. (N, in, 1, 1); use Flatten first.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (N, In), weight (Out, In), bias (Out) -> output (N, Out)
public sealed unsafe class Linear : LinearModule
{
    private float[] _input = [];   // a copy of Forward's input for dWeight, unless the layer borrows it (Module.Keep)
    private float* _x;             // Forward's input as Backward reads it
    private float[] _output = [];
    private float[] _dInput = [];
    private TensorShape? _inputShape;
    private float[]? _weightT;    // (In, Out), kept current by the engine model that owns this layer; null: transpose per call

    public Linear(int inFeatures, int outFeatures) : base(inFeatures, outFeatures)
    {
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        CheckInput(input, shape);
        TensorShape outShape = OutputShape(shape);
        int n = shape.N;
        if (!Inference) _x = Keep(input, ref _input);  // for dWeight
        Span<float> output = RentOutput(ref _output, input, outShape.Length);
        if (_weightT is { } weightT)
        {
            Gemm.MatMulAddBias(input, weightT.AsSpan(0, InFeatures * OutFeatures), Bias.Data, output, n, InFeatures, OutFeatures);  // the same sums as below
        }
        else
        {
            Gemm.MatMulTransposeB(input, Weight.Data, output, n, InFeatures, OutFeatures);
            Elementwise.AddRowBias(Bias.Data, output, n);
        }
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        int n = CheckBackward(dOutput, _inputShape).N;
        var input = new ReadOnlySpan<float>(_x, n * InFeatures);
        Gemm.MatMulTransposeA(dOutput, input, Weight.Grad, OutFeatures, n, InFeatures, accumulate: true);
        Reductions.SumRows(dOutput, Bias.Grad, n);
        if (!computeInputGradient) return [];
        Span<float> dInput = RentInputGradient(ref _dInput, dOutput, n * InFeatures);
        Gemm.MatMul(dOutput, Weight.Data, dInput, n, OutFeatures, InFeatures);
        return dInput;
    }

    /// <summary>
    /// Makes Forward read the weight from <paramref name="weightT"/>, its transpose (In, Out), which the caller keeps
    /// current with <see cref="TransposeWeight"/> whenever the weight changes; null goes back to transposing per call.
    /// </summary>
    internal void UseTransposedWeight(float[]? weightT)
    {
        if (weightT is not null && weightT.Length != InFeatures * OutFeatures)
            throw new ArgumentException($"A transposed weight of Linear({InFeatures}, {OutFeatures}) has {InFeatures * OutFeatures} floats, got {weightT.Length}.");
        _weightT = weightT;
    }

    /// <summary>Writes Weight (Out, In) transposed, (In, Out), into <paramref name="destination"/>.</summary>
    internal void TransposeWeight(float[] destination) => Gemm.Transpose(Weight.Data, destination, OutFeatures, InFeatures);
}
