using System.Collections.Concurrent;
using AeMnist.Core.Tests.IO;
using AeMnist.IO;
using AeMnist.Runs;

namespace AeMnist.Core.Tests.Training;

/// <summary>
/// Runs that start at the same instant never share a directory: each is built under its own temporary name and renamed
/// into place without replacing anything; and a run is locked while a process trains it.
/// </summary>
public class RunDirectoryRaceTests
{
    private static void Populate(RunDirectory staging) => File.WriteAllText(Path.Combine(staging.Path, "checkpoint.safetensors"), staging.Path);

    [Fact]
    public void ARunIsLockedWhileItsCreatorHoldsIt()
    {
        using var temp = new TempDir();
        var (run, held) = RunDirectory.Create(temp.Path, "mine", "unused", Populate);
        Assert.True(run.IsLocked);
        Assert.Contains("another aemnist process is training this run", Assert.Throws<DataFormatException>(() => run.Lock()).Message);
        held.Dispose();
        Assert.False(run.IsLocked);
        using FileLock again = run.Lock();
        Assert.True(run.IsLocked);
    }

    [Fact]
    public void RunsCreatedAtTheSameInstantGetDistinctDirectories()
    {
        using var temp = new TempDir();
        var paths = new ConcurrentBag<string>();
        Parallel.For(0, 24, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            var (run, held) = RunDirectory.Create(temp.Path, null, "dense-5-s42-20261122-000000", Populate);
            held.Dispose();
            paths.Add(run.Path);
        });
        Assert.Equal(24, paths.Distinct().Count());
        Assert.All(paths, p => Assert.True(File.Exists(Path.Combine(p, RunDirectory.ClaimFileName))));
        // Each directory holds what its own creator wrote, complete: nothing was renamed over another.
        Assert.All(paths, p => Assert.EndsWith(".tmp", File.ReadAllText(Path.Combine(p, "checkpoint.safetensors"))));
        Assert.Equal(24, paths.Select(p => File.ReadAllText(Path.Combine(p, "checkpoint.safetensors"))).Distinct().Count());
        Assert.Empty(Directory.GetDirectories(temp.Path, ".*"));
    }

    [Fact]
    public void OnlyOneOfManyRunsWithTheSameChosenNameGetsIt()
    {
        using var temp = new TempDir();
        int won = 0, refused = 0;
        Parallel.For(0, 24, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            try
            {
                RunDirectory.Create(temp.Path, "mine", "unused", Populate).Lock.Dispose();
                Interlocked.Increment(ref won);
            }
            catch (ArgumentException e) when (e.Message.Contains("already exists", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref refused);
            }
        });
        Assert.Equal(1, won);
        Assert.Equal(23, refused);
        Assert.Equal([Path.Combine(temp.Path, "mine")], Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void AFailedCreationLeavesNothing()
    {
        using var temp = new TempDir();
        Assert.Throws<InvalidOperationException>(() => RunDirectory.Create(temp.Path, "mine", "unused", _ => throw new InvalidOperationException("boom")));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }
}
