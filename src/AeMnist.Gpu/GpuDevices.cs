// Which devices the ilgpu engine can compute on here, and opening one. CUDA needs only the NVIDIA driver (libcuda):
// ILGPU compiles the kernels to PTX itself, so no toolkit, no cuDNN. Before anything is loaded the check says in one line
// what is missing (the driver library, or a device the driver sees) and which --device values work on this machine.
using System.Runtime.InteropServices;
using AeMnist.Engines;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace AeMnist.Gpu;

public static class GpuDevices
{
    public const string OpenCL = ComputeOptions.OpenCL;

    /// <summary>The driver library CUDA needs on this OS.</summary>
    public static string CudaLibrary => OperatingSystem.IsWindows() ? "nvcuda.dll" : OperatingSystem.IsMacOS() ? "libcuda.dylib" : "libcuda.so.1";

    public static string OpenCLLibrary => OperatingSystem.IsWindows() ? "OpenCL.dll" : OperatingSystem.IsMacOS() ? "/System/Library/Frameworks/OpenCL.framework/OpenCL" : "libOpenCL.so.1";

    /// <summary>Why CUDA cannot run here (null: it can): the driver library is missing, or the driver sees no device.</summary>
    public static string? CudaProblem() => CudaProblem(TryCudaDriver());

    /// <summary>The message for what <see cref="TryCudaDriver"/> found: (whether the library loads, cuInit's result, the device count).</summary>
    public static string? CudaProblem((bool Loaded, int InitResult, int Devices) driver) => driver switch
    {
        { Loaded: false } => $"no NVIDIA driver: {CudaLibrary} cannot be loaded (install the NVIDIA driver; no CUDA toolkit is needed)",
        { InitResult: not 0 } => $"the NVIDIA driver ({CudaLibrary}) is installed but cuInit fails with {CudaErrorText(driver.InitResult)}",
        { Devices: 0 } => $"the NVIDIA driver ({CudaLibrary}) is installed but sees no CUDA device",
        _ => null,
    };

    /// <summary>Loads the driver library by name and asks it for its devices, without ILGPU (whose own probe hides why it failed).</summary>
    public static unsafe (bool Loaded, int InitResult, int Devices) TryCudaDriver()
    {
        if (!NativeLibrary.TryLoad(CudaLibrary, out IntPtr library)) return (false, 0, 0);
        if (!NativeLibrary.TryGetExport(library, "cuInit", out IntPtr init) || !NativeLibrary.TryGetExport(library, "cuDeviceGetCount", out IntPtr count))
            return (false, 0, 0);
        int result = ((delegate* unmanaged<uint, int>)init)(0);
        if (result != 0) return (true, result, 0);
        int devices = 0;
        return ((delegate* unmanaged<int*, int>)count)(&devices) == 0 ? (true, 0, devices) : (true, 0, 0);
    }

    private static string CudaErrorText(int code) => code switch
    {
        100 => "CUDA_ERROR_NO_DEVICE (no CUDA-capable GPU is visible: check nvidia-smi and CUDA_VISIBLE_DEVICES)",
        35 => "CUDA_ERROR_INSUFFICIENT_DRIVER (the driver is older than the library: update the NVIDIA driver)",
        3 => "CUDA_ERROR_NOT_INITIALIZED",
        101 => "CUDA_ERROR_INVALID_DEVICE (check CUDA_VISIBLE_DEVICES)",
        304 => "CUDA_ERROR_OPERATING_SYSTEM (the driver cannot reach the GPU: is the nvidia kernel module loaded?)",
        999 => "CUDA_ERROR_UNKNOWN (the driver cannot reach the GPU: is the nvidia kernel module loaded, /dev/nvidia* accessible?)",
        _ => $"CUDA error {code}",
    };

    /// <summary>Why OpenCL cannot run here (null: it can).</summary>
    public static string? OpenCLProblem()
    {
        if (!NativeLibrary.TryLoad(OpenCLLibrary, out IntPtr library)) return $"no OpenCL runtime: {OpenCLLibrary} cannot be loaded (install an OpenCL driver for your GPU)";
        NativeLibrary.Free(library);
        using Context context = Context.Create(b => b.OpenCL());
        return context.GetCLDevices().Count == 0
            ? $"an OpenCL runtime ({OpenCLLibrary}) is installed but has no device ILGPU can use (ILGPU needs an OpenCL 2.0 GPU or one with its required extensions)"
            : null;
    }

    /// <summary>Why <paramref name="device"/> cannot run here (null: it can). The CPU accelerator always can.</summary>
    public static string? Problem(string device) => device switch
    {
        ComputeOptions.Cuda => CudaProblem(),
        OpenCL => OpenCLProblem(),
        ComputeOptions.Cpu => null,
        _ => $"the ilgpu engine has no device '{device}'",
    };

    /// <summary>The ilgpu engine's devices that work on this machine ("cpu", and "cuda" or "opencl" where present).</summary>
    public static IReadOnlyList<string> Available() =>
        [.. GpuEngineProvider.Devices.Where(d => d == ComputeOptions.Cpu || Problem(d) is null)];

    /// <summary>Throws <see cref="EngineUnavailableException"/> with one line when <paramref name="device"/> cannot run here.</summary>
    public static void Check(string device)
    {
        if (Problem(device) is not { } problem) return;
        IReadOnlyList<string> available = Available();
        throw new EngineUnavailableException(
            $"--device {device}: {problem}; on this machine the ilgpu engine computes on --device {string.Join(" or --device ", available)}" +
            (available.SequenceEqual([ComputeOptions.Cpu]) ? " (ILGPU's CPU accelerator: slow, for tests); for speed on the CPU use --engine native" : ""));
    }

    /// <summary>
    /// A context and accelerator for <paramref name="device"/>: the first CUDA or OpenCL GPU, or ILGPU's CPU accelerator with
    /// 4·<paramref name="threads"/> simulated multiprocessors of 16 threads (the kernels run one-thread groups there, one
    /// group per multiprocessor at a time; more multiprocessors than threads keep the cores busy between launches).
    /// </summary>
    internal static (Context Context, Accelerator Accelerator, string Name) Open(string device, int threads)
    {
        Check(device);
        Context? context = null;
        try
        {
            switch (device)
            {
                case ComputeOptions.Cuda:
                {
                    context = Context.Create(b => b.Cuda().EnableAlgorithms());
                    if (context.GetCudaDevices().Count == 0)
                        throw new EngineUnavailableException($"--device cuda: the NVIDIA driver sees a GPU, but ILGPU 1.5.3 supports none of them (it needs compute capability 3.0 or newer)");
                    Accelerator accelerator = context.GetCudaDevices()[0].CreateAccelerator(context);
                    return (context, accelerator, $"{accelerator.Name} (cuda)");
                }
                case OpenCL:
                {
                    context = Context.Create(b => b.OpenCL().EnableAlgorithms());
                    Accelerator accelerator = context.GetCLDevices()[0].CreateAccelerator(context);
                    return (context, accelerator, $"{accelerator.Name} (opencl)");
                }
                default:
                {
                    var cpu = new CPUDevice(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: 4, numMultiprocessors: 4 * threads);
                    context = Context.Create(b => b.CPU(cpu).EnableAlgorithms());
                    Accelerator accelerator = cpu.CreateCPUAccelerator(context, CPUAcceleratorMode.Parallel);
                    return (context, accelerator, "ILGPU's CPU accelerator (cpu)");
                }
            }
        }
        catch
        {
            context?.Dispose();
            throw;
        }
    }
}
