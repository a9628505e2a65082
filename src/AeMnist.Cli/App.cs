// The `aemnist` root command and its error policy: 0 success, 1 data or runtime error, 2 usage error,
// 3 quality gate not met. Errors are one line on stderr; --verbose adds the stack trace.
using System.CommandLine;
using System.CommandLine.Parsing;
using AeMnist.Cli.Commands;
using AeMnist.Engines;

namespace AeMnist.Cli;

public static class ExitCodes
{
    public const int Success = 0;
    public const int DataError = 1;
    public const int UsageError = 2;
    public const int QualityGate = 3;
    /// <summary>Training was interrupted (Ctrl-C) and a resumable checkpoint was saved: 128 + SIGINT.</summary>
    public const int Interrupted = 130;
}

/// <summary>A bad option value or combination: exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>A failure that already has its one-line message and exit code.</summary>
public sealed class CliExitException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

public static class App
{
    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Show stack traces for errors",
        Recursive = true,
    };

    /// <summary>
    /// The engines this program offers (--engine): native, and torch, which a build with -p:WithTorch=true ships and
    /// which is loaded by name only when asked for (<see cref="TorchEngineLoader"/>).
    /// </summary>
    public static EngineCatalog Engines { get; } = EngineCatalog.Native.With(TorchEngineLoader.Provider);

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("aemnist: anomaly detection on MNIST with autoencoders (train, evaluate, score, report)")
        {
            TrainCommand.Build(),
            EvaluateCommand.Build(),
            ScoreCommand.Build(),
            ReportCommand.Build(),
            DataCommand.Build(),
        };
        root.Add(Verbose);
        return root;
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        RootCommand root = BuildRoot();
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            string command = parse.CommandResult.Command is RootCommand ? "" : parse.CommandResult.Command.Name + " ";
            // A mistyped command is reported by name, not as the "required command" missing because of it.
            ParseError error = parse.Errors.FirstOrDefault(e => parse.UnmatchedTokens.Any(t => e.Message.Contains(t, StringComparison.Ordinal)))
                ?? parse.Errors[0];
            stderr.WriteLine($"aemnist: {OneLine(error.Message)} (see 'aemnist {command}--help')");
            return ExitCodes.UsageError;
        }
        bool verbose = parse.GetValue(Verbose);
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = stdout, Error = stderr });
        }
        catch (Exception e)
        {
            (int code, string message) = Classify(e);
            stderr.WriteLine($"aemnist: {message}");
            if (verbose) stderr.WriteLine(e);
            return code;
        }
    }

    private static (int Code, string Message) Classify(Exception e) => e switch
    {
        CliExitException x => (x.ExitCode, x.Message),
        UsageException or ArgumentException or EngineUnavailableException => (ExitCodes.UsageError, OneLine(e.Message)),
        DataFormatException => (ExitCodes.DataError, OneLine(e.Message)),
        IOException or UnauthorizedAccessException => (ExitCodes.DataError, OneLine(e.Message)),
        NotSupportedException => (ExitCodes.UsageError, OneLine(e.Message)),
        OutOfMemoryException => (ExitCodes.DataError, "out of memory; use a smaller --batch-size or split"),
        _ => (ExitCodes.DataError, $"internal error: {OneLine(e.Message)} (run with --verbose for details, and please report it)"),
    };

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
