// The assemblies a build may leave out (the torch engine, ONNX Runtime): whether this build ships one, found without
// loading anything, and a type of it loaded by name only when asked for.
using System.Reflection;

namespace AeMnist.Cli;

internal static class OptionalAssembly
{
    /// <summary>Whether <paramref name="name"/>.dll is among the program's trusted assemblies (listed in aemnist.deps.json).</summary>
    public static bool IsShipped(string name) =>
        (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "")
            .Split(Path.PathSeparator).Any(p => Path.GetFileName(p).Equals(name + ".dll", StringComparison.OrdinalIgnoreCase));

    /// <summary>The type <paramref name="typeName"/> of the assembly <paramref name="name"/>, loaded now.</summary>
    public static Type Type(string name, string typeName) =>
        Assembly.Load(new AssemblyName(name)).GetType(typeName, throwOnError: true)!;
}
