// The ilgpu engine's entry in an EngineCatalog: its name, devices, and the check that runs before any data is loaded
// (the device is there: the NVIDIA driver and a GPU for cuda, an OpenCL runtime and device for opencl).
using AeMnist.Engines;

namespace AeMnist.Gpu;

public static class GpuEngineProvider
{
    public const string EngineName = "ilgpu";

    public const string Summary =
        "C# kernels compiled by ILGPU 1.5.3: --device cuda (needs only the NVIDIA driver), opencl, or cpu (ILGPU's CPU accelerator: slow, for tests)";

    /// <summary>Its devices; cuda and opencl are checked when asked for.</summary>
    public static IReadOnlyList<string> Devices { get; } = [ComputeOptions.Cuda, GpuDevices.OpenCL, ComputeOptions.Cpu];

    public static EngineProvider Provider { get; } = new(EngineName, Summary, Devices, options => new GpuEngine(options), options => GpuDevices.Check(options.Device));
}
