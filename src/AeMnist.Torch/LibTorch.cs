// Loading LibTorch, with one-line errors. TorchSharp's own loader, when libLibTorchSharp.so does not load, copies the
// NuGet cache's (unpatched) native files beside the program, prints a page of trace to stdout and says, wrongly, that
// "libtorch-cpu-linux-x64 is not restored". So we load the shipped libLibTorchSharp.so ourselves first, by its full
// path: on success TorchSharp finds it loaded; on failure the loader's own reason (dlerror) becomes one line with what
// to do. CUDA is checked the same way, before any data is loaded.
//
// Two LibTorch settings are made here, both measured on the reference machine (AMD EPYC, Zen 5, AVX-512; a VM):
// - oneDNN is capped at AVX (ONEDNN_MAX_CPU_ISA=AVX, unless the user set ONEDNN_MAX_CPU_ISA): its AVX2 and AVX-512
//   convolution kernels (oneDNN 3.7.1 in LibTorch 2.10) return wrong float32 results there for ConvTranspose2d's
//   forward pass and Conv2d's input gradient, up to 100 % off and NaN, while the AVX kernels are right (and as fast).
//   The differential tests catch it if it comes back (tests/AeMnist.Torch.Tests).
// - NNPACK is switched off: LibTorch cannot use it there ("Unsupported hardware") and warns on stderr at every call.
using System.Reflection;
using System.Runtime.InteropServices;
using AeMnist.Engines;
using TorchSharp;

namespace AeMnist.Torch;

internal static class LibTorch
{
    private static readonly Lock Gate = new();
    private static string? _failure;   // why loading failed, once and for all (a process cannot retry a failed dlopen usefully)
    private static bool _loaded;

    /// <summary>The LibTorch runtime package this build references: "libtorch-cpu-linux-x64".</summary>
    public static string Package => Metadata("LibTorchPackage") ?? "libtorch-cpu-linux-x64";

    /// <summary>LibTorch's version: "2.10.0".</summary>
    public static string Version => Metadata("LibTorchVersion") ?? "2.10.0";

    /// <summary>Whether this build references a CUDA LibTorch.</summary>
    public static bool IsCudaBuild => Package.Contains("cuda", StringComparison.OrdinalIgnoreCase);

    /// <summary>The native library's file name on this OS.</summary>
    public static string NativeFileName =>
        OperatingSystem.IsWindows() ? "LibTorchSharp.dll" : OperatingSystem.IsMacOS() ? "libLibTorchSharp.dylib" : "libLibTorchSharp.so";

