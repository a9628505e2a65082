// Locates the repository from a test's output directory, so tests can read data/ and docs/.
namespace AeMnist.Core.Tests;

internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string MnistDirectory => Path.Combine(Root, "data", "mnist");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "AeMnist.sln"))) return dir.FullName;
        throw new InvalidOperationException("AeMnist.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A temporary directory deleted at the end of a test.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("aemnist-test-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
