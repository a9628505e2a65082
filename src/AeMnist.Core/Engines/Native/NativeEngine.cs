// The native engine: AeMnist's own CPU implementation of every layer, data-parallel over a pool of threads, with
// results bit-identical for any thread count and vector width. It owns its worker threads; dispose it when done.
using AeMnist.Models;

namespace AeMnist.Engines.Native;

public sealed class NativeEngine : IEngine
{
    public const string EngineName = ComputeOptions.DefaultEngine;

    private readonly WorkerPool _pool;

    public NativeEngine(int threads = 1) => _pool = new WorkerPool(threads);

    public string Name => EngineName;

    public string Device => ComputeOptions.Cpu;

    public int Threads => _pool.Threads;

    public IEngineModel Load(ModelSpec spec, StateDict weights) => LoadNative(spec, weights);

    /// <summary><see cref="Load"/> with the native model's own type (its shards, parameters and replicas).</summary>
    public NativeModel LoadNative(ModelSpec spec, StateDict weights) => new(spec, weights, _pool);

    public void Dispose() => _pool.Dispose();

    /// <summary>The native engine's entry in an <see cref="EngineCatalog"/>.</summary>
    public static EngineProvider Provider { get; } = new(EngineName,
        "AeMnist's own CPU engine (the default): bit-identical for any thread count",
        [ComputeOptions.Cpu],
        options => new NativeEngine(options.Threads));

    /// <summary>A catalog of the native engine alone (programs add the engines they ship).</summary>
    public static EngineCatalog Catalog { get; } = new([Provider]);
}
