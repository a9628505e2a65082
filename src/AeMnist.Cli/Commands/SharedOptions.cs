// Options that several commands share, declared once so their names, defaults and descriptions cannot drift apart
// between commands. The rest of SharedOptions is in Cli/Options: numbers (one strict parser), paths (and options that
// cannot apply), the compute, split, data and score options.
using System.CommandLine;
using System.Globalization;

namespace AeMnist.Cli.Commands;

internal static partial class SharedOptions
{
    public static Option<string?> Data() => PathOption(new Option<string?>("--data")
    {
        Description = "Directory with the four MNIST IDX files, raw or .gz [default: the run's recorded data, else the shipped data/mnist]",
        HelpName = "DIR",
    });

    public static Option<string> RunsDir() => PathOption(new Option<string>("--runs-dir")
    {
        Description = "Directory that holds run directories",
        DefaultValueFactory = _ => "runs",
        HelpName = "DIR",
    });

    public static Option<bool> Json() => new("--json") { Description = "Print one JSON object on stdout instead of tables" };

    /// <summary>--quiet; <paramref name="hasJson"/> says whether the command has --json (its help mentions it only then).</summary>
    public static Option<bool> Quiet(bool hasJson = false) => new("--quiet", "-q")
    {
        Description = hasJson ? "Print nothing but errors and warnings (and --json output)" : "Print nothing but errors and warnings",
    };

    public static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}

