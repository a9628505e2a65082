// Matrix products on the device: a tiled GEMM in shared memory (the kernel every Linear and convolution runs on), its
// naive twin (one thread per output, the same k order, so the two agree bit for bit on one device), and the fixed-order
// sum of split-K partials. No atomics: every output is written by one thread, so a result never depends on scheduling.
using ILGPU;

namespace AeMnist.Gpu.Kernels;

/// <summary>
/// One GEMM's shape: C (M, N) = A (M, K) · B (K, N), with A(i, k) = a[i*ARow + k*ACol] and B(k, j) = b[k*BRow + j*BCol]
/// (so a transposed operand is only other strides), C row-major. Grid z splits K into chunks of <see cref="KChunk"/>;
/// split z writes its partial product at c[z*SplitStride + ...] (a workspace that <see cref="GemmKernels.SumSplits"/> adds up).
/// </summary>
public struct GemmArgs
{
    public int M, N, K;
    public int ARow, ACol, BRow, BCol;
    /// <summary>K per split (grid z); K itself when not split.</summary>
    public int KChunk;
    /// <summary>Elements between the outputs of consecutive splits (0 when not split).</summary>
    public int SplitStride;
    /// <summary>1: C += A·B (gradients accumulate); 0: C = A·B.</summary>
    public int Accumulate;
    /// <summary>1: C(i, j) += bias[i] (a layer's bias per output row).</summary>
    public int HasBias;
}

public static class GemmKernels
{
    /// <summary>K per shared-memory tile.</summary>
    public const int KTile = 16;

    /// <summary>Each thread computes a 4x4 block of outputs (rows ty + r*DimY, columns tx + c*DimX).</summary>
    public const int PerThread = 4;

    // a (M, K), b (K, N) -> c (M, N); group (TX, TY), tile (4*TY, 4*TX), dynamic shared memory KTile*(4*TY + 4*TX) floats
    /// <summary>
    /// Effectively computes C(i, j) = [C(i, j) +] [bias[i] +] Σ_k A(i, k)·B(k, j), k in increasing order within the group's
    /// split. A and B tiles of KTile values of k are staged in shared memory; each thread keeps 16 accumulators. Group x
    /// computes output tiles x, x + grid width, ... (a GPU launches one group per tile; the CPU accelerator a few groups).
    /// </summary>
    public static void Tiled(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, GemmArgs g)
    {
        int tilesAcross = (g.N + PerThread * Group.DimX - 1) / (PerThread * Group.DimX);
        int tiles = tilesAcross * ((g.M + PerThread * Group.DimY - 1) / (PerThread * Group.DimY));
        for (int tile = Grid.IdxX; tile < tiles; tile += Grid.DimX) Tile(a, b, c, bias, g, tile / tilesAcross, tile % tilesAcross);
    }

