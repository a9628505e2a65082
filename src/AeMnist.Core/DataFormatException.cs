// The one documented error type for bad input files: a one-line message naming the file and the problem.
namespace AeMnist;

/// <summary>A file or input that cannot be used; the message is one line naming the file and what is wrong.</summary>
public sealed class DataFormatException : Exception
{
    public DataFormatException(string message) : base(message) { }

    public DataFormatException(string message, Exception inner) : base(message, inner) { }
}
