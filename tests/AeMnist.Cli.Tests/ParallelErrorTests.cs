
namespace AeMnist.Cli.Tests;

/// <summary>
/// Errors from work done in parallel (issue 20) reach the user as the tool's one line with the right exit code, never
/// "internal error: One or more errors occurred".
/// </summary>
public sealed class ParallelErrorTests
{
    private static AggregateException FromParallelFor(params Exception[] errors)
    {
        try
        {
            Parallel.For(0, errors.Length, i => throw errors[i]);
        }
        catch (AggregateException e) { return e; }
        throw new InvalidOperationException("Parallel.For did not fail");
    }

    [Fact]
    public void A_data_error_inside_Parallel_For_is_a_data_error()
    {
        (int code, string message) = App.Classify(FromParallelFor(new DataFormatException("cells/a: bad file")));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Equal("cells/a: bad file", message);
    }

    [Fact]
    public void Of_several_the_usage_error_wins_whatever_the_order()
    {
        var usage = new UsageException("--parallel 0 must be 1 or more");
        var data = new DataFormatException("x: bad");
        foreach (AggregateException e in new[] { new AggregateException(data, usage), new AggregateException(usage, data),
                     new AggregateException(new AggregateException(new InvalidOperationException("bug"), usage)) })
        {
            (int code, string message) = App.Classify(e);
            Assert.Equal(ExitCodes.UsageError, code);
            Assert.Equal("--parallel 0 must be 1 or more", message);
        }
        (int c2, string m2) = App.Classify(new AggregateException(new InvalidOperationException("bug"), data));
        Assert.Equal((ExitCodes.DataError, "x: bad"), (c2, m2));
        Assert.DoesNotContain("One or more errors", App.Classify(new AggregateException(new InvalidOperationException("bug"))).Message);
    }
}
