// Mean squared error over all elements, as nn.MSELoss() (reduction "mean").
// Per-sample sums are kept too, because an image's reconstruction error is exactly its row's mean.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// prediction (N, C, H, W), target (N, C, H, W) -> loss (scalar); Backward -> dPrediction (N, C, H, W)
public sealed class MseLoss
{
    private float[] _difference = [];  // Forward's prediction - target, kept for Backward
    private float[] _rowSums = [];
    private float[] _dPrediction = [];
    private int _length = -1;
    private int _rows;

    /// <summary>Returns mean((prediction - target)²). Row sums are float; their total is summed in double.</summary>
    public float Forward(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, TensorShape shape)
    {
        if (prediction.Length != shape.Length || target.Length != shape.Length)
            throw new ArgumentException($"prediction ({prediction.Length}) and target ({target.Length}) must both have {shape.Length} elements for shape {shape}.");
        Span<float> difference = Buffers.Rent(ref _difference, shape.Length);
        Span<float> rowSums = Buffers.Rent(ref _rowSums, shape.N);
        Reductions.SquaredErrorRows(prediction, target, difference, rowSums);
        double total = 0;
        foreach (float sum in rowSums) total += sum;
        _length = shape.Length;
        _rows = shape.N;
        return (float)(total / shape.Length);
    }

    /// <summary>Σ_j (prediction - target)² for each sample of the last Forward.</summary>
    public ReadOnlySpan<float> RowSums => _length >= 0 ? Buffers.View(_rowSums, _rows) : throw NotRun();

    /// <summary>dLoss/dPrediction = (prediction - target) * (2 / numel), as PyTorch's mse_loss_backward.</summary>
    public ReadOnlySpan<float> Backward() => Backward(_length);

    /// <summary>
    /// dLoss/dPrediction when the last Forward saw one part of a batch of <paramref name="batchLength"/> elements in all:
    /// (prediction - target) * (2 / batchLength), so the parts' gradients add up to the whole batch's.
    /// </summary>
    public ReadOnlySpan<float> Backward(long batchLength)
    {
        if (_length < 0) throw NotRun();
        if (batchLength < _length) throw new ArgumentOutOfRangeException(nameof(batchLength), batchLength, $"The batch cannot be smaller than the last Forward's {_length} elements.");
        Span<float> dPrediction = Buffers.Rent(ref _dPrediction, _length);
        Elementwise.Scale(Buffers.View(_difference, _length), (float)(2.0 / batchLength), dPrediction);
        return dPrediction;
    }

    private static InvalidOperationException NotRun() => new("MseLoss.Forward has not been called.");
}
