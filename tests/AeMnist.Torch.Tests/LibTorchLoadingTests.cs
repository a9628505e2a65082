// How libLibTorchSharp.so is made to load here, and what is said when it cannot: the ELF reader and writer on the real
// library, the shipped copy against the NuGet package's, the one-line error of a real failed load, and that nothing
// loads LibTorch unless the torch engine is asked for.
using System.Diagnostics;
using System.Reflection;
using AeMnist.Core.Tests;
using AeMnist.Engines;
using AeMnist.Torch.Build;

namespace AeMnist.Torch.Tests;

public sealed class LibTorchLoadingTests
{
    private static string Metadata(string key) => typeof(LibTorchLoadingTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    /// <summary>libLibTorchSharp.so as the TorchSharp package ships it.</summary>
    private static string Original => Path.Combine(Metadata("NuGetPackageRoot"), "torchsharp", Metadata("TorchSharpVersion"), "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    /// <summary>The copy the build put beside these tests (the one that loads).</summary>
    private static string Shipped => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    private static string SystemLibStdCxx => ElfVersions.FindSystemLibrary("libstdc++.so.6") ?? throw new InvalidOperationException("no system libstdc++.so.6");

    [Fact]
    public void TheOriginalNeedsGlibcxx3432OnlyForAnUnrelocatedIosBaseLibraryInit()
    {
        List<ElfVersionNeed> needs = ElfVersions.ReadNeeds(File.ReadAllBytes(Original));
        ElfVersionNeed newest = needs.Single(n => n.Version == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", newest.File);
        Assert.Equal(["_ZSt21ios_base_library_initv"], newest.Symbols);
        Assert.True(newest.AllUndefined && !newest.Relocated && !newest.IsWeak && newest.CanBeWeak);
        // A version whose symbols are really bound (relocated) must never be weakened.
        ElfVersionNeed basic = needs.Single(n => n.Version == "GLIBCXX_3.4");
        Assert.True(basic.Relocated && !basic.CanBeWeak);
        Assert.Contains(needs, n => n.File == "libc.so.6" && n.Version == "GLIBC_2.2.5");
    }

    [Fact]
    public void MarkWeakChangesOnlyTheFlagsOfTheGivenNeeds()
    {
        byte[] original = File.ReadAllBytes(Original);
        ElfVersionNeed newest = ElfVersions.ReadNeeds(original).Single(n => n.Version == "GLIBCXX_3.4.32");
        byte[] patched = ElfVersions.MarkWeak(original, [newest]);
        int[] changed = [.. Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i])];
        Assert.Equal([newest.FlagsOffset], changed);
        Assert.True(ElfVersions.ReadNeeds(patched).Single(n => n.Version == "GLIBCXX_3.4.32").IsWeak);
        Assert.Equal(ElfVersions.ReadNeeds(original).Count(n => n.IsWeak) + 1, ElfVersions.ReadNeeds(patched).Count(n => n.IsWeak));
    }

    [Fact]
    public void TheShippedLibraryIsTheOriginalExceptWhereThisSystemNeedsAWeakVersion()
    {
        byte[] original = File.ReadAllBytes(Original), shipped = File.ReadAllBytes(Shipped);
        HashSet<string> defined = ElfVersions.ReadDefinitions(File.ReadAllBytes(SystemLibStdCxx));
        Assert.Contains("GLIBCXX_3.4", defined);
        Assert.Contains("CXXABI_1.3", defined);
        List<ElfVersionNeed> missing = ElfVersions.Missing(ElfVersions.ReadNeeds(original), "libstdc++.so.6", defined);
        Assert.Equal(ElfVersions.MarkWeak(original, missing), shipped);  // == original where nothing is missing
        Assert.Empty(ElfVersions.Missing(ElfVersions.ReadNeeds(shipped), "libstdc++.so.6", defined));
    }

    [Fact]
    public void MissingVersionsAreFoundAgainstTheGivenDefinitions()
    {
        List<ElfVersionNeed> needs = ElfVersions.ReadNeeds(File.ReadAllBytes(Original));
        HashSet<string> gcc12 = [.. needs.Where(n => n.File == "libstdc++.so.6" && n.Version != "GLIBCXX_3.4.32").Select(n => n.Version)];
        Assert.Equal(["GLIBCXX_3.4.32"], ElfVersions.Missing(needs, "libstdc++.so.6", gcc12).Select(n => n.Version));
        HashSet<string> gcc13 = [.. gcc12, "GLIBCXX_3.4.32"];
        Assert.Empty(ElfVersions.Missing(needs, "libstdc++.so.6", gcc13));
    }

    [Fact]
    public void ANonElfFileIsRejected()
    {
        Assert.Throws<InvalidDataException>(() => ElfVersions.ReadNeeds([1, 2, 3]));
        byte[] truncated = File.ReadAllBytes(Original)[..4096];
        Assert.Throws<InvalidDataException>(() => ElfVersions.ReadNeeds(truncated));
    }

    [Fact]
    public void AnUnloadableLibTorchSharpIsOneLineWithTheReasonAndWhatToDo()
    {
        LibTorch.EnsureLoaded();  // LibTorch's own libraries are then resolved by soname, so only the version check can fail
        HashSet<string> defined = ElfVersions.ReadDefinitions(File.ReadAllBytes(SystemLibStdCxx));
        using var dir = new TempDirectory();
        string copy = dir.File("libLibTorchSharp.so");
        File.Copy(Original, copy);
        if (defined.Contains("GLIBCXX_3.4.32"))
        {
            System.Runtime.InteropServices.NativeLibrary.Load(copy);  // a newer libstdc++: the package's file loads as it is
            return;
        }
        var e = Assert.Throws<DllNotFoundException>(() => System.Runtime.InteropServices.NativeLibrary.Load(copy));
        string line = LibTorch.Explain(copy, e.Message);
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith($"--engine torch: LibTorch cannot be loaded from {copy}: ", line);
        Assert.Contains("version `GLIBCXX_3.4.32' not found", line);
        Assert.EndsWith("this system's libstdc++ is older than TorchSharp's native library needs; build aemnist from a checkout on this machine " +
            "(the build marks such a version requirement weak where that is safe, see README, 'The torch engine') or install libstdc++ from GCC 13 or later", line);
        Assert.DoesNotContain("is not restored", line);
    }

    [Fact]
    public void OtherLoadFailuresSayToRebuildWithTheTorchEngine()
    {
        string line = LibTorch.Explain("/x/libLibTorchSharp.so",
            "Unable to load shared library '/x/libLibTorchSharp.so' or one of its dependencies. In order to help diagnose loading problems, " +
            "consider using a tool like strace. If you're using glibc, consider setting the LD_DEBUG environment variable: \nlibtorch.so: cannot open shared object file: No such file or directory");
        Assert.Equal("--engine torch: LibTorch cannot be loaded from /x/libLibTorchSharp.so: libtorch.so: cannot open shared object file: No such file or directory; " +
            "rebuild aemnist with -p:WithTorch=true (see README, 'The torch engine'), or use --engine native", line);
    }

    [Fact]
    public void NothingLoadsLibTorchUnlessTheTorchEngineIsAskedFor()
    {
        // The real aemnist in a child process, with this test host's deps (which ship the torch engine, as a
        // -p:WithTorch=true build does); glibc's LD_DEBUG=files names every shared library the process opens.
        using var runs = new TempDirectory();
        string Libraries(string engine)
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (string a in new[] { "exec", "--depsfile", Path.Combine(AppContext.BaseDirectory, "AeMnist.Torch.Tests.deps.json"),
                         "--runtimeconfig", Path.Combine(AppContext.BaseDirectory, "aemnist.runtimeconfig.json"), Path.Combine(AppContext.BaseDirectory, "aemnist.dll"),
                         "train", "--engine", engine, "--epochs", "1", "--train-normal", "100", "--train-anomalies", "10", "--test-normal", "50", "--test-anomalies", "50",
                         "--runs-dir", runs.Path, "--quiet", "--threads", "1" })
                info.ArgumentList.Add(a);
            info.Environment["LD_DEBUG"] = "files";
            using Process process = Process.Start(info)!;
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            string stderr = process.StandardError.ReadToEnd();
            Assert.True(process.WaitForExit(600_000), "aemnist did not finish (a guard against a hang)");
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {stdout.Result} {string.Join('\n', stderr.Split('\n').Where(l => !l.Contains("file=") && !l.Contains("calling")).Take(20))}");
            return stderr;
        }
        string native = Libraries("native");
        Assert.DoesNotContain("libtorch_cpu.so", native);
        Assert.DoesNotContain("libLibTorchSharp.so", native);
        Assert.Contains("libclrjit.so", native);  // the trace works
        string torch = Libraries("torch");
        Assert.Contains("libtorch_cpu.so", torch);
        Assert.Contains("libLibTorchSharp.so", torch);
    }

    [Fact]
    public void ALeanBuildSaysHowToGetTheTorchEngine()
    {
        // The message a build without -p:WithTorch=true gives (tested there by AeMnist.Cli.Tests); here the engine is present.
        Assert.True(AeMnist.Cli.TorchEngineLoader.IsPresent);
        Assert.Contains("-p:WithTorch=true", AeMnist.Cli.TorchEngineLoader.Absent);
        Assert.IsType<EngineUnavailableException>(new EngineUnavailableException(AeMnist.Cli.TorchEngineLoader.Absent));
    }
}
