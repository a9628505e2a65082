using System.CommandLine;
using System.Globalization;
using AeMnist.Cli.Commands;
using CsCheck;

namespace AeMnist.Cli.Tests;

/// <summary>
/// The rules every option keeps (issue 12): numbers are read one strict way whatever the locale (a decimal comma or a
/// group separator is an error, never 2 or 1000), a token that looks like an option is never taken as a path, help
/// helps (`help CMD`, "did you mean", no options a command lacks), and names are anchored.
/// </summary>
public sealed class OptionRulesTests
{
    private const string Seed = "0N0XIzNsQ0O2";

    /// <summary>Every numeric option of every command: its command and name.</summary>
    public static TheoryData<string, string> NumericOptions()
    {
        var data = new TheoryData<string, string>();
        foreach (Command command in App.BuildRoot().Subcommands)
            foreach (Option option in command.Options)
            {
                Type t = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
                if (t == typeof(int) || t == typeof(double) || t == typeof(ulong) || t == typeof(long))
                    data.Add(command.Name, option.Name);
            }
        return data;
    }

    [Fact]
    public void Every_command_has_numeric_options_to_check()
    {
        // Guards the theory below: it must see the options of every command that has numbers.
        var commands = NumericOptions().Select(row => (string)row[0]).Distinct().ToArray();
        Assert.Equal(["train", "evaluate", "score", "report", "encode", "export", "benchmark"], commands);
        Assert.True(NumericOptions().Count() >= 25);
    }

    [Theory]
    [MemberData(nameof(NumericOptions))]
    public void A_decimal_comma_or_group_separator_is_an_error_in_every_numeric_option(string command, string option)
    {
        foreach (string text in new[] { "0,5", "1,000", "2,000,000", "1_000", "1 000" })
        {
            // For train, --epochs 0 keeps an old build that took the comma from training for minutes: it fails at once instead.
            string[] guard = command == "train" && option != "--epochs" ? ["--epochs", "0"] : [];
            bool hasRunsDir = App.BuildRoot().Subcommands.Single(c => c.Name == command).Options.Any(o => o.Name == "--runs-dir");
            string[] nowhere = hasRunsDir ? ["--runs-dir", Path.Combine(Path.GetTempPath(), "aemnist-never-created")] : ["--output", Path.Combine(Path.GetTempPath(), "aemnist-never-created")];
            CliResult result = CliRunner.Run([command, option, text, .. guard, .. nowhere]);
            Assert.True(result.ExitCode == 2, $"{command} {option} {text}: exit {result.ExitCode}\n{result.Stderr}");
            string line = result.Stderr.TrimEnd();
            Assert.StartsWith($"aemnist: {option} '{text}' is not ", line);
            Assert.DoesNotContain('\n', line);
            Assert.True(line.Contains("comma", StringComparison.Ordinal) || line.Contains("group separators", StringComparison.Ordinal), line);
        }
    }

    [Fact]
    public void A_decimal_comma_is_refused_under_a_German_locale_too()
    {
        // The real process, with every locale variable German and invariant globalization switched off where it can be.
        var german = new Dictionary<string, string>
        {
            ["LANG"] = "de_DE.UTF-8", ["LC_ALL"] = "de_DE.UTF-8", ["LC_NUMERIC"] = "de_DE.UTF-8", ["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "0",
        };
        using var scratch = new TempDirectory();
        foreach (string[] args in new[] { new[] { "evaluate", "--threshold", "0,02" }, ["train", "--lr", "0,001"], ["score", "--threshold", "0,5", "-i", "x.csv"] })
        {
            ProcessResult result = AemnistProcess.Run([.. args, "--runs-dir", scratch.File("runs")], scratch.Path, environment: german);
            Assert.True(result.ExitCode == 2, result.ToString());
            Assert.Contains("use a point for decimals", result.Stderr);
            Assert.Empty(scratch.Listing());
        }
        // And a point is a point there as well.
        ProcessResult ok = AemnistProcess.Run(["train", "--lr", "0.001", "--epochs", "0", "--runs-dir", scratch.File("runs")], scratch.Path, environment: german);
        Assert.Contains("--epochs must be positive, got 0", ok.Stderr);
    }

    [Fact]
    public void Doubles_written_invariantly_read_back_exactly()
    {
        Gen.Double.Where(double.IsFinite).Sample(d =>
            BitConverter.DoubleToInt64Bits(SharedOptions.Numbers.ParseDouble("--x", d.ToString("R", CultureInfo.InvariantCulture)))
            == BitConverter.DoubleToInt64Bits(d), seed: Seed, iter: 2000, threads: 1);
    }

    [Fact]
    public void Integers_written_invariantly_read_back_exactly()
    {
        Gen.Int.Sample(i => SharedOptions.Numbers.ParseInt("--x", i.ToString(CultureInfo.InvariantCulture)) == i, seed: Seed, iter: 2000, threads: 1);
        Gen.ULong.Sample(u => SharedOptions.Numbers.ParseULong("--x", u.ToString(CultureInfo.InvariantCulture)) == u, seed: Seed, iter: 2000, threads: 1);
    }

    [Fact]
    public void Any_text_with_a_comma_is_refused_by_every_number_parser()
    {
        Gen.Select(Gen.String[Gen.Char["0123456789.,-+eE "], 0, 12], Gen.Int[0, 12]).Select((s, at) => s.Insert(Math.Min(at, s.Length), ","))
            .Sample(text =>
            {
                Assert.Throws<FormatException>(() => SharedOptions.Numbers.ParseDouble("--x", text));
                Assert.Throws<FormatException>(() => SharedOptions.Numbers.ParseInt("--x", text));
                Assert.Throws<FormatException>(() => SharedOptions.Numbers.ParseULong("--x", text));
            }, seed: Seed, iter: 2000, threads: 1);
    }

    [Fact]
    public void Any_text_is_either_a_number_by_the_invariant_grammar_or_a_one_line_error_naming_the_option()
    {
        Gen.String[Gen.Char["0123456789.,-+eEaNIfinty_ '\u00a0\n\u001b"], 0, 16].Sample(text =>
        {
            try
            {
                double value = SharedOptions.Numbers.ParseDouble("--lr", text);
                // Accepted: exactly what the invariant culture reads, without thousands separators.
                Assert.True(double.IsNaN(value) || double.IsInfinity(value)
                    || value == double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture), text);
                Assert.DoesNotContain(',', text);
            }
            catch (FormatException e)
            {
                Assert.StartsWith("--lr ", e.Message);
                Assert.DoesNotContain('\n', e.Message);
                Assert.DoesNotContain('\u001b', e.Message);
            }
        }, seed: Seed, iter: 5000, threads: 1);
    }

