// `aemnist benchmark`: the one-class benchmark in one command, on MNIST (the default) or any labelled dataset (--data):
// a grid of model configurations × normal classes × seeds, each cell trained and scored with every --score, resumable,
// cells in parallel; prints the AUROC table (for MNIST's one-class protocol beside the published rows) and writes it as
// Markdown, CSV, JSON and HTML. --min-mean-auroc makes it a CI gate (exit 3).
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
        var classes = new Option<string?>("--classes")
        {
            Description = "Normal classes, each in turn: names (a class folder's name, exactly or ignoring case) or numbers, and ranges of numbers, comma-separated, e.g. 0-9, good,scratch or all [default: every class with training images]",
            HelpName = "CLASSES",
        };
        var digits = new Option<string?>("--digits") { Description = "MNIST's normal digits, e.g. 0-9 or 2,5,8 (--classes for MNIST) [default: 0-9]", HelpName = "DIGITS" };
        var seeds = new Option<string>("--seeds") { Description = $"Seeds 0-18446744073709551615, e.g. 1,2,3 or 1-3 (at most {BenchmarkGrid.MaxSeeds})", DefaultValueFactory = _ => "1,2,3", HelpName = "SEEDS" };
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
        var minMean = SharedOptions.OptionalDouble("--min-mean-auroc", "Exit with code 3 unless every cell finished (none diverged or collapsed) and the best row's mean AUROC (a fraction, 0.985 for 98.5 %) is at least X", "X");
        var noTrain = new Option<bool>("--no-train") { Description = "Only write the tables from the cells finished so far" };
        var data = SharedOptions.Data();
        data.Description = "The labelled dataset: mnist (the shipped MNIST), a directory of MNIST's IDX files, a folder of class folders (or MVTec AD's train/ and test/), a labelled CSV, an IDX image file with its labels, or a .npz with x and y; data without a test part holds 20% of each normal class out for testing [default: the shipped MNIST]";
        data.HelpName = "PATH";
        var rules = new SharedOptions.ImageRuleSet();
        var json = SharedOptions.Json();
        var quiet = SharedOptions.Quiet();
        var command = new Command("benchmark", "Run the one-class benchmark on a labelled dataset (MNIST by default): models x classes x seeds, AUROC per normal class (for MNIST beside published results)")
        {
            models, classes, digits, seeds, scores, protocol, output, threads, parallel, minMean, noTrain, data, json, quiet,
        };
        foreach (Option o in rules.All) command.Add(o);

        command.SetAction(parse =>
        {
            string[] given = parse.GetValue(models) is { Length: > 0 } m ? m : DefaultModels;
            BenchmarkModel[] configurations;
            try { configurations = [.. given.Select(BenchmarkModel.Parse)]; }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            for (int i = 0; i < configurations.Length; i++)
                for (int j = 0; j < i; j++)
                    if (configurations[i].ToJson().ToJsonString() == configurations[j].ToJson().ToJsonString())
                        throw new UsageException($"--model '{configurations[j].Text}' and '{configurations[i].Text}' are the same configuration; give each once");
            ScoreKind[] scoreKinds;
            try { scoreKinds = [.. parse.GetValue(scores)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(Scores.Parse).Distinct()]; }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            if (scoreKinds.Length == 0) throw new UsageException("--score needs at least one score");
            if (!SplitOptions.TryParseProtocol(parse.GetValue(protocol)!, out SplitProtocol splitProtocol))
                throw new UsageException($"--protocol '{parse.GetValue(protocol)}' is not a protocol; use {SplitOptions.ProtocolNames}");
            string? digitText = parse.GetValue(digits), classText = parse.GetValue(classes);
            if (digitText is not null && classText is not null) throw new UsageException("--digits and --classes name the same thing; give one (--classes)");
            int[]? digitList = null;
            ulong[] seedList;
            try
            {
                if (digitText is not null) digitList = BenchmarkGrid.ParseDigits(digitText);
                seedList = BenchmarkGrid.ParseSeeds(parse.GetValue(seeds)!);
            }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            int threadCount = parse.GetValue(threads);
            if (threadCount < 1 || threadCount > ComputeOptions.MaxThreads) throw new UsageException($"--threads must be 1-{ComputeOptions.MaxThreads}, got {threadCount}");
            int parallelCount = parse.GetValue(parallel) ?? Math.Max(1, Environment.ProcessorCount / threadCount);
            if (parallelCount < 1 || parallelCount > 64) throw new UsageException($"--parallel must be 1-64, got {parallelCount}");
            double? gate = parse.GetValue(minMean);
            if (gate is { } g && !(g >= 0 && g <= 1)) throw new UsageException($"--min-mean-auroc {g} must be a fraction in [0, 1] (0.985 for 98.5 %)");
            bool training = !parse.GetValue(noTrain);
            if (!training) SharedOptions.RejectGiven(parse, [threads, parallel], "--no-train trains nothing; it only rewrites the tables from the finished cells");
            ComputeOptions compute = training ? App.Engines.Validate(new ComputeOptions(Threads: threadCount)) : new ComputeOptions();
            ImageRules imageRules = rules.Read(parse);

            // The data, read and checked before anything is written: its classes name the grid's rows and cells.
            Dataset dataset = SharedOptions.LoadData(parse.GetValue(data), imageRules);
            var benchmarkData = BenchmarkData.Of(dataset, imageRules);
            int[] classList;
            try
            {
                if (digitList is not null && !dataset.Source.IsMnist)
                    throw new ArgumentException($"--digits names MNIST's digits; {benchmarkData.Path} has classes ({string.Join(", ", dataset.ClassNames.Take(8).Select(c => IO.MessageText.Quote(c, 30)))}{(dataset.ClassNames.Count > 8 ? ", ..." : "")}): use --classes");
                // By default every class with training images (MVTec AD's defects, only in test/, are never normal).
                classList = digitList ?? (classText is not null ? benchmarkData.ParseClasses(classText)
                    : [.. Enumerable.Range(0, dataset.ClassNames.Count).Where(c => dataset.Labels.AsSpan(0, dataset.TrainCount).Contains((byte)c))]);
            }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            var grid = new BenchmarkGrid(configurations, classList, seedList, scoreKinds, splitProtocol, parse.GetValue(output)!, benchmarkData, compute);
            bool asJson = parse.GetValue(json), isQuiet = parse.GetValue(quiet) || asJson;
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            int total = grid.Cells.Count();
            string commandLine = "aemnist benchmark " + string.Join(' ', parse.Tokens.Select(t => t.Value.Contains(' ') ? $"'{t.Value}'" : t.Value)).Replace("benchmark ", "", StringComparison.Ordinal);
            commandLine = commandLine.TrimEnd();
            string noun = dataset.Source.IsMnist ? "digit" : "class";

            var clock = Stopwatch.StartNew();
            IReadOnlyList<CellResult> results;
            bool interrupted = false;
            if (!training)
            {
                results = BenchmarkRunner.Finished(grid);
            }
            else
            {
                if (!isQuiet)
                {
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"Benchmark: {configurations.Length} model(s) x {classList.Length} {(noun == "digit" ? "digit(s)" : "class(es)")} x {seedList.Length} seed(s) = {total} cells, {parallelCount} at a time on {threadCount} thread(s) each, into {Path.GetFullPath(grid.OutputDirectory)}"));
                    stdout.WriteLine(BenchmarkReport.Description(grid)[0]);
                }
                using var stop = new CancellationTokenSource();
                ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
                Console.CancelKeyPress += onCancel;
                using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
                try
                {
                    results = BenchmarkRunner.Run(grid, dataset, App.Engines, threadCount, parallelCount, (r, done, all) =>
                    {
                        if (isQuiet) return;
                        string what = r.IsFinished
                            ? "AUROC " + string.Join(" ", r.Auroc.Select(p => string.Create(CultureInfo.InvariantCulture, $"{Scores.Name(p.Key)} {100 * p.Value:F2}")))
                            : $"{CellResult.StatusName(r.Status).ToUpperInvariant()}{(r.Message is { } why ? $" ({why})" : "")}, not counted";
                        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"[{done}/{all}] {r.Cell}: {what}{(r.Reused ? " (finished earlier)" : $" ({r.TrainSeconds:F1} s, {r.Epochs} epochs, best {r.BestEpoch})")}"));
                    }, stop.Token, note => stderr.WriteLine($"aemnist: note: {note}"));
                }
                finally { Console.CancelKeyPress -= onCancel; }
                interrupted = stop.IsCancellationRequested && results.Count < total;
            }
            IReadOnlyList<string> written = BenchmarkReport.WriteAll(grid, results, training ? clock.Elapsed.TotalSeconds : null, commandLine);
            IReadOnlyList<BenchmarkRow> rows = BenchmarkReport.Rows(grid, results);
            int finishedCount = results.Count(r => r.IsFinished);
            IReadOnlyList<string> notCounted = BenchmarkReport.NotCounted(results);
            if (asJson) stdout.WriteLine(BenchmarkReport.Json(grid, rows, results, clock.Elapsed.TotalSeconds).ToJsonString(RunRecord.JsonOptions));
            else if (!parse.GetValue(quiet))
            {
                stdout.WriteLine();
                stdout.Write(BenchmarkReport.TerminalTable(grid, rows));
                foreach (string line in BenchmarkReport.Description(grid).Skip(1)) stdout.WriteLine(line);
                foreach (string line in notCounted) stdout.WriteLine($"not counted: {line}");
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{finishedCount} of {total} cells finished{(notCounted.Count > 0 ? $" ({notCounted.Count} diverged or collapsed)" : "")}; {(training ? $"wall time {clock.Elapsed.TotalSeconds:F0} s" : "no cell ran (--no-train)")}. Wrote {string.Join(", ", written.Select(Path.GetFileName))} in {grid.OutputDirectory}"));
            }
            if (interrupted)
                throw new CliExitException(ExitCodes.Interrupted, $"interrupted with {results.Count} of {total} cells finished; run the same command again to continue");
            if (gate is { } min)
            {
                BenchmarkRow? best = BenchmarkReport.Best(rows);
                if (notCounted.Count > 0)
                    throw new CliExitException(ExitCodes.QualityGate, $"quality gate not met: {notCounted.Count} of {total} cells diverged or collapsed (first: {notCounted[0]})");
                if (finishedCount < total)
                    throw new CliExitException(ExitCodes.QualityGate, $"quality gate not met: only {finishedCount} of {total} cells are finished");
                if (best is null || !(best.Mean / 100 >= min))
                    throw new CliExitException(ExitCodes.QualityGate, string.Create(CultureInfo.InvariantCulture,
                        $"quality gate not met: the best mean AUROC {(best is null ? "none" : (best.Mean / 100).ToString("F4", CultureInfo.InvariantCulture))} is below --min-mean-auroc {min}"));
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
