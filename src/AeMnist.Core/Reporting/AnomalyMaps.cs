// Per-pixel anomaly maps as files (score --maps DIR): each image's map is Scores.Map, the score pixel by pixel (its
// mean over the defined pixels is the score), the same map the report's samples draw, and on the same colour scale:
// ScottPlot's Inferno from 0 (black) to a stated maximum (light yellow; larger values take the top colour), with
// pixels a map leaves undefined (ssim's border) in the report's mid gray. The .npy holds the values themselves.
using System.Globalization;
using AeMnist.IO;
using AeMnist.Imaging;
using AeMnist.Scoring;
using AeMnist.Tensors;

namespace AeMnist.Reporting;

public static class AnomalyMaps
{
    /// <summary>The maps' colours, here and in the report's samples: Inferno, 0 black to the top of the scale light yellow.</summary>
    public static ScottPlot.IColormap Colormap { get; } = new ScottPlot.Colormaps.Inferno();

    /// <summary>One image's map (<see cref="Scores.Map"/>): image, reconstruction (C, H, W) -> destination (H, W).</summary>
    public static void Map(ScoreKind kind, ReadOnlySpan<float> image, ReadOnlySpan<float> reconstruction, ImageShape shape, Span<float> destination) =>
        Scores.Map(kind, image, reconstruction, shape, destination);

    /// <summary>The maps (N, H, W) of <paramref name="n"/> images and their reconstructions (both (N, C, H, W)).</summary>
    public static float[] Compute(ScoreKind kind, ReadOnlySpan<float> images, ReadOnlySpan<float> reconstructions, int n, ImageShape shape)
    {
        int length = shape.Length, plane = shape.Height * shape.Width;
        var maps = new float[(long)n * plane];
        for (int i = 0; i < n; i++)
            Map(kind, images.Slice(i * length, length), reconstructions.Slice(i * length, length), shape, maps.AsSpan(i * plane, plane));
        return maps;
    }

    /// <summary>The largest finite value of <paramref name="maps"/>, the top of their colour scale (1 when none is positive).</summary>
    public static double Max(ReadOnlySpan<float> maps)
    {
        double max = 0;
        foreach (float v in maps)
            if (float.IsFinite(v) && v > max) max = v;
        return max > 0 ? max : 1;
    }

    /// <summary>One map (H, W) as a PNG: Inferno from 0 to <paramref name="max"/>, undefined pixels gray.</summary>
    public static byte[] Png(ReadOnlySpan<float> map, int height, int width, double max)
    {
        if (map.Length != height * width) throw new ArgumentException($"a {height}x{width} map has {height * width} values, got {map.Length}", nameof(map));
        if (!(max > 0 && double.IsFinite(max))) throw new ArgumentOutOfRangeException(nameof(max), max, "The top of the colour scale must be a positive number.");
        var rgba = new byte[4 * map.Length];
        for (int i = 0; i < map.Length; i++)
        {
            ScottPlot.Color c = float.IsFinite(map[i]) ? Colormap.GetColor(Math.Clamp(map[i] / max, 0, 1)) : Charts.Uncovered;
            (rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]) = (c.R, c.G, c.B, 255);
        }
        return ImageFiles.EncodeRgba(rgba, width, height, SkiaSharp.SKEncodedImageFormat.Png, 100);
    }

    /// <summary>One map (H, W) as a NumPy .npy file of float32 (NaN where undefined).</summary>
    public static byte[] Npy(ReadOnlySpan<float> map, int height, int width) => LatentCodes.Npy(map, [height, width]);

    /// <summary>The colour scale in words, for the files' legend and messages.</summary>
    public static string Scale(ScoreKind kind, double max)
    {
        string border = Scores.MapBorder(kind) > 0 ? $", gray: the {Scores.MapBorder(kind)}-pixel border where the score is undefined" : "";
        ScoreKind drawn = Scores.MapKind(kind);
        string what = drawn == kind ? $"{Scores.Label(kind)} per pixel" : $"{Scores.Label(drawn)} per pixel (the {Scores.Name(kind)} score's map: it is no mean over pixels, so its map is {Scores.Name(drawn)}'s, whose mean is the {Scores.Name(drawn)} score, not the {Scores.Name(kind)} one)";
        return string.Create(CultureInfo.InvariantCulture, $"{what}, colour scale Inferno: 0 black, {max:G6} light yellow (larger values light yellow too){border}");
    }
}
