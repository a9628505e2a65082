// The shape of one image: channels, height, width. Data carries it, models take their input shape from it, and the
// scores that look at neighbouring pixels (ssim, smoothed) need it.
namespace AeMnist.Tensors;

/// <summary>The (channels, height, width) of one image; its values are stored channel by channel, row by row.</summary>
public readonly record struct ImageShape(int Channels, int Height, int Width)
{
    /// <summary>Values in one image: C*H*W.</summary>
    public int Length => Channels * Height * Width;

    /// <summary>MNIST's: one channel, 28x28.</summary>
    public static ImageShape Mnist { get; } = new(1, 28, 28);

    /// <summary>"28x28" (one channel), "3x40x40".</summary>
    public override string ToString() => Channels == 1 ? $"{Height}x{Width}" : $"{Channels}x{Height}x{Width}";

    /// <summary>"1x28x28": channels, height and width, as files record it.</summary>
    public string Text => FormattableString.Invariant($"{Channels}x{Height}x{Width}");

    /// <summary>Reads <see cref="Text"/> ("3x40x40"; "40x40" is one channel); false for anything else or sizes outside 1-65536.</summary>
    public static bool TryParse(string text, out ImageShape shape)
    {
        shape = default;
        string[] parts = text.Trim().Split('x');
        if (parts.Length is < 2 or > 3) return false;
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (parts[i].Length is 0 or > 5 || !parts[i].All(char.IsAsciiDigit) || (values[i] = int.Parse(parts[i], System.Globalization.CultureInfo.InvariantCulture)) is < 1 or > 65536)
                return false;
        shape = parts.Length == 2 ? new ImageShape(1, values[0], values[1]) : new ImageShape(values[0], values[1], values[2]);
        return (long)shape.Channels * shape.Height * shape.Width <= int.MaxValue;
    }
}
