// Which engine computes, on which device, with how many threads: chosen by options and validated here, in one
// place, before any data is loaded. An engine that is not in the catalog, or a device it cannot compute on, is a
// one-line error that says what to use instead.
using System.Globalization;

namespace AeMnist.Engines;

/// <summary>The engine, device and thread count of a command (recorded in run.json; threads never change results on the native engine).</summary>
public sealed record ComputeOptions(string Engine = ComputeOptions.DefaultEngine, string Device = ComputeOptions.Cpu, int Threads = 1)
{
    /// <summary>The engine used unless --engine says otherwise: our own CPU engine (Engines/Native).</summary>
    public const string DefaultEngine = "native";

    public const string Cpu = "cpu";
    public const string Cuda = "cuda";
    public const string OpenCL = "opencl";

    /// <summary>The device names any engine may accept.</summary>
    public static IReadOnlyList<string> KnownDevices { get; } = [Cpu, Cuda, OpenCL];

    /// <summary>The default thread count: the machine's cores, at most 8.</summary>
    public static int DefaultThreads => Math.Min(Environment.ProcessorCount, 8);

    /// <summary>The most threads accepted: four per core, and at least 8.</summary>
    public static int MaxThreads => Math.Max(8, 4 * Environment.ProcessorCount);
}

/// <summary>
/// An engine the catalog can create: its name, the devices it computes on, and how to create it. <paramref name="Check"/>,
/// when given, tells before any data is loaded whether the engine can run here with these options (e.g. that its native
/// libraries load, that a CUDA device exists) and throws <see cref="EngineUnavailableException"/> saying why not.
/// </summary>
public sealed record EngineProvider(string Name, string Summary, IReadOnlyList<string> Devices, Func<ComputeOptions, IEngine> Create,
    Action<ComputeOptions>? Check = null);

/// <summary>Thrown when an engine or device is known but cannot run here; its message says why and what to do.</summary>
public sealed class EngineUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The engines a program offers. The native engine is always there; others are added by the program that ships them.</summary>
public sealed class EngineCatalog
{
    private readonly EngineProvider[] _providers;

    public EngineCatalog(IEnumerable<EngineProvider> providers)
    {
        _providers = [.. providers];
        if (_providers.Length == 0) throw new ArgumentException("A catalog needs at least one engine.");
    }

    public IReadOnlyList<EngineProvider> Providers => _providers;

    /// <summary>A catalog with <paramref name="provider"/> added.</summary>
    public EngineCatalog With(EngineProvider provider) => new([.. _providers.Where(p => p.Name != provider.Name), provider]);

    /// <summary>"native or torch".</summary>
    public string Names => _providers.Length == 1 ? _providers[0].Name
        : $"{string.Join(", ", _providers.Take(_providers.Length - 1).Select(p => p.Name))} or {_providers[^1].Name}";

    /// <summary>
    /// Checks <paramref name="options"/> (engine and device names in any case, the thread count in range) and returns
    /// them normalised; every problem is an <see cref="ArgumentException"/> naming the option. Then the engine's own
    /// check runs, which may throw <see cref="EngineUnavailableException"/> (its libraries do not load, no such device).
    /// </summary>
    public ComputeOptions Validate(ComputeOptions options)
    {
        EngineProvider provider = _providers.FirstOrDefault(p => string.Equals(p.Name, options.Engine.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"--engine '{options.Engine}' is not an engine of this build; use {Names}");
        string device = options.Device.Trim().ToLowerInvariant();
        if (!ComputeOptions.KnownDevices.Contains(device))
            throw new ArgumentException($"--device '{options.Device}' is not a device; use {string.Join(" or ", ComputeOptions.KnownDevices)}");
        // Another engine is suggested only when it computes on that device unconditionally: one with a Check (e.g. torch,
        // whose LibTorch build may be CPU-only) might not, and the advice must be true.
        EngineProvider? alternative = _providers.FirstOrDefault(p => p.Check is null && p.Devices.Contains(device));
        if (!provider.Devices.Contains(device))
            throw new ArgumentException($"--device {device}: the {provider.Name} engine computes on {string.Join(" or ", provider.Devices)} only; use --device {provider.Devices[0]}"
                + (alternative is not null ? $" or --engine {alternative.Name}" : ""));
        if (options.Threads < 1 || options.Threads > ComputeOptions.MaxThreads)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"--threads {options.Threads} must be 1-{ComputeOptions.MaxThreads} (this machine has {Environment.ProcessorCount} cores)"));
        var valid = new ComputeOptions(provider.Name, device, options.Threads);
        provider.Check?.Invoke(valid);
        return valid;
    }

    /// <summary>
    /// The engine <paramref name="options"/> name, created. The options are <see cref="Validate"/>'s (checked once, where
    /// they were given); options that are not (another spelling, an unknown engine) are validated here first.
    /// </summary>
    public IEngine Create(ComputeOptions options)
    {
        EngineProvider? provider = _providers.FirstOrDefault(p => p.Name == options.Engine);
        if (provider is null || !provider.Devices.Contains(options.Device)) return Create(Validate(options));
        return provider.Create(options);
    }
}
