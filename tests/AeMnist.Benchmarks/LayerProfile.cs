// Times each layer's Forward and Backward inside a training step of batch 512, plus the loss and the Adam step,
// and prints the median over many steps with the GFLOPS each layer reaches.
using System.Diagnostics;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Engines.Native.Layers;
using AeMnist.Optim;
using AeMnist.Tensors;

namespace AeMnist.Benchmarks;

internal static class LayerProfile
{
    public static int Run(string[] args)
    {
        string[] kinds = args.Length > 0 && args[0] != "all" ? [args[0]] : ["dense", "conv"];
        int threads = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1;
        int batchSize = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 512;
        const int steps = 200;
        foreach (string kind in kinds)
        {
            NativeModel model = Inputs.Model(kind, threads);
            int n = model.ShardSize;
            // The layers as the engine's replicas run them (conv: batch-interleaved; the data's order does not matter here).
            NativeModel shardModel = Inputs.Model(kind, 1);
            Network replica = shardModel.Replica(0);
            replica.Training = true;  // batch norm in training mode, as in a training step
            replica.Parameters.UseGradients(shardModel.Parameters.Grad);
            var adam = model.CreateAdam(new AdamOptions(LearningRate: 0.001));
            var shardAdam = shardModel.CreateAdam(new AdamOptions(LearningRate: 0.001));
            // Pinned, and every layer reads its input in place, as in the native model's training step (Network.Borrow with
            // the gathered shard kept).
            float[] batch = GC.AllocateArray<float>(n * 784, pinned: true);
            Inputs.Images(n).CopyTo(batch, 0);
            float[] lanesInput = GC.AllocateArray<float>(batch.Length / n * Lanes.Padded(n), pinned: true), lanesGradient = new float[lanesInput.Length], lossSums = new float[n];
            Module[] layers = [.. replica.Layers];
            foreach (Module layer in layers) layer.BorrowsInput = true;
            AeMnist.Models.SampleShape input = shardModel.Spec.Input;
            var loss = new MseLoss();
            var times = new Dictionary<string, List<double>>();
            void AddTo(Dictionary<string, List<double>> into, string name, long ticks)
            {
                if (!into.TryGetValue(name, out var list)) into[name] = list = [];
                list.Add(ticks * 1e6 / Stopwatch.Frequency);
            }
            void Add(string name, long ticks) => AddTo(times, name, ticks);
            bool lanes = replica.IsLanes(0);
            int padded = Lanes.Padded(n);
            // The layers' forward pass over the batch as the Network runs it, each layer's time added to `into`: element-wise
            // layers between lanes layers see the padded batch, and in evaluation mode a convolution applies the batch norm
            // after it as it stores its outputs.
            ReadOnlySpan<float> ForwardPass(Dictionary<string, List<double>> into, out TensorShape shape)
            {
                long t = Stopwatch.GetTimestamp();
                ReadOnlySpan<float> x = batch;
                shape = new TensorShape(n, input.C, input.H, input.W);
                if (lanes)
                {
                    Lanes.FromRows(batch, n, batch.Length / n, lanesInput);
                    x = lanesInput;
                }
                for (int i = 0; i < layers.Length; i++)
                {
                    TensorShape given = lanes && layers[i] is Activation ? shape.WithBatch(padded) : shape;
                    if (!replica.Training && layers[i] is ConvModule { EvaluationNorm: not null } conv) conv.FoldEvaluationNorm = true;
                    x = layers[i].Forward(x, given);
                    shape = layers[i].OutputShape(shape);
                    long now = Stopwatch.GetTimestamp();
                    AddTo(into, $"{i,2} {Name(layers[i])} forward", now - t);
                    t = now;
                }
                return x;
            }
            var whole = new List<double>();
            for (int step = 0; step < steps; step++)
            {
                long start = Stopwatch.GetTimestamp();
                shardModel.ZeroGrad();
                ReadOnlySpan<float> x = ForwardPass(times, out TensorShape shape);
                long t = Stopwatch.GetTimestamp();
                ReadOnlySpan<float> d;
                if (lanes)
                {
                    // As the engine's step: the loss and its gradient on the lanes layout, against the lanes input.
                    Reductions.SquaredErrorLanes(x, lanesInput, n, replica.OutputLanesOrder, (float)(2.0 / ((long)n * shape.SampleLength)), lanesGradient, lossSums);
                    d = lanesGradient;
                    long after = Stopwatch.GetTimestamp();
                    Add("   MSE loss (lanes)", after - t);
                    t = after;
                }
                else
                {
                    loss.Forward(x, batch, shape);
                    long mid = Stopwatch.GetTimestamp();
                    Add("   MseLoss forward", mid - t);
                    t = mid;
                    d = loss.Backward();
                    long after = Stopwatch.GetTimestamp();
                    Add("   MseLoss backward", after - t);
                    t = after;
                }
                for (int i = layers.Length - 1; i >= 0; i--)
                {
                    d = layers[i].Backward(d, computeInputGradient: i > 0);
                    long now = Stopwatch.GetTimestamp();
                    Add($"{i,2} {Name(layers[i])} backward", now - t);
                    t = now;
                }
                shardAdam.Step();
                long end = Stopwatch.GetTimestamp();
                Add("   Adam", end - t);
                whole.Add((end - start) * 1e6 / Stopwatch.Frequency);
                if (step == 0) HugePages.Collapse();  // as the engine does after its first step (a no-op where unsupported)
            }
            // The fastest step is the steadier figure on a machine shared with other work; the median is what a run sees.
            Console.WriteLine($"{kind}, one shard of {n} images on one thread: {steps} steps, µs (median, fastest)");
            foreach ((string name, List<double> list) in times)
                Console.WriteLine($"  {name,-32} {Median(list),9:F1} {list.Min(),9:F1}");
            Console.WriteLine($"  {"step",-32} {Median(whole),9:F1} {whole.Min(),9:F1}");
            // The whole TrainStep on a batch of 512 with the requested threads (shards, reduction and Adam included).
            float[] big = Inputs.Images(batchSize);
            int[] rows = [.. Enumerable.Range(0, batchSize)];
            var full = new List<double>();
            var parts = new[] { new List<double>(), new List<double>(), new List<double>() };
            for (int step = 0; step < steps / 4; step++)
            {
                long start = Stopwatch.GetTimestamp();
                model.ZeroGrad();
                long zeroed = Stopwatch.GetTimestamp();
                model.ForwardBackward(big, big, rows);
                long computed = Stopwatch.GetTimestamp();
                adam.Step();
                long end = Stopwatch.GetTimestamp();
                full.Add((end - start) * 1e6 / Stopwatch.Frequency);
                parts[0].Add((zeroed - start) * 1e6 / Stopwatch.Frequency);
                parts[1].Add((computed - zeroed) * 1e6 / Stopwatch.Frequency);
                parts[2].Add((end - computed) * 1e6 / Stopwatch.Frequency);
            }
            Console.WriteLine($"  {$"TrainStep({batchSize}), {threads} threads",-32} {Median(full),9:F1} {full.Min(),9:F1}");
            string[] partNames = ["ZeroGrad", "ForwardBackward", "Adam"];
            for (int i = 0; i < parts.Length; i++)
                Console.WriteLine($"    {partNames[i],-30} {Median(parts[i]),9:F1} {parts[i].Min(),9:F1}");
            // Inference as scoring runs it: evaluation mode (batch norm by its running statistics), forward only.
            replica.Training = false;
            var shared = new BufferPair();  // as Network.Forward(inference: true): the outputs in two shared buffers
            foreach (Module layer in layers) layer.Outputs = shared;
            var inference = new Dictionary<string, List<double>>();
            var wholeInference = new List<double>();
            for (int step = 0; step < steps; step++)
            {
                long start = Stopwatch.GetTimestamp();
                ForwardPass(inference, out _);
                wholeInference.Add((Stopwatch.GetTimestamp() - start) * 1e6 / Stopwatch.Frequency);
            }
            Console.WriteLine($"{kind}, evaluation-mode forward of {n} images on one thread: {steps} passes, µs (median, fastest)");
            foreach ((string name, List<double> list) in inference)
                Console.WriteLine($"  {name,-32} {Median(list),9:F1} {list.Min(),9:F1}");
            Console.WriteLine($"  {"forward",-32} {Median(wholeInference),9:F1} {wholeInference.Min(),9:F1}");
        }
        return 0;
    }

    private static string Name(Module m) => m switch
    {
        Linear l => $"Linear({l.InFeatures},{l.OutFeatures})",
        Conv2d c => $"Conv2d({c.InChannels},{c.OutChannels})",
        InterleavedConv2d c => $"Conv2d({c.InChannels},{c.OutChannels})",
        ConvTranspose2d c => $"ConvT2d({c.InChannels},{c.OutChannels})",
        InterleavedConvTranspose2d c => $"ConvT2d({c.InChannels},{c.OutChannels})",
        LanesConv2d c => $"Conv2d({c.InChannels},{c.OutChannels})",
        LanesConvTranspose2d c => $"ConvT2d({c.InChannels},{c.OutChannels})",
        LanesLinear l => $"Linear({l.InFeatures},{l.OutFeatures})",
        BatchNorm { FusedRelu: true } b => b.GetType().Name + "+ReLU",
        _ => m.GetType().Name,
    };

    private static double Median(List<double> values)
    {
        var sorted = values.Skip(values.Count / 4).Order().ToList();  // the first quarter warms up
        return sorted[sorted.Count / 2];
    }
}
