// The GEMMs of the bottleneck model's 32→64 stride-2 convolutions on a 64-image shard (the im2col engine), and the lanes
// kernels that replaced them, each timed alone on one thread
// (best of 30 calls) and put as a share of the FMA peak measured the same way (best of short bursts):
//   dotnet tests/AeMnist.Benchmarks/bin/Release/net10.0/AeMnist.Benchmarks.dll gemm [cold]
// With `cold`, the lanes kernels run with their operands in memory, not in cache (64 MB written before every call), as a
// training step often finds one side of a convolution: its input was written long before its backward pass.
using System.Diagnostics;
using AeMnist.Tensors;

namespace AeMnist.Benchmarks;

internal static class GemmShapes
{
    public static int Run(bool cold = false)
    {
        double peak = Peak.BestShort();
        Console.WriteLine($"FMA peak, one core (best of 200 bursts of ~1 ms): {peak:F1} GFLOPS");
        (string Name, int Kind, int M, int K, int N)[] shapes =
        [
            ("Conv2d(32,64) forward: W·columns", 0, 64, 288, 3136),
            ("Conv2d(32,64) dColumns: Wᵀ·dY", 1, 288, 64, 3136),
            ("Conv2d(32,64) dWeight: dY·columnsᵀ (RowDots)", 2, 64, 3136, 288),
            ("ConvT2d(64,32) forward: Wᵀ·X", 1, 288, 64, 3136),
            ("Conv2d(1,32) forward: W·columns", 0, 32, 9, 12544),
            ("lanes Linear(3136,16) forward: W·x", 0, 16, 3136, 64),
            ("lanes Linear(3136,16) dWeight: dy·xᵀ", 0, 16, 64, 3136),
            ("lanes Linear(3136,16) dInput: Wᵀ·dy", 1, 3136, 16, 64),
            ("lanes Linear(16,3136) forward: W·x", 0, 3136, 16, 64),
            ("lanes Linear(16,3136) dWeight: dy·xᵀ", 0, 3136, 64, 16),
            ("lanes Linear(16,3136) dInput: Wᵀ·dy", 1, 16, 3136, 64),
            ("dense Linear(784,64) forward: x·Wᵀ", 0, 128, 784, 64),
            ("dense Linear(784,64) dWeight: dyᵀ·x", 1, 64, 128, 784),
            ("dense Linear(64,784) forward: x·Wᵀ", 0, 128, 64, 784),
            ("dense Linear(64,784) dWeight: dyᵀ·x", 1, 784, 128, 64),
            ("dense Linear(64,784) dInput: dy·W", 0, 128, 784, 64),
        ];
        foreach (var (name, kind, m, k, n) in shapes)
        {
            float[] a = Inputs.Random(m * k, 3), b = Inputs.Random(k * n, 4), c = new float[m * n];
            double best = Best(() =>
            {
                if (kind == 0) Gemm.MatMul(a, b, c, m, k, n);
                else if (kind == 1) Gemm.MatMulTransposeA(a, b, c, m, k, n);
                else Gemm.RowDots(a, b, c, m, k, n);
            }, []);
            double gflops = 2.0 * m * k * n / best / 1e9;
            Console.WriteLine($"  {name,-48} m={m,4} k={k,5} n={n,6}  {best * 1e3,7:F3} ms  {gflops,6:F0} GFLOPS  {100 * gflops / peak,4:F0} % of peak");
        }
        LanesKernels(peak, cold);
        return 0;
    }

