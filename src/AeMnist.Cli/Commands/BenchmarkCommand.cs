// `aemnist benchmark`: the one-class MNIST benchmark in one command: a grid of model configurations × normal digits ×
// seeds, each cell trained and scored with every --score, resumable, cells in parallel; prints the AUROC table beside
// the published rows and writes it as Markdown, CSV, JSON and HTML. --min-mean-auroc makes it a CI gate (exit 3).
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using AeMnist.Benchmarking;
using AeMnist.Data;
using AeMnist.Engines;
using AeMnist.Models;
using AeMnist.Runs;
using AeMnist.Scoring;

namespace AeMnist.Cli.Commands;

internal static class BenchmarkCommand
{
    public static readonly string[] DefaultModels = ["bottleneck", "dense"];

    public static Command Build()
    {
        var models = new Option<string[]>("--model")
        {
            Description = "A model configuration NAME[:KEY=VALUE...] (repeat for several), e.g. bottleneck:latent=32:epochs=60; KEY is an architecture option " +
                $"or epochs, lr, lr-schedule, batch-size, weight-decay, noise, validation, eval-every, patience, keep. Models: {Architectures.Names} [default: {string.Join(" and ", DefaultModels)}]",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "NAME[:KEY=VALUE...]",
        };
        var digits = new Option<string>("--digits") { Description = "Normal digits, e.g. 0-9 or 2,5,8", DefaultValueFactory = _ => "0-9", HelpName = "DIGITS" };
        var seeds = new Option<string>("--seeds") { Description = "Seeds, e.g. 1,2,3 or 1-3", DefaultValueFactory = _ => "1,2,3", HelpName = "SEEDS" };
        var scores = new Option<string>("--score")
        {
            Description = $"Scores to evaluate every cell with, comma-separated: {string.Join(", ", Scores.All.Select(Scores.Name))}",
            DefaultValueFactory = _ => string.Join(",", Scores.All.Select(Scores.Name)),
            HelpName = "SCORES",
        };
        var protocol = new Option<string>("--protocol") { Description = "one-class (the literature's), development (the same inside the training file: for choosing a recipe without the test file) or seed", DefaultValueFactory = _ => "one-class", HelpName = "seed|one-class|development" };
        var output = SharedOptions.PathOption(new Option<string>("--output", "-o") { Description = "Directory of the cells and the tables; an existing one is continued", DefaultValueFactory = _ => Path.Combine("benchmarks", "one-class"), HelpName = "DIR" });
        var threads = SharedOptions.Int("--threads", "Engine threads per cell", 1);
        var parallel = SharedOptions.OptionalInt("--parallel", "Cells trained at once [default: cores / --threads]");
        var minMean = SharedOptions.OptionalDouble("--min-mean-auroc", "Exit with code 3 unless the best row's mean AUROC (a fraction, 0.985 for 98.5 %) is at least X", "X");
        var noTrain = new Option<bool>("--no-train") { Description = "Only write the tables from the cells finished so far" };
        var data = SharedOptions.Data();
        var json = SharedOptions.Json();
        var quiet = SharedOptions.Quiet();
        var command = new Command("benchmark", "Run the one-class MNIST benchmark: models × digits × seeds, AUROC per digit beside published results")
        {
            models, digits, seeds, scores, protocol, output, threads, parallel, minMean, noTrain, data, json, quiet,
        };

        command.SetAction(parse =>
        {
            string[] given = parse.GetValue(models) is { Length: > 0 } m ? m : DefaultModels;
            BenchmarkModel[] configurations;
            try { configurations = [.. given.Select(BenchmarkModel.Parse)]; }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            if (configurations.Select(c => c.Slug).Distinct().Count() != configurations.Length)
                throw new UsageException("two --model configurations are the same; give each once");
            ScoreKind[] scoreKinds;
            try { scoreKinds = [.. parse.GetValue(scores)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(Scores.Parse).Distinct()]; }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            if (scoreKinds.Length == 0) throw new UsageException("--score needs at least one score");
            if (!SplitOptions.TryParseProtocol(parse.GetValue(protocol)!, out SplitProtocol splitProtocol))
                throw new UsageException($"--protocol '{parse.GetValue(protocol)}' is not a protocol; use {SplitOptions.ProtocolNames}");
            int[] digitList;
            ulong[] seedList;
            try
            {
                digitList = BenchmarkGrid.ParseDigits(parse.GetValue(digits)!);
                seedList = BenchmarkGrid.ParseSeeds(parse.GetValue(seeds)!);
            }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            int threadCount = parse.GetValue(threads);
            if (threadCount < 1 || threadCount > ComputeOptions.MaxThreads) throw new UsageException($"--threads must be 1-{ComputeOptions.MaxThreads}, got {threadCount}");
            int parallelCount = parse.GetValue(parallel) ?? Math.Max(1, Environment.ProcessorCount / threadCount);
            if (parallelCount < 1 || parallelCount > 64) throw new UsageException($"--parallel must be 1-64, got {parallelCount}");
            double? gate = parse.GetValue(minMean);
            if (gate is { } g && !(g >= 0 && g <= 1)) throw new UsageException($"--min-mean-auroc {g} must be a fraction in [0, 1] (0.985 for 98.5 %)");
            var grid = new BenchmarkGrid(configurations, digitList, seedList, scoreKinds, splitProtocol, parse.GetValue(output)!);
            bool asJson = parse.GetValue(json), isQuiet = parse.GetValue(quiet) || asJson;
            var stdout = parse.InvocationConfiguration.Output;
            int total = grid.Cells.Count();
            string commandLine = "aemnist benchmark " + string.Join(' ', parse.Tokens.Select(t => t.Value.Contains(' ') ? $"'{t.Value}'" : t.Value)).Replace("benchmark ", "", StringComparison.Ordinal);
            commandLine = commandLine.TrimEnd();

            var clock = Stopwatch.StartNew();
            IReadOnlyList<CellResult> results;
            bool interrupted = false;
            if (parse.GetValue(noTrain))
            {
                SharedOptions.RejectGiven(parse, [data, threads, parallel], "--no-train trains nothing; it only rewrites the tables from the finished cells");
                results = BenchmarkRunner.Finished(grid);
            }
            else
            {
                Dataset mnist = SharedOptions.LoadData(parse.GetValue(data));
                if (!isQuiet)
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"Benchmark: {configurations.Length} model(s) x {digitList.Length} digit(s) x {seedList.Length} seed(s) = {total} cells, {parallelCount} at a time on {threadCount} thread(s) each, into {Path.GetFullPath(grid.OutputDirectory)}"));
                using var stop = new CancellationTokenSource();
                ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
                Console.CancelKeyPress += onCancel;
                using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
                try
                {
                    results = BenchmarkRunner.Run(grid, mnist, App.Engines, threadCount, parallelCount, (r, done, all) =>
                    {
                        if (isQuiet) return;
                        string aurocs = string.Join(" ", r.Auroc.Select(p => string.Create(CultureInfo.InvariantCulture, $"{Scores.Name(p.Key)} {100 * p.Value:F2}")));
                        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"[{done}/{all}] {r.Cell}: AUROC {aurocs}{(r.Reused ? " (finished earlier)" : $" ({r.TrainSeconds:F1} s, {r.Epochs} epochs, best {r.BestEpoch})")}{(r.ConstantOutput ? " CONSTANT OUTPUT (collapsed)" : "")}"));
                    }, stop.Token);
                }
                finally { Console.CancelKeyPress -= onCancel; }
                interrupted = stop.IsCancellationRequested && results.Count < total;
            }
            IReadOnlyList<string> written = BenchmarkReport.WriteAll(grid, results, clock.Elapsed.TotalSeconds, commandLine);
            IReadOnlyList<BenchmarkRow> rows = BenchmarkReport.Rows(grid, results);
            if (asJson) stdout.WriteLine(BenchmarkReport.Json(grid, rows, results, clock.Elapsed.TotalSeconds).ToJsonString(RunRecord.JsonOptions));
            else if (!parse.GetValue(quiet))
            {
                stdout.WriteLine();
                stdout.Write(BenchmarkReport.TerminalTable(grid, rows));
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{results.Count} of {total} cells finished; wall time {clock.Elapsed.TotalSeconds:F0} s. Wrote {string.Join(", ", written.Select(Path.GetFileName))} in {grid.OutputDirectory}"));
            }
            if (interrupted)
                throw new CliExitException(ExitCodes.Interrupted, $"interrupted with {results.Count} of {total} cells finished; run the same command again to continue");
            if (gate is { } min)
            {
                BenchmarkRow? best = BenchmarkReport.Best(rows);
                if (results.Count < total)
                    throw new CliExitException(ExitCodes.QualityGate, $"quality gate not met: only {results.Count} of {total} cells are finished");
                if (best is null || !(best.Mean / 100 >= min))
                    throw new CliExitException(ExitCodes.QualityGate, string.Create(CultureInfo.InvariantCulture,
                        $"quality gate not met: the best mean AUROC {(best is null ? "none" : (best.Mean / 100).ToString("F4", CultureInfo.InvariantCulture))} is below --min-mean-auroc {min}"));
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