    /// <summary>Loads LibTorch (once per process) or throws <see cref="EngineUnavailableException"/> with one line saying why and what to do.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            if (_failure is not null) throw new EngineUnavailableException(_failure);
            try
            {
                Load();
                _loaded = true;
            }
            catch (EngineUnavailableException e)
            {
                _failure = e.Message;
                throw;
            }
        }
    }

    /// <summary>Throws <see cref="EngineUnavailableException"/> unless LibTorch can compute on <paramref name="device"/>.</summary>
    public static void CheckDevice(string device)
    {
        EnsureLoaded();
        if (device != ComputeOptions.Cuda || torch.cuda.is_available()) return;
        throw new EngineUnavailableException(IsCudaBuild
            ? $"--device cuda: torch.cuda.is_available() is false: LibTorch ({Package} {Version}) sees no CUDA device or driver on this machine; use --device cpu"
            : $"--device cuda: this build's torch engine ships the CPU LibTorch ({Package} {Version}), so torch.cuda.is_available() is false; " +
              "use --device cpu, or build aemnist with a CUDA LibTorch (-p:WithTorch=true -p:LibTorchPackage=libtorch-cuda-12.8-linux-x64, see README, 'The torch engine')");
    }

    /// <summary>
    /// The one line for a native library that failed to load: the loader's reason and what to do about it.
    /// <paramref name="loaderMessage"/> is a <see cref="DllNotFoundException"/>'s message (which ends with dlerror's text).
    /// </summary>
    public static string Explain(string path, string loaderMessage)
    {
        // .NET's message is "Unable to load shared library 'P' or one of its dependencies. In order to help diagnose
        // loading problems, consider ... the LD_DEBUG environment variable: <dlerror>"; the reason is the last part.
        string reason = loaderMessage.ReplaceLineEndings(" ").Trim();
        int colon = reason.LastIndexOf("environment variable:", StringComparison.Ordinal);
        if (colon >= 0) reason = reason[(colon + "environment variable:".Length)..].Trim();
        string advice = reason.Contains("GLIBCXX_", StringComparison.Ordinal) || reason.Contains("CXXABI_", StringComparison.Ordinal)
            ? "this system's libstdc++ is older than TorchSharp's native library needs; build aemnist from a checkout on this machine " +
              "(the build marks such a version requirement weak where that is safe, see README, 'The torch engine') or install libstdc++ from GCC 13 or later"
            : "rebuild aemnist with -p:WithTorch=true (see README, 'The torch engine'), or use --engine native";
        return $"--engine torch: LibTorch cannot be loaded from {path}: {reason}; {advice}";
    }

    /// <summary>Where the build put the native library: the directories the host searches for native assets, then beside TorchSharp.dll.</summary>
    public static string? FindNative()
    {
        var directories = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searched)
            directories.AddRange(searched.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        string managed = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;
        directories.Add(managed);
        directories.Add(Path.Combine(managed, "runtimes", RuntimeInformation.RuntimeIdentifier, "native"));
        directories.Add(Path.Combine(managed, "runtimes", OperatingSystem.IsLinux() ? "linux-x64" : OperatingSystem.IsMacOS() ? "osx-arm64" : "win-x64", "native"));
        return directories.Select(d => Path.Combine(d, NativeFileName)).FirstOrDefault(File.Exists);
    }

    /// <summary>The oneDNN instruction-set cap this process runs with (ours, "AVX", or the user's ONEDNN_MAX_CPU_ISA).</summary>
    public static string? OneDnnMaxCpuIsa { get; private set; }

    private static void Load()
    {
        string? path = FindNative();
        if (path is null)
            throw new EngineUnavailableException(
                $"--engine torch: {NativeFileName} is not part of this build (it ships {Package} {Version}, which has no LibTorch for {RuntimeInformation.RuntimeIdentifier}); " +
                "build aemnist with -p:WithTorch=true and a LibTorch package for this system (see README, 'The torch engine'), or use --engine native");
        if (OperatingSystem.IsLinux())
        {
            // Into the native environment (Environment.SetEnvironmentVariable does not reach getenv), before oneDNN reads it.
            setenv("ONEDNN_MAX_CPU_ISA", "AVX", overwrite: 0);
            OneDnnMaxCpuIsa = Marshal.PtrToStringAnsi(getenv("ONEDNN_MAX_CPU_ISA"));
        }
        try
        {
            NativeLibrary.Load(path);
        }
        catch (DllNotFoundException e)
        {
            throw new EngineUnavailableException(Explain(path, e.Message), e);
        }
        catch (BadImageFormatException e)
        {
            throw new EngineUnavailableException(Explain(path, e.Message), e);
        }
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or DllNotFoundException or TypeInitializationException)
        {
            throw new EngineUnavailableException($"--engine torch: TorchSharp could not initialise LibTorch from {path}: " +
                $"{e.Message.ReplaceLineEndings(" ").Split(". ")[0]}; rebuild aemnist with -p:WithTorch=true (see README, 'The torch engine'), or use --engine native", e);
        }
        DisableNnpack(Path.Combine(Path.GetDirectoryName(path)!, OperatingSystem.IsWindows() ? "torch_cpu.dll" : OperatingSystem.IsMacOS() ? "libtorch_cpu.dylib" : "libtorch_cpu.so"));
    }

    // at::globalContext().setUserEnabledNNPACK(false), as torch.backends.nnpack.set_flags(False); TorchSharp has no binding.
    private static unsafe void DisableNnpack(string torchCpu)
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(torchCpu, out IntPtr library)) return;
        if (!NativeLibrary.TryGetExport(library, "_ZN2at13globalContextEv", out IntPtr globalContext) ||
            !NativeLibrary.TryGetExport(library, "_ZN2at7Context20setUserEnabledNNPACKEb", out IntPtr setNnpack)) return;
        IntPtr context = ((delegate* unmanaged<IntPtr>)globalContext)();
        ((delegate* unmanaged<IntPtr, byte, void>)setNnpack)(context, 0);
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int setenv([MarshalAs(UnmanagedType.LPStr)] string name, [MarshalAs(UnmanagedType.LPStr)] string value, int overwrite);

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr getenv([MarshalAs(UnmanagedType.LPStr)] string name);

    private static string? Metadata(string key) =>
        typeof(LibTorch).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
}
