// BenchmarkDotNet: one whole training step (batch 512: shards, gradient reduction, Adam) and scoring 10,000 images,
// for both models and 1 or 2 threads.
//   dotnet run -c Release --project tests/AeMnist.Benchmarks -- --filter '*TrainStep*'
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Optim;
using BenchmarkDotNet.Attributes;

namespace AeMnist.Benchmarks;

[MemoryDiagnoser]
public class TrainStepBenchmarks
{
    private float[] _batch = [], _test = [], _errors = [];
    private NativeModel _model = null!;
    private IOptimizer _adam = null!;
    private int[] _rows = [];

    [Params("dense", "conv")] public string Model { get; set; } = "dense";
    [Params(1, 2)] public int Threads { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        _batch = Inputs.Images(512);
        _test = Inputs.Images(10_000, seed: 3);
        _errors = new float[10_000];
        _model = Inputs.Model(Model, Threads);
        _adam = _model.CreateAdam(new AdamOptions(LearningRate: 0.001));
        _rows = [.. Enumerable.Range(0, 512)];
    }

    [Benchmark] public float TrainStep512() => Inputs.Step(_model, _adam, _batch, _rows);

    [Benchmark] public void Score10000() => _model.ReconstructionErrors(_test, 10_000, _errors);
}
