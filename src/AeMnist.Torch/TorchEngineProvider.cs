// The torch engine's entry in an EngineCatalog. Kept apart from TorchEngine and free of TorchSharp types, so that a
// program can list the engine (help texts, option checks) without loading TorchSharp or LibTorch: they load only when
// the provider's Check or Create runs, i.e. when --engine torch is asked for.
using AeMnist.Engines;

namespace AeMnist.Torch;

public static class TorchEngineProvider
{
    public const string EngineName = "torch";

    public const string Summary = "LibTorch 2.10 through TorchSharp 0.107 (CPU; CUDA with a CUDA LibTorch): same specs and files, checked against the native engine";

    /// <summary>Its devices: the CPU, and CUDA where the LibTorch build has it and a GPU is there (checked when asked for).</summary>
    public static IReadOnlyList<string> Devices { get; } = [ComputeOptions.Cpu, ComputeOptions.Cuda];

    public static EngineProvider Provider { get; } = new(EngineName, Summary, Devices, Create, Check);

    private static IEngine Create(ComputeOptions options) => new TorchEngine(options);

    private static void Check(ComputeOptions options) => LibTorch.CheckDevice(options.Device);
}
