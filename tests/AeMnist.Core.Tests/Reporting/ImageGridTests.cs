// Image grids: the PNG decodes to the images, scaled by nearest neighbour, at the cell positions reported.
using AeMnist.Imaging;
using AeMnist.Reporting;

namespace AeMnist.Core.Tests.Reporting;

public class ImageGridTests
{
    // A 4x4 image whose pixel i has value i / 15, so every position is recognisable.
    private static float[] Gradient(int size = 4) => Enumerable.Range(0, size * size).Select(i => i / (float)(size * size - 1)).ToArray();

    [Fact]
    public void Pairs_DecodeToTheScaledImagesAtTheCellPositions()
    {
        var options = new ImageGridOptions { Columns = 2, Scale = 3, ImageSize = 4, Gap = 5, InnerGap = 1, Padding = 2, CaptionHeight = 7, Background = 200 };
        float[] a = Gradient(), b = [.. Gradient().Select(v => 1 - v)];
        var grid = ImageGrid.Pairs([(a, b), (b, a), (a, a)], options);

        // 2 columns of (4*3 + 1 + 4*3) = 25 px cells; 2 rows of 12 px plus a 7 px caption band.
        Assert.Equal((2 + 25 + 5 + 25 + 2, 2 + 19 + 5 + 19 + 2), (grid.Width, grid.Height));
        var (gray, w, h) = Png.Decode(grid.Png, "grid.png");
        Assert.Equal((grid.Width, grid.Height), (w, h));

        Assert.Equal(3, grid.Cells.Count);
        Assert.Equal(new GridCell(0, 2, 2, 25, 12, 7), grid.Cells[0]);
        Assert.Equal(new GridCell(1, 32, 2, 25, 12, 7), grid.Cells[1]);
        Assert.Equal(new GridCell(2, 2, 26, 25, 12, 7), grid.Cells[2]);
        Assert.Equal(14, grid.Cells[0].CaptionY);

        byte At(int x, int y) => gray[y * w + x];
        byte Expected(float[] image, int px, int py) => (byte)MathF.Round(image[(py / 3) * 4 + px / 3] * 255);
        foreach (var (cell, left, right) in new[] { (grid.Cells[0], a, b), (grid.Cells[1], b, a), (grid.Cells[2], a, a) })
        {
            for (int y = 0; y < 12; y++)
                for (int x = 0; x < 12; x++)
                {
                    Assert.Equal(Expected(left, x, y), At(cell.X + x, cell.Y + y));
                    Assert.Equal(Expected(right, x, y), At(cell.X + 13 + x, cell.Y + y));
                }
            Assert.Equal(200, At(cell.X + 12, cell.Y)); // the inner gap
            Assert.Equal(200, At(cell.X, cell.CaptionY)); // the caption band
        }
        Assert.Equal(200, At(w - 1, h - 1)); // the empty fourth cell
    }

    [Fact]
    public void ValuesAreClampedAndNaNIsBlack()
    {
        float[] image = [-1f, 2f, float.NaN, 0.5f];
        var grid = ImageGrid.Build([[image]], new ImageGridOptions { ImageSize = 2, Scale = 1, Padding = 0, CaptionHeight = 0 });
        Assert.Equal(new byte[] { 0, 255, 0, 128 }, Png.Decode(grid.Png, "g.png").Gray);
    }

    [Fact]
    public void WrongImageSize_NamesTheCell()
    {
        var e = Assert.Throws<ArgumentException>(() => ImageGrid.Pairs([(new float[784], new float[783])]));
        Assert.Contains("Image 1 of cell 0 has 783 values, expected 28x28", e.Message);
    }

    [Fact]
    public void MnistDefaults_TwoTimesScale()
    {
        var grid = ImageGrid.Pairs([(new float[784], new float[784])]);
        Assert.Equal(56, grid.Cells[0].Height);
        Assert.Equal(56 + 2 + 56, grid.Cells[0].Width);
    }
}
