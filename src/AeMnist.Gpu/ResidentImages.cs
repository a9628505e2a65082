// The training set on the device, uploaded once: the trainer hands every batch the whole set and the batch's row
// indices, so the engine keeps a copy of that span on the device (keyed by its address and length) and gathers the
// rows there. A span may change between calls under the same address, so each row's XxHash3 is kept and the batch's
// rows are hashed again on every call; a row whose content changed is uploaded again. A span no larger than two batches
// (a denoising step's noisy batch) is simply uploaded whole each call.
using System.IO.Hashing;
using System.Runtime.InteropServices;
using AeMnist.Gpu.Kernels;
using ILGPU;

namespace AeMnist.Gpu;

internal sealed class ResidentImages(DeviceMemory memory) : IDisposable
{
    private readonly DeviceBuffer _images = new(memory);
    private nint _address;
    private int _length = -1;
    private ulong[] _hashes = [];

    /// <summary>Rows uploaded since creation (the first call's whole set, then changed rows): for tests and benchmarks.</summary>
    public long RowsUploaded { get; private set; }

    /// <summary>A device view of <paramref name="images"/> (rows of <paramref name="perImage"/> values) whose <paramref name="rows"/> are current.</summary>
    public unsafe ArrayView<float> Get(ReadOnlySpan<float> images, ReadOnlySpan<int> rows, int perImage)
    {
        int count = images.Length / perImage;
        nint address = (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetReference(images));
        ArrayView<float> view = _images.Get(images.Length);
        if (images.Length <= 2L * rows.Length * perImage)
        {
            DeviceMemory.Upload(view, images);
            RowsUploaded += count;
            _length = -1;  // nothing cached
            return view;
        }
        if (address != _address || images.Length != _length)
        {
            DeviceMemory.Upload(view, images);
            RowsUploaded += count;
            if (_hashes.Length < count) _hashes = new ulong[count];
            for (int r = 0; r < count; r++) _hashes[r] = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(images.Slice(r * perImage, perImage)));
            (_address, _length) = (address, images.Length);
            return view;
        }
        foreach (int r in rows)
        {
            ReadOnlySpan<float> row = images.Slice(r * perImage, perImage);
            ulong hash = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(row));
            if (hash == _hashes[r]) continue;
            DeviceMemory.Upload(view.SubView((long)r * perImage, perImage), row);
            _hashes[r] = hash;
            RowsUploaded++;
        }
        return view;
    }

    public void Dispose() => _images.Dispose();
}
