// An exported detector run in ONNX Runtime (CPU, default session options: what a user of the file gets), for the
// checks of export --verify and the tests. aemnist loads this assembly by name only in builds that ship it.
using System.Reflection;
using AeMnist.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace AeMnist.Onnx.Runtime;

public sealed class OrtRunner : IOnnxRunner
{
    public string Name => $"ONNX Runtime {typeof(InferenceSession).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "?"} (CPU)";

    public OnnxOutputs Run(byte[] model, byte[] pixels, int n, ImageShape shape)
    {
        if (pixels.Length != (long)n * shape.Length)
            throw new ArgumentException($"{n} images of {shape} need {(long)n * shape.Length} bytes, got {pixels.Length}", nameof(pixels));
        using var session = new InferenceSession(model);
        using var input = OrtValue.CreateTensorValueFromMemory(pixels, [n, shape.Channels, shape.Height, shape.Width]);
        string[] names = [.. session.OutputMetadata.Keys];
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> results = session.Run(runOptions, [DetectorExport.Image], [input], names);
        OrtValue Output(string name) => results.ElementAt(Array.IndexOf(names, name));
        bool hasP = names.Contains(DetectorExport.PValue);
        return new OnnxOutputs(
            Output(DetectorExport.Score).GetTensorDataAsSpan<float>().ToArray(),
            Output(DetectorExport.IsAnomaly).GetTensorDataAsSpan<bool>().ToArray(),
            hasP ? Output(DetectorExport.PValue).GetTensorDataAsSpan<double>().ToArray() : null,
            Output(DetectorExport.Reconstruction).GetTensorDataAsSpan<float>().ToArray(),
            Output(DetectorExport.AnomalyMap).GetTensorDataAsSpan<float>().ToArray())
        {
            Metadata = new Dictionary<string, string>(session.ModelMetadata.CustomMetadataMap, StringComparer.Ordinal),
        };
    }
}
