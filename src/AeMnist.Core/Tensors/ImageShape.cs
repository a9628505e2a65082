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
}
