// The torch engine as seen by the CLI, which never references it at compile time: a build with -p:WithTorch=true
// ships AeMnist.Torch (and TorchSharp, LibTorch) beside aemnist and lists it in aemnist.deps.json; this provider then
// loads it by name when --engine torch is asked for, and only then. A default (lean) build answers with one line saying
// how to get it. So the same aemnist.dll serves both, and nothing loads LibTorch unless the torch engine is chosen.
using System.Reflection;
using AeMnist.Engines;

namespace AeMnist.Cli;

internal static class TorchEngineLoader
{
    public const string EngineName = "torch";
    private const string AssemblyName = "AeMnist.Torch";
    private const string ProviderType = "AeMnist.Torch.TorchEngineProvider";

    private static readonly Lazy<EngineProvider> Loaded = new(Load);

    /// <summary>Whether this build ships the torch engine: its assembly is among the program's trusted assemblies (nothing is loaded to find out).</summary>
    public static bool IsPresent { get; } = OptionalAssembly.IsShipped(AssemblyName);

    /// <summary>The catalog entry: the real provider's Check and Create, reached by name on first use.</summary>
    public static EngineProvider Provider { get; } = new(EngineName,
        IsPresent ? "LibTorch 2.10 through TorchSharp 0.107 (CPU; CUDA with a CUDA LibTorch), checked against the native engine"
                  : "LibTorch through TorchSharp; not in this build (build with -p:WithTorch=true, see README)",
        [ComputeOptions.Cpu, ComputeOptions.Cuda],
        options => Loaded.Value.Create(options),
        options => Loaded.Value.Check?.Invoke(options));

    /// <summary>The one line a build without the torch engine gives.</summary>
    public const string Absent =
        "--engine torch: this aemnist was built without the torch engine; from a checkout run it with " +
        "'dotnet run -c Release --project src/AeMnist.Cli -p:WithTorch=true -- ...', or install the tool package AeMnist.WithTorch, packed with -p:WithTorch=true (README, 'The torch engine')";

    private static EngineProvider Load()
    {
        if (!IsPresent) throw new EngineUnavailableException(Absent);
        Type type = OptionalAssembly.Type(AssemblyName, ProviderType);
        return (EngineProvider)type.GetProperty("Provider", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
    }
}
