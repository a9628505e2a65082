// --size, --color and --invert: how train reads images that are not MNIST's (resized, gray or RGB, inverted).
using System.CommandLine;
using AeMnist.Data;

namespace AeMnist.Cli.Commands;

internal static partial class SharedOptions
{
    internal sealed class ImageRuleSet
    {
        public readonly Option<string?> Size = new("--size")
        {
            Description = "Resize every image to HEIGHTxWIDTH (SkiaSharp's linear filter with mipmaps; the aspect ratio is not kept), e.g. 64x48, or N for NxN [default: the images' own size, which must agree]",
            HelpName = "HxW",
        };
        public readonly Option<string?> Color = new("--color")
        {
            Description = "gray (one channel: BT.601 luma) or rgb (three channels) [default: gray when every pixel of every image is gray, else rgb]",
            HelpName = "gray|rgb",
        };
        public readonly Option<bool> Invert = new("--invert")
        {
            Description = "The images are dark on a light background: composite on white and invert, so the model sees light on black (as MNIST)",
        };

        public Option[] All => [Size, Color, Invert];

        public ImageRules Read(ParseResult parse)
        {
            (int, int)? size = null;
            if (parse.GetValue(Size) is { } text)
            {
                try { size = ImageRules.ParseSize(text); }
                catch (ArgumentException e) { throw new UsageException(e.Message); }
            }
            int? channels = parse.GetValue(Color)?.Trim().ToLowerInvariant() switch
            {
                null => null,
                "gray" or "grey" => 1,
                "rgb" or "color" or "colour" => 3,
                _ => throw new UsageException($"--color {IO.MessageText.Quote(parse.GetValue(Color)!, 40)} is not a colour mode; use gray or rgb"),
            };
            return new ImageRules { Size = size, Channels = channels, Invert = parse.GetValue(Invert) };
        }
    }
}
