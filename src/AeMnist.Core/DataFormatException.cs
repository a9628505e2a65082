// The one documented error type for input files that cannot be read as what they claim to be.
// Callers (the CLI) print the message as is, so it is one line that names the file and the problem.
namespace AeMnist;

/// <summary>
/// An input file is malformed: truncated, wrong format, out-of-range values. The message is one line
/// that names the file (and line or field where useful), states the problem, and says what to do when
/// that helps, e.g. <c>model.safetensors: header length 999999 runs past the end of the file (120 bytes); the file is truncated or not safetensors</c>.
/// </summary>
public sealed class DataFormatException : Exception
{
    /// <summary>Creates the exception with a one-line message naming the file and the problem.</summary>
    public DataFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with a one-line message and the low-level error that caused it.</summary>
    public DataFormatException(string message, Exception inner) : base(message, inner) { }
}
