// The torch engine: LibTorch (through TorchSharp) computes every model from its spec, on the CPU or, with a CUDA
// LibTorch, a GPU. Results are bit-identical for the same seed and thread count, not across thread counts (LibTorch's
// reductions split by thread). LibTorch's thread count is per process, so the last engine created sets it.
using AeMnist.Engines;
using AeMnist.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AeMnist.Torch;

public sealed class TorchEngine : IEngine
{
    private readonly Device _device;

    /// <summary>Loads LibTorch and claims the device; throws <see cref="EngineUnavailableException"/> with one line when either fails.</summary>
    public TorchEngine(ComputeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        LibTorch.CheckDevice(options.Device);
        torch.set_num_threads(options.Threads);
        Device = options.Device;
        Threads = options.Threads;
        _device = options.Device == ComputeOptions.Cuda ? torch.CUDA : torch.CPU;
    }

    public string Name => TorchEngineProvider.EngineName;

    public string Device { get; }

    public int Threads { get; }

    public IEngineModel Load(ModelSpec spec, StateDict weights) => new TorchModel(spec, weights, _device);

    public void Dispose() { }
}
