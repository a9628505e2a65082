// Device memory for one engine: every allocation goes through here, so that running out of memory is one line in the
// tool's words (what the device has, what asked for more, which option to change), never a driver's error, and copies
// between host spans and device views are written once.
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace AeMnist.Gpu.Kernels;

internal sealed class DeviceMemory(Accelerator accelerator, string deviceName)
{
    public Accelerator Accelerator { get; } = accelerator;

    /// <summary>"NVIDIA H100 80GB HBM3 (cuda)".</summary>
    public string DeviceName { get; } = deviceName;

    /// <summary>Bytes this engine holds on the device now.</summary>
    public long Allocated { get; private set; }

    /// <summary>What the caller is doing when memory runs out, and which option to change ("a batch of 128 images ...; use a smaller --batch-size").</summary>
    public Func<string>? Advice { get; set; }

    /// <summary>Bytes free on the device (CUDA asks the driver), or null where ILGPU cannot tell (its CPU accelerator uses the host's memory).</summary>
    public long? Free
    {
        get
        {
            if (Accelerator is not CudaAccelerator) return null;
            Accelerator.Bind();
            return CudaAPI.CurrentAPI.GetMemoryInfo(out long free, out long _) == CudaError.CUDA_SUCCESS ? free : null;
        }
    }

    public MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(long length) where T : unmanaged
    {
        long bytes = Math.Max(1, length) * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        try
        {
            MemoryBuffer1D<T, Stride1D.Dense> buffer = Accelerator.Allocate1D<T>(Math.Max(1, length));
            Allocated += bytes;
            return buffer;
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            throw OutOfMemory(bytes, e);
        }
    }

    public void Release<T>(MemoryBuffer1D<T, Stride1D.Dense>? buffer) where T : unmanaged
    {
        if (buffer is null) return;
        Allocated -= buffer.LengthInBytes;
        buffer.Dispose();
    }

    /// <summary>The tool's one-line out-of-memory message for an allocation of <paramref name="bytes"/> that failed.</summary>
    public InsufficientMemoryException OutOfMemory(long bytes, Exception? inner = null) => new(
        $"out of memory on {DeviceName}: {Size(bytes)} more were needed with {Size(Allocated)} already in use" +
        (Free is { } free ? $" and {Size(free)} free" : "") + (Advice?.Invoke() is { } advice ? $"; {advice}" : ""), inner);

    /// <summary>Whether an exception from ILGPU or the driver means the device has no memory left.</summary>
    public static bool IsOutOfMemory(Exception e) => e is OutOfMemoryException
        || e is AcceleratorException && (e.ToString().Contains("OUT_OF_MEMORY", StringComparison.Ordinal)
            || e.ToString().Contains("ALLOCATION_FAILURE", StringComparison.Ordinal) || e.ToString().Contains("OUT_OF_RESOURCES", StringComparison.Ordinal));

    public static string Size(long bytes) => bytes >= 1L << 30
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F1} GB")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F0} MB");

    public static void Upload(ArrayView<float> destination, ReadOnlySpan<float> source)
    {
        if (source.Length > destination.Length) throw new ArgumentException($"{source.Length} values do not fit a view of {destination.Length}.", nameof(source));
        if (source.IsEmpty) return;
        ArrayView<float> view = destination.SubView(0, source.Length);
        view.CopyFromCPU(source);
    }

    public static void Upload(ArrayView<int> destination, ReadOnlySpan<int> source)
    {
        if (source.Length > destination.Length) throw new ArgumentException($"{source.Length} values do not fit a view of {destination.Length}.", nameof(source));
        if (source.IsEmpty) return;
        ArrayView<int> view = destination.SubView(0, source.Length);
        view.CopyFromCPU(source);
    }

    public static void Download(ArrayView<float> source, Span<float> destination)
    {
        if (destination.Length > source.Length) throw new ArgumentException($"{destination.Length} values asked of a view of {source.Length}.", nameof(destination));
        if (destination.IsEmpty) return;
        ArrayView<float> view = source.SubView(0, destination.Length);
        view.CopyToCPU(destination);
    }
}

/// <summary>A device buffer of floats that grows to the largest length asked of it (activations sized by the batch).</summary>
internal sealed class DeviceBuffer(DeviceMemory memory) : DeviceBuffer<float>(memory);

/// <summary>A device buffer that grows to the largest length asked of it.</summary>
internal class DeviceBuffer<T>(DeviceMemory memory) : IDisposable where T : unmanaged
{
    private MemoryBuffer1D<T, Stride1D.Dense>? _buffer;

    /// <summary>A view of <paramref name="length"/> values; contents are kept only while the buffer does not grow.</summary>
    public ArrayView<T> Get(long length)
    {
        if (_buffer is null || _buffer.Length < length)
        {
            if (_buffer is not null)
            {
                memory.Accelerator.Synchronize();  // a queued kernel may still read the old buffer
                memory.Release(_buffer);
                _buffer = null;
            }
            _buffer = memory.Allocate<T>(length);
        }
        return ((ArrayView<T>)_buffer.View).SubView(0, length);
    }

    public void Dispose()
    {
        memory.Release(_buffer);
        _buffer = null;
    }
}
