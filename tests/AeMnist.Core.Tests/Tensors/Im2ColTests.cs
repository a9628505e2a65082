using AeMnist.Core.Tests.TestSupport;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Tensors;

public class Im2ColTests
{
    private static IEnumerable<ConvGeometry> Geometries()
    {
        foreach (int c in new[] { 1, 3 })
            foreach (int h in new[] { 1, 2, 5, 8 })
                foreach (int w in new[] { 1, 4, 7, 17 })
                    foreach (int k in new[] { 1, 2, 3, 5 })
                        foreach (int s in new[] { 1, 2, 3 })
                            foreach (int p in new[] { 0, 1, 2 })
                            {
                                if (h + 2 * p < k || w + 2 * p < k) continue;
                                yield return ConvGeometry.ForConv(c, h, w, k, s, p);
                            }
        // The tutorial model's convolutions, and its transposed ones seen from their outputs.
        yield return ConvGeometry.ForConv(1, 28, 28, 5, 1, 0);
        yield return ConvGeometry.ForConv(3, 24, 24, 5, 1, 0);
        yield return new ConvGeometry(3, 24, 24, 5, 1, 0, 20, 20);
        yield return new ConvGeometry(1, 28, 28, 5, 1, 0, 24, 24);
    }

    [Fact]
    public void BatchedUnfoldAndFoldEqualTheirNaiveTwinsAndThePerImageOnes()
    {
        var rng = new Rng(12);
        foreach (ConvGeometry g in Geometries().Where((_, i) => i % 7 == 0).Append(ConvGeometry.ForConv(32, 14, 14, 3, 2, 1)))
            foreach (int n in new[] { 1, 3 })
            {
                float[] images = Approx.Random(rng, n * g.ImageLength);
                int rows = g.ColumnRows, cols = g.ColumnCols;
                float[] expected = new float[rows * n * cols], actual = Approx.Random(rng, expected.Length);
                Im2Col.UnfoldBatchNaive(images, n, expected, g);
                Im2Col.UnfoldBatch(images, n, actual, g);
                Approx.Identical(expected, actual, $"UnfoldBatch n={n} {g}");
                float[] one = new float[rows * cols];
                Im2Col.Unfold(images.AsSpan((n - 1) * g.ImageLength, g.ImageLength), one, g);
                for (int r = 0; r < rows; r++)
                    Approx.Identical(one.AsSpan(r * cols, cols), actual.AsSpan((r * n + n - 1) * cols, cols), $"UnfoldBatch row {r} of the last image");

                float[] columns = Approx.Random(rng, expected.Length);
                float[] folded = Approx.Random(rng, images.Length), foldedNaive = new float[images.Length];
                Im2Col.FoldBatchNaive(columns, n, foldedNaive, g);
                Im2Col.FoldBatch(columns, n, folded, g);
                Approx.Identical(foldedNaive, folded, $"FoldBatch n={n} {g}");
            }
    }

    [Fact]
    public void SwapLeadingAxesTransposesBlocks()
    {
        float[] x = [.. Enumerable.Range(0, 2 * 3 * 4).Select(i => (float)i)], y = new float[x.Length], back = new float[x.Length];
        Im2Col.SwapLeadingAxes(x, y, 2, 3, 4);
        Assert.Equal([4f, 5f, 6f, 7f], y[8..12]);  // y[1, 0] = x[0, 1]
        Assert.Equal(x[12..16], y[4..8]);  // y[0, 1] = x[1, 0]
        Im2Col.SwapLeadingAxes(y, back, 3, 2, 4);
        Assert.Equal(x, back);
    }

    [Fact]
    public void UnfoldAndFoldEqualTheirNaiveTwinsBitForBit()
    {
        var rng = new Rng(11);
        int count = 0;
        foreach (ConvGeometry g in Geometries())
        {
            float[] image = Approx.Random(rng, g.ImageLength);
            float[] expected = new float[g.ColumnRows * g.ColumnCols], actual = Approx.Random(rng, expected.Length);
            Im2Col.UnfoldNaive(image, expected, g);
            Im2Col.Unfold(image, actual, g);
            Approx.Identical(expected, actual, $"Unfold {g}");

            float[] columns = Approx.Random(rng, expected.Length);
            float[] folded = new float[g.ImageLength], foldedNaive = Approx.Random(rng, g.ImageLength);
            Im2Col.FoldNaive(columns, foldedNaive, g);
            Im2Col.Fold(columns, folded, g);
            Approx.Identical(foldedNaive, folded, $"Fold {g}");
            count++;
        }
        Assert.True(count > 300, $"only {count} geometries");
    }

    [Fact]
    public void FoldIsTheAdjointOfUnfold()
    {
        // <Unfold(x), y> == <x, Fold(y)>, which is what makes the convolution backward pass correct.
        var rng = new Rng(12);
        foreach (ConvGeometry g in Geometries().Where((_, i) => i % 7 == 0))
        {
            float[] x = Approx.Random(rng, g.ImageLength), y = Approx.Random(rng, g.ColumnRows * g.ColumnCols);
            float[] unfolded = new float[y.Length], folded = new float[x.Length];
            Im2Col.Unfold(x, unfolded, g);
            Im2Col.Fold(y, folded, g);
            double left = 0, right = 0;
            for (int i = 0; i < y.Length; i++) left += (double)unfolded[i] * y[i];
            for (int i = 0; i < x.Length; i++) right += (double)x[i] * folded[i];
            Approx.Equal(left, right, $"adjoint {g}", relative: 1e-5, absolute: 1e-4);
        }
    }

    [Fact]
    public void UnfoldPlacesPixelsWhereExpected()
    {
        // A 1x3x3 image 1..9, kernel 2, stride 1, no padding: the four 2x2 windows as columns.
        var g = ConvGeometry.ForConv(1, 3, 3, 2, 1, 0);
        float[] columns = new float[4 * 4];
        Im2Col.Unfold([1, 2, 3, 4, 5, 6, 7, 8, 9], columns, g);
        Assert.Equal([1f, 2, 4, 5, /**/ 2, 3, 5, 6, /**/ 4, 5, 7, 8, /**/ 5, 6, 8, 9], columns);
    }

    [Fact]
    public void InvalidGeometryThrows()
    {
        Assert.Throws<ArgumentException>(() => ConvGeometry.ForConv(1, 3, 3, 5, 1, 0));
        var g = ConvGeometry.ForConv(1, 3, 3, 2, 1, 0);
        var e = Assert.Throws<ArgumentException>(() => Im2Col.Unfold(new float[8], new float[16], g));
        Assert.Equal("image", e.ParamName);
    }
}
