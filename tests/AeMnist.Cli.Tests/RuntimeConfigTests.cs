using System.Text.Json.Nodes;

namespace AeMnist.Cli.Tests;

/// <summary>
/// The program is started with every method compiled optimised from its first call (no unoptimised first tier, with or
/// without loops): a short `score` otherwise runs much of its work, the runtime's vector exp behind the sigmoid
/// included, as unoptimised code (docs/benchmarks.md, "Issue 24, fifth stop"). The settings live in the program's
/// runtimeconfig.json, which `dotnet aemnist.dll` and the installed tool both read.
/// </summary>
public sealed class RuntimeConfigTests
{
    [Fact]
    public void TheProgramSkipsTheUnoptimisedFirstTier()
    {
        string path = Path.ChangeExtension(typeof(App).Assembly.Location, ".runtimeconfig.json");
        Assert.True(File.Exists(path), $"{path} is missing");
        JsonNode? properties = JsonNode.Parse(File.ReadAllText(path))?["runtimeOptions"]?["configProperties"];
        Assert.NotNull(properties);
        Assert.Equal(false, properties["System.Runtime.TieredCompilation.QuickJit"]?.GetValue<bool>());
        Assert.Equal(false, properties["System.Runtime.TieredCompilation.QuickJitForLoops"]?.GetValue<bool>());
    }
}
