using System.Collections.Concurrent;
using AeMnist.Core.Tests.IO;
using AeMnist.Training;

namespace AeMnist.Core.Tests.Training;

/// <summary>Runs that start at the same instant never share a directory (the claim file is created exclusively).</summary>
public class RunDirectoryRaceTests
{
    [Fact]
    public void ADirectoryCanBeClaimedOnceOnly()
    {
        // What a second process sees when it created the same directory a moment after the first one.
        using var temp = new TempDir();
        Assert.True(RunDirectory.TryClaim(temp.Path));
        Assert.False(RunDirectory.TryClaim(temp.Path));
        Assert.False(RunDirectory.TryClaim(temp.Path));
    }

    [Fact]
    public void RunsCreatedAtTheSameInstantGetDistinctDirectories()
    {
        using var temp = new TempDir();
        var paths = new ConcurrentBag<string>();
        Parallel.For(0, 24, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
            paths.Add(RunDirectory.Create(temp.Path, null, "dense-5-s42-20261122-000000").Path));
        Assert.Equal(24, paths.Distinct().Count());
        Assert.All(paths, p => Assert.True(File.Exists(Path.Combine(p, RunDirectory.ClaimFileName))));
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
                RunDirectory.Create(temp.Path, "mine", "unused");
                Interlocked.Increment(ref won);
            }
            catch (ArgumentException e) when (e.Message.Contains("already exists", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref refused);
            }
        });
        Assert.Equal(1, won);
        Assert.Equal(23, refused);
    }
}