    // The lanes kernels of the bottleneck model's layers on a 64-image shard (LanesConv: every direction of each convolution).
    private static void LanesKernels(double peak, bool cold)
    {
        float[] flush = cold ? new float[16 << 20] : [];
        const int lanes = 64;
        (string Name, ConvGeometry G, int GridChannels)[] layers =
        [
            ("Conv2d(1,32) 28x28 -> 14x14", ConvGeometry.ForConv(1, 28, 28, 3, 2, 1), 32),
            ("Conv2d(32,64) 14x14 -> 7x7", ConvGeometry.ForConv(32, 14, 14, 3, 2, 1), 64),
            ("ConvT2d(64,32) 7x7 -> 14x14", new ConvGeometry(32, 14, 14, 3, 2, 1, 7, 7), 64),
            ("ConvT2d(32,1) 14x14 -> 28x28", new ConvGeometry(1, 28, 28, 3, 2, 1, 14, 14), 32),
        ];
        Console.WriteLine($"Lanes kernels, {lanes} images, one thread, best of 30 calls{(cold ? ", operands cold (64 MB written before each call)" : "")}:");
        foreach (var (name, g, co) in layers)
        {
            // On 64-byte aligned buffers, as the engine's (Engines/Native/Layers/Buffers.cs).
            float[] imageBuffer = [], gridBuffer = [];
            Span<float> imageSpan = AeMnist.Engines.Native.Layers.Buffers.Rent(ref imageBuffer, g.ImageLength * lanes);
            Span<float> gridSpan = AeMnist.Engines.Native.Layers.Buffers.Rent(ref gridBuffer, g.ColumnCols * co * lanes);
            Inputs.Random(imageSpan.Length, 5).CopyTo(imageSpan);
            Inputs.Random(gridSpan.Length, 6).CopyTo(gridSpan);
            int imageLength = imageSpan.Length, gridLength = gridSpan.Length;
            float[] weight = Inputs.Random(co * g.ColumnRows, 7), bias = Inputs.Random(Math.Max(co, g.Channels), 8), dWeight = new float[weight.Length];
            // The useful FLOPs: taps inside the image only (the kernels skip the padding's).
            int taps = 0;
            for (int q = 0; q < g.ColumnCols; q++)
                for (int t = 0; t < g.KernelSize * g.KernelSize; t++)
                {
                    int iy = q / g.OutWidth * g.Stride - g.Padding + t / g.KernelSize, ix = q % g.OutWidth * g.Stride - g.Padding + t % g.KernelSize;
                    if (iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width) taps++;
                }
            double flops = 2.0 * lanes * taps * co * g.Channels;
            void Time(string what, Action action, bool counts = true)
            {
                double best = Best(action, flush);
                double gflops = flops / best / 1e9;
                Console.WriteLine(counts
                    ? $"  {name,-30} {what,-16} {best * 1e3,7:F3} ms  {gflops,6:F0} GFLOPS  {100 * gflops / peak,4:F0} % of peak"
                    : $"  {name,-30} {what,-16} {best * 1e3,7:F3} ms");
            }
            Span<float> Image() => AeMnist.Engines.Native.Layers.Buffers.View(imageBuffer, imageLength);
            Span<float> Grid() => AeMnist.Engines.Native.Layers.Buffers.View(gridBuffer, gridLength);
            Time("weight gradient", () => LanesConv.WeightGradient(Grid(), Image(), dWeight, g, co, lanes));
            if (g.Channels > 1)
            {
                // Batch norm + ReLU over the image side (the 14x14x32 activations): memory passes, no FLOP count.
                int channels = g.Channels;
                double[] sum = new double[channels], squares = new double[channels];
                float[] mean = Inputs.Random(channels, 9), inv = Inputs.Random(channels, 10), w = Inputs.Random(channels, 11), b = Inputs.Random(channels, 12), output = new float[imageLength];
                Time("bn moments", () => LanesBatchNorm.Moments(Image(), channels, lanes, lanes, sum, squares), counts: false);
                Time("bn normalize", () => LanesBatchNorm.Normalize(Image(), mean, inv, w, b, true, [], output, lanes), counts: false);
                Time("bn grad sums", () => LanesBatchNorm.GradientSums(output, [], Image(), mean, inv, w, b, true, lanes, lanes, sum, squares), counts: false);
                Time("bn backward", () => LanesBatchNorm.NormalizeBackward(output, [], Image(), mean, inv, w, b, true, mean, inv, w, output, lanes, lanes), counts: false);
            }
            float[] transposed = new float[gridLength];
            Time("transpose grid", () => AeMnist.Tensors.Lanes.TransposePositions(Grid(), transposed, g.ColumnCols, co, lanes), counts: false);
            Time("image -> grid", () => LanesConv.Conv2d(Image(), weight, bias.AsSpan(0, co), Grid(), g, co, lanes));
            Time("grid -> image", () => LanesConv.ConvTranspose2d(Grid(), weight, bias.AsSpan(0, g.Channels), Image(), g, co, lanes));
        }
        BatchNorms(lanes, flush);
        Loss(lanes, flush);
    }

