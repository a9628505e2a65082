// The `aemnist` root command and its error policy: 0 success, 1 data or runtime error, 2 usage error,
// 3 quality gate not met. Errors are one line on stderr; --verbose adds the stack trace.
using System.CommandLine;
using System.CommandLine.Parsing;
using AeMnist.Cli.Commands;
using AeMnist.Engines;
using AeMnist.Engines.Native;

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
    /// The engines this program offers (--engine): native; torch, which a build with -p:WithTorch=true ships and which is
    /// loaded by name only when asked for (<see cref="TorchEngineLoader"/>); and ilgpu (AeMnist.Gpu, about 2 MB with ILGPU,
    /// always shipped; it loads no GPU library until a device is asked for).
    /// </summary>
    public static EngineCatalog Engines { get; } = NativeEngine.Catalog.With(TorchEngineLoader.Provider).With(Gpu.GpuEngineProvider.Provider);

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("aemnist: anomaly detection in images with autoencoders, on MNIST (shipped) or your own images (train, evaluate, score, report, export, benchmark)")
        {
            TrainCommand.Build(),
            EvaluateCommand.Build(),
            ScoreCommand.Build(),
            ReportCommand.Build(),
            EncodeCommand.Build(),
            ExportCommand.Build(),
            BenchmarkCommand.Build(),
            DataCommand.Build(),
        };
        root.Add(Verbose);
        return root;
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        RootCommand root = BuildRoot();
        // `aemnist help` and `aemnist help train` are `aemnist --help` and `aemnist train --help`.
        if (args.Length > 0 && args[0] == "help")
        {
            if (args.Length > 2 || (args.Length == 2 && root.Subcommands.All(c => c.Name != args[1])))
            {
                string? suggestion = args.Length == 2 ? Suggestions.DidYouMean(args[1], root.Subcommands.Select(c => c.Name)) : null;
                stderr.WriteLine($"aemnist: help takes one command name: {string.Join(", ", root.Subcommands.Select(c => c.Name))}" +
                                 (suggestion is null ? "" : $"; did you mean {suggestion}?") + " (see 'aemnist --help')");
                return ExitCodes.UsageError;
            }
            args = args.Length == 1 ? ["--help"] : [args[1], "--help"];
        }
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Command current = parse.CommandResult.Command;
            string command = current is RootCommand ? "" : current.Name + " ";
            // A mistyped command is reported by name, not as the "required command" missing because of it.
            // A value the options' own parsers refused ("--lr '0,001' is not a number") says more than "--input is required".
            ParseError error = parse.Errors.FirstOrDefault(e => parse.UnmatchedTokens.Any(t => e.Message.Contains(t, StringComparison.Ordinal)))
                ?? parse.Errors.FirstOrDefault(e => e.Message.StartsWith('-') || e.Message.StartsWith('\''))
                ?? parse.Errors[0];
            string message = OneLine(error.Message);
            // "Did you mean": the closest option (or, at the top, command) to an unrecognised token.
            if (parse.UnmatchedTokens.FirstOrDefault(t => message.Contains(t, StringComparison.Ordinal)) is { } unmatched)
            {
                IEnumerable<string> known = unmatched.StartsWith('-') ? SharedOptions.OptionNames(current)
                    : current is RootCommand ? root.Subcommands.Select(c => c.Name) : [];
                if (Suggestions.DidYouMean(unmatched, known) is { } suggestion)
                    message = $"{message.TrimEnd('.')}; did you mean {suggestion}?";
                message = message.Replace($"'{unmatched}'", IO.MessageText.Quote(unmatched, 60), StringComparison.Ordinal);
            }
            stderr.WriteLine($"aemnist: {message} (see 'aemnist {command}--help')");
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

    internal static (int Code, string Message) Classify(Exception e) => e switch
    {
        CliExitException x => (x.ExitCode, x.Message),
        // Work done in parallel (Parallel.For, tasks) wraps its failures: the user gets the failure itself, in the tool's
        // words and with its exit code, never "One or more errors occurred". Of several, the one that says most: a usage
        // error before a data error before an internal error, then the first, so the choice does not depend on timing.
        AggregateException a when a.Flatten().InnerExceptions is { Count: > 0 } inner =>
            inner.Select(Classify).OrderBy(c => c.Code == ExitCodes.UsageError ? 0 : c.Message.StartsWith("internal error", StringComparison.Ordinal) ? 2 : 1).First(),
        System.Reflection.TargetInvocationException { InnerException: { } inner } => Classify(inner),
        // An ArgumentException with a parameter name comes from a method's own checks (ours or .NET's): a bug, not a usage error.
        ArgumentException { ParamName: not null } => (ExitCodes.DataError, $"internal error: {OneLine(e.Message)} (run with --verbose for details, and please report it)"),
        UsageException or ArgumentException or EngineUnavailableException => (ExitCodes.UsageError, OneLine(e.Message)),
        DataFormatException => (ExitCodes.DataError, OneLine(e.Message)),
        // .NET names the path inside its message ("The path '...' is too long, ..."): ours names it first, escaped and cut.
        PathTooLongException => (ExitCodes.DataError, TooLong(e.Message)),
        // Our own I/O errors start with the path; .NET's (which may name a temporary file) are put in our words.
        IOException or UnauthorizedAccessException when e.Message.Contains(": ", StringComparison.Ordinal) && !e.Message.Contains(" : '", StringComparison.Ordinal)
            => (ExitCodes.DataError, OneLine(e.Message)),
        IOException or UnauthorizedAccessException => (ExitCodes.DataError, $"input/output error: {IO.FileErrors.Reason(e)}"),
        NotSupportedException => (ExitCodes.UsageError, OneLine(e.Message)),
        InsufficientMemoryException => (ExitCodes.DataError, OneLine(e.Message)),
        OutOfMemoryException => (ExitCodes.DataError, "out of memory; the inputs, the model or the batch are too large for this machine (run with --verbose to see where)"),
        _ => (ExitCodes.DataError, $"internal error: {OneLine(e.Message)} (run with --verbose for details, and please report it)"),
    };

    // "The path '/a/b...' is too long, ..." as "/a/b...: the path is too long (...)", the path escaped and cut.
    private static string TooLong(string message)
    {
        int from = message.IndexOf('\''), to = message.LastIndexOf('\'');
        if (from < 0 || to <= from) return "a path is too long for the file system";
        string path = message[(from + 1)..to], text = IO.FileErrors.NotFound(path);
        return text.Contains("too long", StringComparison.Ordinal) ? text : $"{IO.MessageText.Escape(path)}: the path is too long";
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
