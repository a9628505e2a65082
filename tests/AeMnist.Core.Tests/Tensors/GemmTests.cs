using AeMnist.Core.Tests.TestSupport;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Tensors;

public class GemmTests
{
    // 0, 1, odd, SIMD widths ± 1 (16 floats in Vector512, 8 in Vector256) and the 4-row / 4-vector block edges.
    private static readonly int[] Sizes = [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65];
    private static readonly int[] Depths = [0, 1, 7, 16, 17, 47, 48, 49];

    private delegate void Kernel(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> destination, int m, int k, int n, bool accumulate);

    public static TheoryData<string> Variants => new() { "MatMul", "MatMulTransposeA", "MatMulTransposeB", "RowDots" };

    private static (Kernel Fast, Kernel Naive) Pick(string variant) => variant switch
    {
        "MatMul" => (Gemm.MatMul, Gemm.MatMulNaive),
        "MatMulTransposeA" => (Gemm.MatMulTransposeA, Gemm.MatMulTransposeANaive),
        "MatMulTransposeB" => (Gemm.MatMulTransposeB, Gemm.MatMulTransposeBNaive),
        _ => (Gemm.RowDots, Gemm.RowDotsNaive),
    };

    private static void Compare(string variant, int m, int k, int n, bool accumulate, Rng rng)
    {
        (Kernel fast, Kernel naive) = Pick(variant);
        float[] a = Approx.Random(rng, m * k), b = Approx.Random(rng, k * n), start = Approx.Random(rng, m * n);
        float[] expected = (float[])start.Clone(), actual = (float[])start.Clone();
        naive(a, b, expected, m, k, n, accumulate);
        fast(a, b, actual, m, k, n, accumulate);
        Approx.Identical(expected, actual, $"{variant} m={m} k={k} n={n} accumulate={accumulate}");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void FastEqualsNaiveBitForBitOnAwkwardSizes(string variant)
    {
        var rng = new Rng(1);
        foreach (int m in Sizes)
            foreach (int n in Sizes)
                foreach (int k in Depths)
                    Compare(variant, m, k, n, accumulate: (m + n + k) % 2 == 0, rng);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void FastEqualsNaiveBitForBitOnModelSizes(string variant)
    {
        var rng = new Rng(2);
        // The dense autoencoder's products at batch 37, and the conv model's per-image products.
        Compare(variant, 37, 784, 64, false, rng);
        Compare(variant, 37, 64, 784, true, rng);
        Compare(variant, 784, 37, 64, true, rng);
        Compare(variant, 5, 75, 400, false, rng);
        Compare(variant, 75, 5, 400, false, rng);
        Compare(variant, 3, 576, 25, true, rng);
        // The bottleneck model's batched convolutions (a few images' columns side by side), past one 512-column panel.
        Compare(variant, 9, 32, 3 * 196 + 5, false, rng);
        Compare(variant, 32, 9, 4 * 196, true, rng);
        Compare(variant, 13, 33, 1100, true, rng);
    }

    // The bias added as each element is stored: the same bits as the naive product followed by the naive row-bias add, on
    // the awkward sizes (vector and scalar edges) and the dense model's (the packed 64-column blocks and their remainder).
    // Fails when a block's bias is taken from the wrong column or dropped at an edge.
    [Fact]
    public void MatMulAddBiasEqualsTheProductThenTheBiasBitForBit()
    {
        var rng = new Rng(3);
        IEnumerable<(int M, int K, int N)> shapes = Sizes.SelectMany(m => Sizes.SelectMany(n => Depths.Select(k => (m, k, n))))
            .Concat([(128, 784, 64), (128, 64, 784), (37, 32, 64), (9, 33, 600)]);
        foreach ((int m, int k, int n) in shapes)
        {
            float[] a = Approx.Random(rng, m * k), b = Approx.Random(rng, k * n), bias = Approx.Random(rng, n);
            float[] expected = new float[m * n], actual = Approx.Random(rng, m * n);  // whatever was there before is overwritten
            Gemm.MatMulNaive(a, b, expected, m, k, n);
            Elementwise.AddRowBiasNaive(bias, expected, m);
            Gemm.MatMulAddBias(a, b, bias, actual, m, k, n);
            Approx.Identical(expected, actual, $"MatMulAddBias m={m} k={k} n={n}");
        }
    }

    // The 8 x 8 register tiles and the edges around them: every element lands at its transposed place (fails when a tile
    // mixes two lanes or an edge row or column is skipped).
    [Fact]
    public void TransposePutsEveryElementAtItsTransposedPlace()
    {
        foreach (int rows in Sizes)
            foreach (int cols in new[] { 0, 1, 7, 8, 9, 16, 23, 64, 784 })
            {
                float[] source = [.. Enumerable.Range(0, rows * cols).Select(i => (float)i)];
                float[] destination = new float[rows * cols];
                Gemm.Transpose(source, destination, rows, cols);
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++)
                        Assert.True(destination[c * rows + r] == source[r * cols + c], $"({rows}, {cols}) at [{r}, {c}]");
            }
    }

    [Fact]
    public void MatMulComputesTheProduct()
    {
        // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]
        float[] c = new float[4];
        Gemm.MatMul([1, 2, 3, 4], [5, 6, 7, 8], c, 2, 2, 2);
        Assert.Equal([19f, 22f, 43f, 50f], c);
        Gemm.MatMulTransposeA([1, 3, 2, 4], [5, 6, 7, 8], c, 2, 2, 2);
        Assert.Equal([19f, 22f, 43f, 50f], c);
        Gemm.MatMulTransposeB([1, 2, 3, 4], [5, 7, 6, 8], c, 2, 2, 2, accumulate: true);
        Assert.Equal([38f, 44f, 86f, 100f], c);
    }

    [Fact]
    public void RowDotsAgreesWithMatMulTransposeBUpToRounding()
    {
        // Same product, different summation order: equal within float rounding of k terms.
        var rng = new Rng(4);
        float[] a = Approx.Random(rng, 5 * 400), b = Approx.Random(rng, 75 * 400);
        float[] dots = new float[5 * 75], chain = new float[5 * 75];
        Gemm.RowDots(a, b, dots, 5, 400, 75);
        Gemm.MatMulTransposeB(a, b, chain, 5, 400, 75);
        Approx.Equal(chain, dots, "RowDots vs MatMulTransposeB", relative: 1e-5, absolute: 1e-4);
    }

    [Fact]
    public void RowsDoNotDependOnTheirNeighbours()
    {
        var rng = new Rng(3);
        float[] a = Approx.Random(rng, 9 * 40), b = Approx.Random(rng, 50 * 40);
        float[] all = new float[9 * 50], one = new float[50];
        Gemm.MatMulTransposeB(a, b, all, 9, 40, 50);
        for (int i = 0; i < 9; i++)
        {
            Gemm.MatMulTransposeB(a.AsSpan(i * 40, 40), b, one, 1, 40, 50);
            Approx.Identical(all.AsSpan(i * 50, 50), one, $"row {i}");
        }
    }

    [Fact]
    public void WrongLengthsThrowWithNamesAndSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.MatMul(new float[5], new float[6], new float[4], 2, 3, 2));
        Assert.Contains("a has 5 elements, expected m*k = 2*3 = 6", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.MatMulTransposeB(new float[6], new float[6], new float[5], 2, 3, 2));
        Assert.Equal("destination", e.ParamName);
        Assert.Throws<ArgumentException>(() => Gemm.MatMulTransposeA(new float[6], new float[7], new float[4], 2, 3, 2));
    }
}
