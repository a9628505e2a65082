// Runs the real `aemnist` program as a child process (`dotnet aemnist.dll ARGS`, the build copies it
// beside the tests), with a timeout, captured output, and a way to send SIGINT as Ctrl-C would.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace AeMnist.Cli.Tests;

internal sealed record ProcessResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:F1}s\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>One running `aemnist` child process; its output is collected line by line as it arrives.</summary>
internal sealed partial class AemnistProcess : IDisposable
{
    /// <summary>The program under test: the Cli project's output, copied into the test output directory.</summary>
    public static string DllPath => Path.Combine(AppContext.BaseDirectory, "aemnist.dll");

    // Timeouts guard against a hung child; they are never speed targets. Every wait lasts at least this long, so a test
    // passes on a busy 2-core machine (load 3-5) as on an idle one.
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(300);

    private static TimeSpan Guard(TimeSpan timeout) => timeout > DefaultTimeout ? timeout : DefaultTimeout;

    private readonly Process _process;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly StringBuilder _stdout = new(), _stderr = new();
    private readonly List<string> _lines = [];
    private readonly object _lock = new();

    private AemnistProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Runs `aemnist ARGS` to completion; a run past the timeout is killed and fails the test.</summary>
    public static ProcessResult Run(IEnumerable<string> args, string? workingDirectory = null, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        using AemnistProcess process = Start(args, workingDirectory, environment);
        return process.WaitForExit(timeout ?? DefaultTimeout);
    }

    public static ProcessResult Run(params string[] args) => Run(args, null);

    /// <summary>
    /// Starts `aemnist ARGS` with SIGINT at its default disposition (see <see cref="SignalDefaulting"/>) and
    /// <paramref name="environment"/> added to the inherited environment.
    /// </summary>
    public static AemnistProcess Start(IEnumerable<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        if (!File.Exists(DllPath)) throw new FileNotFoundException($"{DllPath} is missing; the Cli project's build output should be copied beside the tests");
        var info = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (SignalDefaulting is { } env)
        {
            info.FileName = env;
            info.ArgumentList.Add("--default-signal=INT");
            info.ArgumentList.Add(DotnetHost);
        }
        else
        {
            info.FileName = DotnetHost;
        }
        info.ArgumentList.Add(DllPath);
        foreach (string a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;

        var process = new Process { StartInfo = info };
        var child = new AemnistProcess(process);
        process.OutputDataReceived += (_, e) => child.Append(child._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(child._stderr, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    private void Append(StringBuilder target, string? line)
    {
        if (line is null) return;
        lock (_lock)
        {
            target.Append(line).Append('\n');
            _lines.Add(line);
            Monitor.PulseAll(_lock);
        }
    }

    public string Stdout { get { lock (_lock) return _stdout.ToString(); } }

    /// <summary>For a failed wait: whether the child still runs or how it ended, and everything it printed.</summary>
    public string Describe()
    {
        string state = _process.HasExited ? $"exited with code {_process.ExitCode}" : "still running";
        return $"{state} after {_clock.Elapsed.TotalSeconds:F1}s\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    public string Stderr { get { lock (_lock) return _stderr.ToString(); } }

    /// <summary>
    /// Waits until stdout or stderr holds a line for which <paramref name="match"/> is true. Returns false
    /// if the process exits or the timeout passes first.
    /// </summary>
    public bool WaitForLine(Func<string, bool> match, TimeSpan timeout)
    {
        timeout = Guard(timeout);
        var deadline = Stopwatch.StartNew();
        int seen = 0;
        bool Scan()
        {
            for (; seen < _lines.Count; seen++)
                if (match(_lines[seen])) return true;
            return false;
        }
        while (true)
        {
            lock (_lock)
                if (Scan()) return true;
            if (_process.HasExited)
            {
                // The process may exit before its last lines are read: drain the readers (outside the lock they need), then look again.
                _process.WaitForExit();
                lock (_lock) return Scan();
            }
            if (deadline.Elapsed >= timeout) return false;
            lock (_lock) Monitor.Wait(_lock, TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>
    /// Sends SIGINT, as Ctrl-C in a terminal does, and returns "SIGINT". Where the child inherited SIGINT as
    /// ignored and it could not be reset (no `env --default-signal`), sends SIGTERM instead, which aemnist
    /// handles the same way, and returns "SIGTERM".
    /// </summary>
    public string Interrupt()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            throw new PlatformNotSupportedException("signals need a POSIX system");
        (int signal, string name) = IgnoresSigInt() ? (SigTerm, "SIGTERM") : (SigInt, "SIGINT");
        if (Kill(_process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, {name}) failed with errno {Marshal.GetLastPInvokeError()}");
        return name;
    }

    /// <summary>Whether the child ignores SIGINT (Linux only: read from /proc; false where unknown).</summary>
    public bool IgnoresSigInt()
    {
        string status = $"/proc/{_process.Id}/status";
        if (!File.Exists(status)) return false;
        string? line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << (SigInt - 1))) != 0;
    }

    public ProcessResult WaitForExit(TimeSpan timeout)
    {
        timeout = Guard(timeout);
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
            Assert.Fail($"aemnist did not finish within {timeout.TotalSeconds:F0}s and was killed.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        _process.WaitForExit(); // drains the asynchronous output readers
        return new ProcessResult(_process.ExitCode, Stdout, Stderr, _clock.Elapsed);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }

    /// <summary>The shell words that run aemnist: the dotnet host and the program's dll, quoted for sh.</summary>
    public static string ShellCommand => $"'{DotnetHost}' '{DllPath}'";

    /// <summary>The `dotnet` host running these tests (the SDK names it in DOTNET_HOST_PATH), else `dotnet` from PATH.</summary>
    private static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
        : "dotnet";

    /// <summary>
    /// `env` when it can reset SIGINT to its default (coreutils 8.31+), else null. A process started from a
    /// non-interactive shell's background job inherits SIGINT as ignored, and .NET, like Python, then leaves
    /// it ignored; resetting it makes the interruption tests independent of how the test run was started.
    /// </summary>
    private static readonly string? SignalDefaulting = FindSignalDefaultingEnv();

    private static string? FindSignalDefaultingEnv()
    {
        if (!OperatingSystem.IsLinux()) return null;
        foreach (string env in new[] { "/usr/bin/env", "/bin/env" })
        {
            if (!File.Exists(env)) continue;
            try
            {
                using var probe = Process.Start(new ProcessStartInfo(env, ["--default-signal=INT", "true"])
                {
                    UseShellExecute = false,
                    RedirectStandardError = true,
                    RedirectStandardOutput = true,
                })!;
                probe.WaitForExit();
                if (probe.ExitCode == 0) return env;
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        return null;
    }

    private const int SigInt = 2, SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
