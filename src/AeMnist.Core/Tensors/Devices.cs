// The compute-device seam. Every kernel above runs on the CPU; a CUDA build would add its kernels behind the same
// names. Until then asking for another device fails with one clear message instead of a crash.
namespace AeMnist.Tensors;

/// <summary>Thrown when a device name is known or plausible but this build cannot run on it.</summary>
public sealed class DeviceNotAvailableException(string device)
    : Exception($"device '{device}' is not available in this build (CPU only); use --device cpu")
{
    public string Device { get; } = device;
}

public static class Devices
{
    public const string Cpu = "cpu";

    /// <summary>Devices this build can compute on.</summary>
    public static IReadOnlyList<string> Available { get; } = [Cpu];

    /// <summary>Returns the canonical device name, or throws <see cref="DeviceNotAvailableException"/>.</summary>
    public static string Validate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string normalized = name.Trim().ToLowerInvariant();
        return normalized == Cpu ? Cpu : throw new DeviceNotAvailableException(name);
    }
}
