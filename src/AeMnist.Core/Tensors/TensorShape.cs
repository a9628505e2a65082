// The shape of a batch of float32 tensors stored flat in NCHW order.
// Dense activations use (N, features, 1, 1), so one four-number shape describes every layer's input.
// The native engine's interleaved layers (InterleavedConv2d, ...) read the same shape as [N/16][C][H][W][16].
namespace AeMnist.Tensors;

/// <summary>A batch shape (N, C, H, W); the data it describes is N*C*H*W floats in row-major NCHW order.</summary>
public readonly record struct TensorShape(int N, int C, int H, int W)
{
    /// <summary>A dense batch (N, features), stored as (N, features, 1, 1).</summary>
    public static TensorShape Dense(int n, int features) => new(n, features, 1, 1);

    /// <summary>Floats in one sample: C*H*W.</summary>
    public int SampleLength => C * H * W;

    /// <summary>Floats in the whole batch: N*C*H*W.</summary>
    public int Length => N * C * H * W;

    /// <summary>The same per-sample shape with another batch size.</summary>
    public TensorShape WithBatch(int n) => this with { N = n };

    public override string ToString() => H == 1 && W == 1 ? $"({N}, {C})" : $"({N}, {C}, {H}, {W})";
}
