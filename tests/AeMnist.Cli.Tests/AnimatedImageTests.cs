using AeMnist.Imaging;

namespace AeMnist.Cli.Tests;

/// <summary>
/// An animated GIF is read from its first frame, and every command that reads one says so in one warning on stderr
/// (issue 20), whether it reads MNIST-like inputs (score, encode) or a dataset (train --input, data).
/// </summary>
public sealed class AnimatedImageTests : IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>
    /// A 28x28 GIF of <paramref name="frames"/> two-colour frames (a checkerboard that shifts by one pixel each frame), its
    /// LZW data written without compression: a clear code before every two pixels keeps the codes 3 bits wide.
    /// </summary>
    internal static byte[] Gif(int frames)
    {
        var b = new List<byte>();
        b.AddRange("GIF89a"u8.ToArray());
        b.AddRange([28, 0, 28, 0, 0x80, 0, 0, /* palette: */ 0, 0, 0, 255, 255, 255]);
        b.AddRange([0x21, 0xFF, 11, .. "NETSCAPE2.0"u8.ToArray(), 3, 1, 0, 0, 0]);  // loop forever
        for (int f = 0; f < frames; f++)
        {
            b.AddRange([0x21, 0xF9, 4, 0, 10, 0, 0, 0]);             // graphic control: 0.1 s a frame
            b.AddRange([0x2C, 0, 0, 0, 0, 28, 0, 28, 0, 0, 2]);    // the frame's place and size; LZW minimum code size 2
            var codes = new List<int>();
            for (int p = 0; p < 784; p += 2)
            {
                codes.Add(4);  // clear
                codes.Add((p / 28 + p % 28 + f) % 2);
                codes.Add((p / 28 + p % 28 + 1 + f) % 2);
            }
            codes.Add(5);  // end of information
            var data = new List<byte>();
            int bits = 0, count = 0;
            foreach (int code in codes)
            {
                bits |= code << count;
                count += 3;
                while (count >= 8) { data.Add((byte)bits); bits >>= 8; count -= 8; }
            }
            if (count > 0) data.Add((byte)bits);
            for (int at = 0; at < data.Count; at += 255)
            {
                int n = Math.Min(255, data.Count - at);
                b.Add((byte)n);
                b.AddRange(data.GetRange(at, n));
            }
            b.Add(0);
        }
        b.Add(0x3B);
        return [.. b];
    }

    [Fact]
    public void Every_command_that_reads_an_animated_gif_warns_once()
    {
        string folder = _scratch.CreateDirectory("digits");
        for (int i = 0; i < 11; i++)
            _scratch.Write($"digits/{i:D2}.png", ImageFiles.EncodeGrayPng([.. Enumerable.Range(0, 784).Select(p => (byte)((p * (i + 3)) % 256))], 28, 28));
        _scratch.Write("digits/moving.gif", Gif(3));
        _scratch.Write("still/one.gif", Gif(1));
        string model = _scratch.Write("model.safetensors", SafetensorsFiles.Dense());

        foreach (string[] args in new string[][]
                 {
                     ["score", "--model-file", model, "--input", folder, "--output", _scratch.File("scores.csv"), "--quiet"],
                     ["encode", "--model-file", model, "--input", _scratch.File("digits/moving.gif"), "--output", _scratch.File("codes.csv"), "--quiet"],
                     ["train", "--input", folder, "--epochs", "1", "--runs-dir", _scratch.File("runs"), "--quiet"],
                 })
        {
            ProcessResult result = AemnistProcess.Run(args, _scratch.Path);
            Assert.True(result.ExitCode == 0, result.ToString());
            string[] warnings = [.. result.Stderr.Split('\n').Where(l => l.Contains("animated", StringComparison.Ordinal))];
            Assert.True(warnings.Length == 1, $"{args[0]}: {result}");
            Assert.StartsWith("aemnist: warning: 1 of ", warnings[0]);
            Assert.Contains("moving.gif", warnings[0]);
            Assert.Contains("first frame", warnings[0]);
        }
        // A GIF of one frame is no animation.
        ProcessResult still = AemnistProcess.Run(["score", "--model-file", model, "--input", _scratch.File("still/one.gif"), "--quiet"], _scratch.Path);
        Assert.True(still.ExitCode == 0, still.ToString());
        Assert.DoesNotContain("animated", still.Stderr);
    }
}
