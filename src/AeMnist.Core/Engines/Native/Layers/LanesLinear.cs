// nn.Linear on lanes tensors: y = W·x + b with x (In, L), one sample per lane, so the forward and input-gradient products
// are GEMMs with whole vectors of samples; for the weight gradient, whose sums run along the lanes, the smaller of x and dy
// is first transposed so that dWeight += dy·xᵀ is a GEMM too (either way each element is one chain over the lanes, so
// the same bits). The engine uses it in models that run in the lanes layout (see Network); Linear is the same layer on rows.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (In, L), weight (Out, In), bias (Out) -> output (Out, L); a shape's N is the batch, L = Lanes.Padded(N)
public sealed unsafe class LanesLinear : LinearModule
{
    private float* _input;            // Forward's input, kept for dWeight (borrowed, or a copy in _inputCopy)
    private float[] _inputCopy = [];
    private float[] _output = [];
    private float[] _dInput = [];
    private float[] _transposed = [];  // Backward's scratch: x (L, In) or dy (L, Out) transposed
    private float[] _dWeightT = [];   // Backward's scratch: dWeightᵀ (In, Out) when dy is the one transposed
    private float[] _dWeightRows = [];  // and dWeightᵀ transposed back to (Out, In)
    private TensorShape? _inputShape;

    public LanesLinear(int inFeatures, int outFeatures) : base(inFeatures, outFeatures)
    {
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        int lanes = CheckLanes(input, shape);
        OutputShape(shape);
        Span<float> output = RentOutput(ref _output, input, OutFeatures * lanes);
        Gemm.MatMul(Weight.Data, input, output, OutFeatures, InFeatures, lanes);
        ReadOnlySpan<float> bias = Bias.Data;
        for (int j = 0; j < OutFeatures; j++) Elementwise.AddInPlace(output.Slice(j * lanes, lanes), bias[j]);
        _input = Keep(input, ref _inputCopy);
        _inputShape = shape;
        return output;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        TensorShape shape = _inputShape ?? throw new InvalidOperationException("LanesLinear.Backward called before Forward.");
        int lanes = Lanes.Padded(shape.N);
        if (dOutput.Length != OutFeatures * lanes)
            throw new ArgumentException($"dOutput has {dOutput.Length} elements, expected {OutFeatures * lanes} for the last Forward.", nameof(dOutput));
        var input = new ReadOnlySpan<float>(_input, InFeatures * lanes);
        if (InFeatures <= OutFeatures)
        {
            Span<float> inputT = Rent(ref _transposed, input.Length);
            Lanes.TransposePositions(input, inputT, positions: 1, InFeatures, lanes);
            Gemm.MatMul(dOutput, inputT, Weight.Grad, OutFeatures, lanes, InFeatures, accumulate: true);
        }
        else
        {
            Span<float> dOutputT = Rent(ref _transposed, dOutput.Length), dWeightT = Rent(ref _dWeightT, InFeatures * OutFeatures);
            Lanes.TransposePositions(dOutput, dOutputT, positions: 1, OutFeatures, lanes);
            Gemm.MatMul(input, dOutputT, dWeightT, InFeatures, lanes, OutFeatures);
            Span<float> dWeight = Weight.Grad;
            if (OutFeatures % Lanes.Multiple == 0)
            {
                // dWeightᵀ (In, Out) back to (Out, In) in 16x16 blocks, then one vector add: the same single addition per
                // element as the loop below, without its strided writes (3136 x 16 of them for the bottleneck's encoder).
                Span<float> dWeightRows = Rent(ref _dWeightRows, InFeatures * OutFeatures);
                Lanes.TransposePositions(dWeightT, dWeightRows, positions: 1, InFeatures, OutFeatures);
                Elementwise.AddInPlace(dWeight, dWeightRows);
            }
            else
            {
                for (int f = 0; f < InFeatures; f++)
                    for (int j = 0; j < OutFeatures; j++) dWeight[j * InFeatures + f] += dWeightT[f * OutFeatures + j];
            }
        }
        AddBiasGradient(Bias, BiasGradientFrom, dOutput, positions: 1, lanes);
        if (!computeInputGradient) return [];
        Span<float> dInput = RentInputGradient(ref _dInput, dOutput, InFeatures * lanes);
        Gemm.MatMulTransposeA(Weight.Data, dOutput, dInput, InFeatures, OutFeatures, lanes);
        return dInput;
    }
}
