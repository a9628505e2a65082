// Runs a benchmark grid: every cell is an ordinary run directory (DIR/cells/MODEL/dD-sS) trained by TrainJob, then
// its detector scores the test split with every requested score from one reconstruction pass; cell.json records the result. A cell with a cell.json made by
// the same configuration is never recomputed, an interrupted one resumes from its checkpoint, so a benchmark stopped
// with Ctrl-C (or killed) keeps what it finished and continues where it stopped. Cells run in parallel, each on its
// own engine threads.
using System.Globalization;
using System.Text.Json.Nodes;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.Evaluation;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Runs;
using AeMnist.Scoring;
using AeMnist.Training;

namespace AeMnist.Benchmarking;

/// <summary>A finished cell: AUROC per score, the AUROC of the normal digit against each other digit alone, timings.</summary>
public sealed record CellResult(
    BenchmarkCell Cell,
    IReadOnlyDictionary<ScoreKind, double> Auroc,
    IReadOnlyDictionary<ScoreKind, double[]> PairAuroc,
    double TrainSeconds,
    int Epochs,
    int BestEpoch,
    bool ConstantOutput,
    bool Reused);

public static class BenchmarkRunner
{
    public const string CellFileName = "cell.json";

    /// <summary>
    /// Runs every unfinished cell, <paramref name="parallel"/> at a time with <paramref name="threads"/> engine threads
    /// each. Returns the finished cells (all of them unless <paramref name="cancel"/> fired) in grid order.
    /// </summary>
    public static IReadOnlyList<CellResult> Run(BenchmarkGrid grid, Dataset data, EngineCatalog engines, int threads, int parallel,
        Action<CellResult, int, int>? onCell = null, CancellationToken cancel = default)
    {
        BenchmarkCell[] cells = [.. grid.Cells];
        var results = new CellResult?[cells.Length];
        int next = -1, done = 0;
        var gate = new object();
        void Worker()
        {
            for (int i; (i = Interlocked.Increment(ref next)) < cells.Length;)
            {
                if (cancel.IsCancellationRequested) return;
                CellResult? result = RunCell(grid, cells[i], data, engines, threads, cancel);
                if (result is null) continue;
                results[i] = result;
                lock (gate) onCell?.Invoke(result, ++done, cells.Length);
            }
        }
        Task[] workers = [.. Enumerable.Range(0, Math.Max(1, Math.Min(parallel, cells.Length))).Select(_ => Task.Factory.StartNew(Worker, TaskCreationOptions.LongRunning))];
        Task.WaitAll(workers);
        return [.. results.OfType<CellResult>()];
    }

    /// <summary>The cells of the grid that already have a cell.json from the same configuration (for a report without training).</summary>
    public static IReadOnlyList<CellResult> Finished(BenchmarkGrid grid) =>
        [.. grid.Cells.Select(c => TryRead(grid, c)).OfType<CellResult>()];

    private static string ModelDirectory(BenchmarkGrid grid, BenchmarkCell cell) => Path.Combine(grid.OutputDirectory, "cells", cell.Model.Slug);

    private static SplitOptions Split(BenchmarkGrid grid, BenchmarkCell cell) =>
        new(grid.Protocol, cell.Digit, Validation: cell.Model.Validation, Seed: cell.Seed);

    // null when interrupted.
    private static CellResult? RunCell(BenchmarkGrid grid, BenchmarkCell cell, Dataset data, EngineCatalog engines, int threads, CancellationToken cancel)
    {
        if (TryRead(grid, cell) is { } finished) return finished;
        string modelDirectory = ModelDirectory(grid, cell);
        var run = new RunDirectory(Path.Combine(modelDirectory, cell.Name));
        RunState state = run.State;
        if (state != RunState.Finished)
        {
            TrainOutcome outcome;
            if (state is RunState.Resumable or RunState.FinishedIncomplete)
            {
                using ResumableRun resumable = TrainJob.OpenResumable(run.Path);
                outcome = TrainJob.Resume(resumable, data, threads, engines, cancel: cancel);
            }
            else
            {
                if (Directory.Exists(run.Path)) Directory.Delete(run.Path, recursive: true);  // a cell killed before its first checkpoint
                var request = new TrainRequest(Split(grid, cell), cell.Model.Train, new ComputeOptions(Threads: threads), modelDirectory, cell.Name);
                outcome = TrainJob.Execute(request, data, engines, cancel: cancel);
            }
            if (outcome.Result.Reason == StopReason.Interrupted) return null;
        }
        return Evaluate(grid, cell, run, data, engines, threads);
    }

