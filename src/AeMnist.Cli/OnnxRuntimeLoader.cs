// ONNX Runtime as seen by the CLI, which never references it at compile time (as the torch engine): a build with
// -p:WithOnnxRuntime=true ships AeMnist.Onnx.Runtime and ONNX Runtime beside aemnist, and export --verify loads it by
// name; a default build answers --verify with one line saying how to get it. The tests check every export in ONNX
// Runtime whatever the build.
using AeMnist.Onnx;

namespace AeMnist.Cli;

internal static class OnnxRuntimeLoader
{
    private const string AssemblyName = "AeMnist.Onnx.Runtime";
    private const string RunnerType = "AeMnist.Onnx.Runtime.OrtRunner";

    /// <summary>Whether this build ships ONNX Runtime: its assembly is among the program's trusted assemblies (nothing is loaded to find out).</summary>
    public static bool IsPresent { get; } = OptionalAssembly.IsShipped(AssemblyName);

    /// <summary>The one line a build without ONNX Runtime gives for --verify.</summary>
    public const string Absent =
        "--verify: this aemnist was built without ONNX Runtime (140 MB, left out of the default build); from a checkout run " +
        "'dotnet run -c Release --project src/AeMnist.Cli -p:WithOnnxRuntime=true -- export ... --verify', or check the file with ONNX Runtime yourself (docs/export.md)";

    /// <summary>The runner, loaded by name; a build without it is a usage error saying how to get it.</summary>
    public static IOnnxRunner Create()
    {
        if (!IsPresent) throw new UsageException(Absent);
        Type type = OptionalAssembly.Type(AssemblyName, RunnerType);
        return (IOnnxRunner)Activator.CreateInstance(type)!;
    }
}
