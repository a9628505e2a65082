// The ilgpu engine: every layer as C# kernels that ILGPU compiles for the device (PTX for CUDA, OpenCL C, or the .NET
// code itself on its CPU accelerator). One engine owns one context and accelerator, its kernels (compiled on first use)
// and its device memory; models it loads share them. Same seed, data and device: the same bits (no atomics anywhere).
using AeMnist.Engines;
using AeMnist.Gpu.Kernels;
using AeMnist.Models;
using ILGPU;
using ILGPU.Runtime;

namespace AeMnist.Gpu;

public sealed class GpuEngine : IEngine
{
    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly DeviceKernels _kernels;

    /// <summary>Opens the device; throws <see cref="EngineUnavailableException"/> with one line when it is not there.</summary>
    public GpuEngine(ComputeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        (_context, _accelerator, DeviceName) = GpuDevices.Open(options.Device, options.Threads);
        Device = options.Device;
        Threads = options.Threads;
        Memory = new DeviceMemory(_accelerator, DeviceName);
        _kernels = new DeviceKernels(_accelerator, Memory);
    }

    public string Name => GpuEngineProvider.EngineName;

    public string Device { get; }

    /// <summary>On the CPU accelerator, its multiprocessors (groups run in parallel); a GPU's host side is one thread.</summary>
    public int Threads { get; }

    /// <summary>"NVIDIA H100 80GB HBM3 (cuda)".</summary>
    public string DeviceName { get; }

    internal DeviceMemory Memory { get; }

    internal DeviceKernels Kernels => _kernels;

    public IEngineModel Load(ModelSpec spec, StateDict weights) => new GpuModel(spec, weights, _kernels, Memory);

    public void Dispose()
    {
        _accelerator.Bind();
        _kernels.Dispose();
        _accelerator.Dispose();
        _context.Dispose();
    }
}