    [Theory]
    [InlineData("score -i x.png --thresold 0.1", "'--thresold' looks like an option, not a path for --input; did you mean --threshold?")]
    [InlineData("report --compare runs/a --outptu x", "'--outptu' looks like an option, not a path for --compare; did you mean --output?")]
    [InlineData("score -i a.csv -o --quiet", "'--quiet' looks like an option")]
    [InlineData("train --data --epochs", "'--epochs' looks like an option, not a path for --data")]
    public void A_token_that_looks_like_an_option_is_never_a_path(string args, string message)
    {
        using var scratch = new TempDirectory();
        ProcessResult result = AemnistProcess.Run(args.Split(' '), scratch.Path);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("aemnist: " + message, result.Stderr);
        Assert.DoesNotContain("not found", result.Stderr);
        Assert.Empty(scratch.Listing());
    }

    [Theory]
    [InlineData("train --nromal 3", "'--nromal'; did you mean --normal?")]
    [InlineData("trian --normal 3", "'trian'; did you mean train?")]
    [InlineData("evaluate --treshold 0.1", "'--treshold'; did you mean --threshold?")]
    [InlineData("score --inptu x", "'--inptu'; did you mean --input?")]
    public void A_typo_gets_did_you_mean(string args, string expected)
    {
        CliResult result = CliRunner.Run(args.Split(' '));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr);
        Assert.DoesNotContain('\n', result.Stderr.TrimEnd());
    }

    [Fact]
    public void Help_of_a_command_is_also_help_CMD()
    {
        CliResult help = CliRunner.Run("help", "train"), direct = CliRunner.Run("train", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Equal(direct.Stdout, help.Stdout);
        Assert.Contains("--retry-collapsed", help.Stdout);
        Assert.Equal(0, CliRunner.Run("help").ExitCode);
        CliResult typo = CliRunner.Run("help", "trian");
        Assert.Equal(2, typo.ExitCode);
        Assert.Contains("did you mean train?", typo.Stderr);
    }

    [Theory]
    [InlineData("score")]
    [InlineData("report")]
    [InlineData("data")]
    public void Help_never_mentions_an_option_the_command_lacks(string command)
    {
        CliResult help = CliRunner.Run(command, "--help");
        Assert.Equal(0, help.ExitCode);
        bool hasJson = App.BuildRoot().Subcommands.Single(c => c.Name == command).Options.Any(o => o.Name == "--json");
        Assert.Equal(hasJson, help.Stdout.Contains("--json", StringComparison.Ordinal));
    }

    [Fact]
    public void Help_lists_the_values_of_options_with_choices()
    {
        foreach (string command in new[] { "train", "evaluate", "score", "report" })
        {
            string help = CliRunner.Run(command, "--help").Stdout;
            foreach (string text in new[] { "--engine <native|torch|ilgpu>", "--device <cpu|cuda|opencl>" })
                Assert.Contains(text, help);
            if (command != "score") Assert.Contains("--protocol <seed|one-class|development>", help);
            Assert.Contains("<" + string.Join("|", AeMnist.Models.Architectures.All.Select(a => a.Name)) + ">", help);
        }
    }

    [Theory]
    [InlineData("nl\n")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("a/b")]
    [InlineData("")]
    public void A_run_name_is_a_plain_name(string name)
    {
        using var scratch = new TempDirectory();
        CliResult result = CliRunner.Run("train", "--run-name", name, "--runs-dir", scratch.File("runs"), "--epochs", "1");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--run-name", result.Stderr);
        Assert.DoesNotContain('\n', result.Stderr.TrimEnd());
        Assert.Empty(scratch.Listing());
    }

    [Fact]
    public void Model_names_are_accepted_in_any_case()
    {
        using var scratch = new TempDirectory();
        CliResult result = CliRunner.Run("train", "--model", "Conv", "--epochs", "0", "--runs-dir", scratch.File("runs"));
        Assert.Contains("--epochs must be positive", result.Stderr);  // past --model: Conv was accepted
    }
}
