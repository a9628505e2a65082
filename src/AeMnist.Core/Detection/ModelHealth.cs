// Signs that a model's answers mean nothing, checked wherever a model is used: a collapsed model (it reconstructs
// every image as the same image, as the tutorial's conv model does for some seeds when its last ReLU dies) and
// non-finite reconstruction errors (weights that overflow).
using AeMnist.Engines;

namespace AeMnist.Detection;

public static class ModelHealth
{
    /// <summary>How many images the collapse check reconstructs.</summary>
    public const int ProbeImages = 256;

    /// <summary>
    /// True when the model reconstructs each of (up to <see cref="ProbeImages"/>) <paramref name="n"/> images, at least two of
    /// them different, as exactly the same image: its output no longer depends on its input.
    /// </summary>
    public static bool IsConstant(IEngineModel model, ReadOnlySpan<float> images, int n)
    {
        int size = model.Spec.Input.Length;
        n = Math.Min(n, ProbeImages);
        if (n < 2) return false;
        ReadOnlySpan<float> probe = images[..(n * size)];
        bool distinct = false;
        for (int i = 1; i < n && !distinct; i++) distinct = !probe.Slice(i * size, size).SequenceEqual(probe[..size]);
        if (!distinct) return false;
        var output = new float[n * size];
        model.Reconstruct(probe, n, output);
        return IsConstant(probe, output, n, size);
    }

    /// <summary>
    /// The same test on reconstructions already made: true when the first (up to <see cref="ProbeImages"/>) of
    /// <paramref name="n"/> images, at least two of them different, all have exactly the same reconstruction.
    /// </summary>
    public static bool IsConstant(ReadOnlySpan<float> images, ReadOnlySpan<float> reconstructions, int n, int size)
    {
        n = Math.Min(n, ProbeImages);
        if (n < 2) return false;
        bool distinct = false;
        for (int i = 1; i < n && !distinct; i++) distinct = !images.Slice(i * size, size).SequenceEqual(images[..size]);
        if (!distinct) return false;
        ReadOnlySpan<float> first = reconstructions[..size];
        for (int i = 1; i < n; i++)
            if (!reconstructions.Slice(i * size, size).SequenceEqual(first)) return false;
        return true;
    }

    /// <summary>The index of the first error that is NaN or infinite, or -1.</summary>
    public static int FirstNonFinite(ReadOnlySpan<float> errors)
    {
        for (int i = 0; i < errors.Length; i++)
            if (!float.IsFinite(errors[i])) return i;
        return -1;
    }

    /// <summary>A model whose errors overflow gives no answer: a data error naming the model file and the first such image.</summary>
    public static void CheckFinite(ReadOnlySpan<float> errors, string modelFile, Func<int, string> source)
    {
        int bad = FirstNonFinite(errors);
        if (bad >= 0)
            throw new DataFormatException(
                $"{modelFile}: the model gives a reconstruction error of {errors[bad]} for {source(bad)}; its weights overflow, so no error it gives means anything (retrain it)");
    }

    /// <summary>The warning every command prints for a collapsed model.</summary>
    public static string CollapseWarning(string modelFile) =>
        $"{modelFile} is a collapsed model: it reconstructs every image as the same image, so its errors only measure how far each image is from that one; retrain it (aemnist train --retry-collapsed, or another --seed)";
}
