// Lays out small [0, 1] images (a digit beside its reconstruction) into one grayscale PNG, scaled up with
// nearest-neighbour so the pixels stay sharp; captions are left to HTML, which gets each cell's position.
using AeMnist.Imaging;

namespace AeMnist.Reporting;

/// <summary>Layout of <see cref="ImageGrid"/>; sizes in PNG pixels except <see cref="ImageSize"/> (source pixels).</summary>
public sealed record ImageGridOptions
{
    public int Columns { get; init; } = 8;
    public int Scale { get; init; } = 2;
    public int ImageSize { get; init; } = 28;

    /// <summary>Space between cells.</summary>
    public int Gap { get; init; } = 14;

    /// <summary>Space between the images of one cell.</summary>
    public int InnerGap { get; init; } = 2;

    public int Padding { get; init; } = 6;

    /// <summary>Empty band under each row of cells, where HTML places the captions.</summary>
    public int CaptionHeight { get; init; } = 18;

    public byte Background { get; init; } = 255;
}

/// <summary>One cell of a grid: its images' rectangle in the PNG, and the caption band below it.</summary>
public sealed record GridCell(int Index, int X, int Y, int Width, int Height, int CaptionHeight)
{
    public int CaptionY => Y + Height;
}

/// <summary>The encoded grid and where each cell lies in it.</summary>
public sealed record ImageGridResult(byte[] Png, int Width, int Height, IReadOnlyList<GridCell> Cells);

public static class ImageGrid
{
    /// <summary>Each cell shows an original beside its reconstruction.</summary>
    public static ImageGridResult Pairs(IReadOnlyList<(float[] Original, float[] Reconstruction)> pairs, ImageGridOptions? options = null) =>
        Build([.. pairs.Select(p => (IReadOnlyList<float[]>)[p.Original, p.Reconstruction])], options);

    /// <summary>
    /// Cells in rows of <see cref="ImageGridOptions.Columns"/>; each cell's images side by side. Images are
    /// row-major squares of <see cref="ImageGridOptions.ImageSize"/>² values in [0, 1] (clamped; NaN is black).
    /// </summary>
    public static ImageGridResult Build(IReadOnlyList<IReadOnlyList<float[]>> cells, ImageGridOptions? options = null)
    {
        var o = options ?? new ImageGridOptions();
        if (o.Columns < 1 || o.Scale < 1 || o.ImageSize < 1) throw new ArgumentException("Columns, Scale and ImageSize must be positive.", nameof(options));
        if (cells.Count == 0) throw new ArgumentException("An image grid needs at least one cell.", nameof(cells));
        int perCell = cells.Max(c => c.Count);
        if (perCell == 0) throw new ArgumentException("Grid cells have no images.", nameof(cells));
        int side = o.ImageSize * o.Scale;
        int cellW = perCell * side + (perCell - 1) * o.InnerGap, cellH = side;
        int columns = Math.Min(o.Columns, cells.Count), rows = (cells.Count + o.Columns - 1) / o.Columns;
        int width = 2 * o.Padding + columns * cellW + (columns - 1) * o.Gap;
        int height = 2 * o.Padding + rows * (cellH + o.CaptionHeight) + (rows - 1) * o.Gap;

        var pixels = new byte[width * height];
        Array.Fill(pixels, o.Background);
        var placed = new List<GridCell>(cells.Count);
        for (int i = 0; i < cells.Count; i++)
        {
            int x0 = o.Padding + (i % o.Columns) * (cellW + o.Gap);
            int y0 = o.Padding + (i / o.Columns) * (cellH + o.CaptionHeight + o.Gap);
            for (int k = 0; k < cells[i].Count; k++)
            {
                float[] image = cells[i][k];
                if (image.Length != o.ImageSize * o.ImageSize)
                    throw new ArgumentException($"Image {k} of cell {i} has {image.Length} values, expected {o.ImageSize}x{o.ImageSize}.", nameof(cells));
                Blit(image, o.ImageSize, o.Scale, pixels, width, x0 + k * (side + o.InnerGap), y0);
            }
            placed.Add(new GridCell(i, x0, y0, cellW, cellH, o.CaptionHeight));
        }
        return new ImageGridResult(Png.EncodeGray8(pixels, width, height), width, height, placed);
    }

    private static void Blit(float[] image, int size, int scale, byte[] target, int targetWidth, int x0, int y0)
    {
        for (int y = 0; y < size * scale; y++)
        {
            int row = (y0 + y) * targetWidth + x0;
            for (int x = 0; x < size * scale; x++)
            {
                float v = image[(y / scale) * size + x / scale];
                target[row + x] = float.IsNaN(v) ? (byte)0 : (byte)MathF.Round(Math.Clamp(v, 0f, 1f) * 255f);
            }
        }
    }
}
