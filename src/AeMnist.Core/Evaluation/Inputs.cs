// Argument checks shared by the evaluation functions.
namespace AeMnist.Evaluation;

internal static class Inputs
{
    /// <summary>Equal lengths and no NaN error (a NaN has no place in a ranking; scikit-learn rejects it too).</summary>
    internal static void Check(ReadOnlySpan<float> errors, ReadOnlySpan<bool> isAnomaly)
    {
        if (errors.Length != isAnomaly.Length)
            throw new ArgumentException($"errors has {errors.Length} entries but isAnomaly has {isAnomaly.Length}.", nameof(isAnomaly));
        CheckNoNaN(errors, nameof(errors));
    }

    internal static void CheckNoNaN(ReadOnlySpan<float> values, string name)
    {
        for (int i = 0; i < values.Length; i++)
            if (float.IsNaN(values[i])) throw new ArgumentException($"{name}[{i}] is NaN.", name);
    }
}