    private static CellResult Evaluate(BenchmarkGrid grid, BenchmarkCell cell, RunDirectory run, Dataset data, EngineCatalog engines, int threads)
    {
        using Detector detector = Detector.Load(run.ModelPath, null, engines, new ComputeOptions(Threads: threads));
        DataSplit split = Splitter.Split(data, Split(grid, cell));
        if (grid.Scores.Any(Scores.NeedsCalibration) && detector.Calibration is null)
        {
            // A cell trained with another score: the combined score learns its scale as train would, from the normal validation images.
            (int[] normals, string source) = EvaluateJob.CalibrationImages(data, split);
            detector.Calibrate(data.Gather(normals), normals.Length, source, i => data.Describe(normals[i]));
        }
        float[] pixels = data.Gather(split.Test);
        IReadOnlyDictionary<ScoreKind, float[]> scores = detector.Scores(pixels, split.Test.Length, grid.Scores, i => $"image {split.Test[i]}");
        byte[] labels = data.GatherLabels(split.Test);
        bool[] truth = Evaluator.IsAnomaly(labels, cell.Digit);
        var auroc = new Dictionary<ScoreKind, double>();
        var pairs = new Dictionary<ScoreKind, double[]>();
        foreach (ScoreKind score in grid.Scores)
        {
            auroc[score] = ScoreSteps.Build(scores[score], truth).Auroc();
            pairs[score] = PairAuroc(scores[score], labels, cell.Digit);
        }
        bool constant = detector.Metadata.Collapsed || detector.IsConstant(pixels, split.Test.Length);
        RunRecord record = run.ReadRecord() ?? throw new DataFormatException($"{run.RunPath}: the cell's run.json is missing; remove {run.Path} to train the cell again");
        var result = new CellResult(cell, auroc, pairs, record.TrainSeconds ?? double.NaN, record.EpochsRun ?? 0, record.BestEpoch ?? 0, constant, Reused: false);
        AtomicFile.WriteAllText(Path.Combine(run.Path, CellFileName), CellJson(grid, result).ToJsonString(RunRecord.JsonOptions));
        return result;
    }

    /// <summary>AUROC of the normal class against each other class alone (NaN at the normal class itself).</summary>
    public static double[] PairAuroc(float[] scores, byte[] labels, int normal)
    {
        var result = new double[10];
        for (int other = 0; other < 10; other++)
        {
            if (other == normal) { result[other] = double.NaN; continue; }
            int[] keep = [.. Enumerable.Range(0, labels.Length).Where(i => labels[i] == normal || labels[i] == other)];
            float[] kept = [.. keep.Select(i => scores[i])];
            bool[] truth = [.. keep.Select(i => labels[i] != normal)];
            result[other] = ScoreSteps.Build(kept, truth).Auroc();
        }
        return result;
    }

    private static JsonObject CellJson(BenchmarkGrid grid, CellResult r)
    {
        var auroc = new JsonObject();
        var pairs = new JsonObject();
        foreach ((ScoreKind score, double value) in r.Auroc)
        {
            auroc[Scores.Name(score)] = value;
            pairs[Scores.Name(score)] = new JsonArray([.. r.PairAuroc[score].Select(v => double.IsFinite(v) ? (JsonNode?)v : null)]);
        }
        return new JsonObject
        {
            ["format"] = "aemnist-benchmark-cell-1",
            ["model"] = r.Cell.Model.Text,
            ["configuration"] = r.Cell.Model.ToJson(),
            ["protocol"] = SplitOptions.ProtocolName(grid.Protocol),
            ["digit"] = r.Cell.Digit,
            ["seed"] = r.Cell.Seed,
            ["auroc"] = auroc,
            ["auroc_against_digit"] = pairs,
            ["train_seconds"] = double.IsFinite(r.TrainSeconds) ? r.TrainSeconds : null,
            ["epochs_run"] = r.Epochs,
            ["best_epoch"] = r.BestEpoch,
            ["constant_output"] = r.ConstantOutput,
            ["aemnist_version"] = ModelFile.ToolVersion,
        };
    }

    // A cell.json of this configuration and protocol holding every requested score, or null.
    private static CellResult? TryRead(BenchmarkGrid grid, BenchmarkCell cell)
    {
        string path = Path.Combine(ModelDirectory(grid, cell), cell.Name, CellFileName);
        if (!File.Exists(path)) return null;
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(path))!.AsObject(); }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException) { return null; }
        if (json["configuration"]?.ToJsonString() != cell.Model.ToJson().ToJsonString())
            throw new DataFormatException($"{path}: this cell was made by another configuration of '{cell.Model.Text}'; use another --output or remove the directory");
        if ((string?)json["protocol"] != SplitOptions.ProtocolName(grid.Protocol))
            throw new DataFormatException($"{path}: this cell was made with the {(string?)json["protocol"]} protocol; use another --output");
        // A cell.json that is damaged or from an older build is not a result: the cell is evaluated again from its model.
        static double? Number(JsonNode? node) => node is JsonValue v && v.TryGetValue(out double d) ? d : null;
        var auroc = new Dictionary<ScoreKind, double>();
        var pairs = new Dictionary<ScoreKind, double[]>();
        foreach (ScoreKind score in grid.Scores)
        {
            string name = Scores.Name(score);
            if (Number(json["auroc"]?[name]) is not { } value) return null;  // scored with fewer scores: evaluate again
            if (json["auroc_against_digit"]?[name] is not JsonArray against || against.Count != 10) return null;
            auroc[score] = value;
            pairs[score] = [.. against.Select(v => Number(v) ?? double.NaN)];
        }
        if (Number(json["epochs_run"]) is not { } epochs || Number(json["best_epoch"]) is not { } best
            || json["constant_output"] is not JsonValue constant || !constant.TryGetValue(out bool isConstant))
            return null;
        return new CellResult(cell, auroc, pairs, Number(json["train_seconds"]) ?? double.NaN, (int)epochs, (int)best, isConstant, Reused: true);
    }

}