    // The loss of a 64-image shard of 28x28 reconstructions: on rows (the output moved to rows, the squared error against
    // the images, which are rows already, the gradient scaled and moved back to lanes), and on the lanes layout in one
    // pass against the lanes input (Reductions.SquaredErrorLanes).
    private static void Loss(int lanes, float[] flush)
    {
        const int length = 784;
        float[] prediction = Inputs.Random(lanes * length, 14), target = Inputs.Random(lanes * length, 15), gradient = new float[lanes * length];
        float[] rows = new float[lanes * length], rowTargets = new float[lanes * length], difference = new float[lanes * length], sums = new float[lanes];
        Lanes.ToRows(target, lanes, length, rowTargets);
        void Time(string what, Action action) => Console.WriteLine($"  {"MSE loss, 64 x 784",-38} {what,-16} {Best(action, flush) * 1e3,7:F3} ms");
        Time("on rows", () =>
        {
            Lanes.ToRows(prediction, lanes, length, rows);
            Reductions.SquaredErrorRows(rows, rowTargets, difference, sums);
            Elementwise.Scale(difference, 0.5f, difference);
            Lanes.FromRows(difference, lanes, length, gradient);
        });
        Time("on lanes", () => Reductions.SquaredErrorLanes(prediction, target, lanes, [], 0.5f, gradient, sums));
    }

    // The batch norms + ReLU before the bottleneck's Flatten (BatchNorm2d(64) on 7x7, its rows written in Flatten's order)
    // and before its Unflatten (BatchNorm1d(3136), one row per channel, rows written in Unflatten's order): 200,704 floats each.
    private static void BatchNorms(int lanes, float[] flush)
    {
        (string Name, int Channels, int[] Rows)[] cases =
        [
            ("BatchNorm2d(64) 7x7, Flatten's rows", 64, Lanes.ChannelsFirstOrder(64, 49)),
            ("BatchNorm1d(3136), Unflatten's rows", 3136, Lanes.Inverse(Lanes.ChannelsFirstOrder(64, 49))),
            ("BatchNorm1d(3136), same rows", 3136, []),
        ];
        foreach (var (name, channels, rows) in cases)
        {
            int length = 3136 * lanes;
            float[] xBuffer = [], yBuffer = [], dxBuffer = [];
            Span<float> x = AeMnist.Engines.Native.Layers.Buffers.Rent(ref xBuffer, length);
            Inputs.Random(length, 13).CopyTo(x);
            AeMnist.Engines.Native.Layers.Buffers.Rent(ref yBuffer, length);
            AeMnist.Engines.Native.Layers.Buffers.Rent(ref dxBuffer, length);
            double[] sum = new double[channels], squares = new double[channels];
            float[] mean = Inputs.Random(channels, 9), inv = Inputs.Random(channels, 10), w = Inputs.Random(channels, 11), b = Inputs.Random(channels, 12), dxSums = new float[channels];
            Span<float> X() => AeMnist.Engines.Native.Layers.Buffers.View(xBuffer, length);
            Span<float> Y() => AeMnist.Engines.Native.Layers.Buffers.View(yBuffer, length);
            Span<float> Dx() => AeMnist.Engines.Native.Layers.Buffers.View(dxBuffer, length);
            void Time(string what, Action action) => Console.WriteLine($"  {name,-38} {what,-16} {Best(action, flush) * 1e3,7:F3} ms");
            Time("bn moments", () => LanesBatchNorm.Moments(X(), channels, lanes, lanes, sum, squares));
            Time("bn normalize", () => LanesBatchNorm.Normalize(X(), mean, inv, w, b, true, rows, Y(), lanes));
            Time("bn grad sums", () => LanesBatchNorm.GradientSums(Y(), rows, X(), mean, inv, w, b, true, lanes, lanes, sum, squares));
            Time("bn backward", () => LanesBatchNorm.NormalizeBackward(Y(), rows, X(), mean, inv, w, b, true, mean, inv, w, Dx(), lanes, lanes, dxSums));
        }
    }

    // The fastest of 30 calls, in seconds; before each, `flush` (empty: none) is written a float per cache line, so that
    // the call finds its operands in memory rather than in cache.
    private static double Best(Action action, float[] flush)
    {
        double best = double.MaxValue;
        for (int rep = 0; rep < 30; rep++)
        {
            for (int i = 0; i < flush.Length; i += 16) flush[i] += 1;
            long start = Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency);
        }
        return best;
    }
}