    private static void Tile(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, GemmArgs g, int tileRow, int tileColumn)
    {
        ArrayView<float> tiles = SharedMemory.GetDynamic<float>();
        int tx = Group.IdxX, ty = Group.IdxY, dx = Group.DimX, dy = Group.DimY;
        int threads = dx * dy, t = ty * dx + tx;
        int tm = PerThread * dy, tn = PerThread * dx, bOffset = KTile * tm;
        int row0 = tileRow * tm, col0 = tileColumn * tn;
        int kStart = Grid.IdxZ * g.KChunk;
        int kEnd = kStart + g.KChunk < g.K ? kStart + g.KChunk : g.K;
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int k0 = kStart; k0 < kEnd; k0 += KTile)
        {
            // Consecutive threads read consecutive addresses of whichever index is contiguous in memory.
            for (int e = t; e < KTile * tm; e += threads)
            {
                int r, kk;
                if (g.ACol == 1) { r = e / KTile; kk = e - r * KTile; }
                else { kk = e / tm; r = e - kk * tm; }
                int gi = row0 + r, gk = k0 + kk;
                tiles[kk * tm + r] = gi < g.M && gk < kEnd ? a[gi * g.ARow + gk * g.ACol] : 0f;
            }
            for (int e = t; e < KTile * tn; e += threads)
            {
                int cc, kk;
                if (g.BCol == 1) { kk = e / tn; cc = e - kk * tn; }
                else { cc = e / KTile; kk = e - cc * KTile; }
                int gj = col0 + cc, gk = k0 + kk;
                tiles[bOffset + kk * tn + cc] = gj < g.N && gk < kEnd ? b[gk * g.BRow + gj * g.BCol] : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < KTile; kk++)
            {
                int ai = kk * tm + ty, bi = bOffset + kk * tn + tx;
                float a0 = tiles[ai], a1 = tiles[ai + dy], a2 = tiles[ai + 2 * dy], a3 = tiles[ai + 3 * dy];
                float b0 = tiles[bi], b1 = tiles[bi + dx], b2 = tiles[bi + 2 * dx], b3 = tiles[bi + 3 * dx];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Group.Barrier();
        }
        int i0 = row0 + ty, j0 = col0 + tx;
        Store(c, bias, g, i0, j0, c00); Store(c, bias, g, i0, j0 + dx, c01); Store(c, bias, g, i0, j0 + 2 * dx, c02); Store(c, bias, g, i0, j0 + 3 * dx, c03);
        i0 += dy;
        Store(c, bias, g, i0, j0, c10); Store(c, bias, g, i0, j0 + dx, c11); Store(c, bias, g, i0, j0 + 2 * dx, c12); Store(c, bias, g, i0, j0 + 3 * dx, c13);
        i0 += dy;
        Store(c, bias, g, i0, j0, c20); Store(c, bias, g, i0, j0 + dx, c21); Store(c, bias, g, i0, j0 + 2 * dx, c22); Store(c, bias, g, i0, j0 + 3 * dx, c23);
        i0 += dy;
        Store(c, bias, g, i0, j0, c30); Store(c, bias, g, i0, j0 + dx, c31); Store(c, bias, g, i0, j0 + 2 * dx, c32); Store(c, bias, g, i0, j0 + 3 * dx, c33);
    }

    private static void Store(ArrayView<float> c, ArrayView<float> bias, GemmArgs g, int i, int j, float sum)
    {
        if (i >= g.M || j >= g.N) return;
        int index = Grid.IdxZ * g.SplitStride + i * g.N + j;
        float value = g.HasBias != 0 ? sum + bias[i] : sum;
        c[index] = g.Accumulate != 0 ? c[index] + value : value;
    }

    // a (M, K), b (K, N) -> c (M, N); one thread per output
    /// <summary>Naive twin of <see cref="Tiled"/> (unsplit): the same sum in the same k order, one thread per output.</summary>
    public static void Naive(Index1D index, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, GemmArgs g)
    {
        int i = index / g.N, j = index - i * g.N;
        float sum = 0f;
        for (int k = 0; k < g.K; k++) sum += a[i * g.ARow + k * g.ACol] * b[k * g.BRow + j * g.BCol];
        float value = g.HasBias != 0 ? sum + bias[i] : sum;
        c[index] = g.Accumulate != 0 ? c[index] + value : value;
    }

    // partials (splits, count) -> c (count)
    /// <summary>Effectively computes c[i] = [c[i] +] Σ_z partials[z*count + i], z in increasing order.</summary>
    public static void SumSplits(ArrayView<float> partials, ArrayView<float> c, int count, int splits, int accumulate, int block)
    {
        for (int first = ElementLoop.First(block); first < count; first += ElementLoop.Step(block))
            for (int i = first, last = ElementLoop.Last(first, block, count); i < last; i++)
            {
                float sum = 0f;
                for (int z = 0; z < splits; z++) sum += partials[z * count + i];
                c[i] = accumulate != 0 ? c[i] + sum : sum;
            }
    }
}
