// Runs a benchmark grid: every cell is an ordinary run directory (DIR/cells/MODEL-HASH/CELL) trained by TrainJob, then
// its detector scores the test split with every requested score from one reconstruction pass; cell.json records the
// result with the cell's whole configuration and the data's checksum. A cell's files count only when they record
// exactly the cell's configuration (CellConfiguration): a cell.json of it is never recomputed, an interrupted run of it
// resumes from its checkpoint, and files of any other configuration are set aside and the cell trained from scratch
// (files made from other data stop the benchmark before anything trains). So a benchmark stopped with Ctrl-C (or
// killed) keeps what it finished and continues where it stopped. A run that diverged or collapsed is recorded as such,
// never as an AUROC. Cells run in parallel, each on its own engine threads; the first error stops the others and
// reaches the caller as itself.
using System.Runtime.ExceptionServices;
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

public static class BenchmarkRunner
{
    public const string CellFileName = "cell.json";

    /// <summary>
    /// Checks that every cell can run before any trains (its split, its model for the data's images, the memory it
    /// needs, and that the cells already in the output directory were made from this data), then runs every unfinished
    /// cell, <paramref name="parallel"/> at a time with <paramref name="threads"/> engine threads each. Returns the cells
    /// that ran to their end (all of them unless <paramref name="cancel"/> fired) in grid order. The first cell that
    /// fails stops the others (they keep their checkpoints) and its exception is thrown as it was.
    /// </summary>
    public static IReadOnlyList<CellResult> Run(BenchmarkGrid grid, Dataset data, EngineCatalog engines, int threads, int parallel,
        Action<CellResult, int, int>? onCell = null, CancellationToken cancel = default, Action<string>? onNote = null)
    {
        if (data.Sha256 != grid.Data.Sha256) throw new ArgumentException("the grid was made for other data", nameof(data));
        BenchmarkCell[] cells = [.. grid.Cells];
        Check(grid, data, threads);
        CheckData(grid);
        var results = new CellResult?[cells.Length];
        int next = -1, done = 0;
        var gate = new object();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        ExceptionDispatchInfo? failure = null;
        void Worker()
        {
            try
            {
                for (int i; (i = Interlocked.Increment(ref next)) < cells.Length;)
                {
                    if (stop.IsCancellationRequested) return;
                    CellResult? result = RunCell(grid, cells[i], data, engines, threads, stop.Token, note => { lock (gate) onNote?.Invoke(note); });
                    if (result is null) continue;
                    results[i] = result;
                    lock (gate) onCell?.Invoke(result, ++done, cells.Length);
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
                stop.Cancel();
            }
        }
        Task[] workers = [.. Enumerable.Range(0, Math.Max(1, Math.Min(parallel, cells.Length))).Select(_ => Task.Factory.StartNew(Worker, TaskCreationOptions.LongRunning))];
        Task.WaitAll(workers);
        failure?.Throw();
        return [.. results.OfType<CellResult>()];
    }

    /// <summary>The cells of the grid that already have a cell.json of exactly their configuration (for a report without training).</summary>
    public static IReadOnlyList<CellResult> Finished(BenchmarkGrid grid)
    {
        CheckData(grid);
        return [.. grid.Cells.Select(c => CellFile.TryRead(Path.Combine(CellDirectory(grid, c), CellFileName), grid, c, Expected(grid, c))).OfType<CellResult>()];
    }

    /// <summary>The directory of a cell: DIR/cells/MODEL-HASH/CELL.</summary>
    public static string CellDirectory(BenchmarkGrid grid, BenchmarkCell cell) => Path.Combine(ModelDirectory(grid, cell), cell.Name);

    private static string ModelDirectory(BenchmarkGrid grid, BenchmarkCell cell) => Path.Combine(grid.OutputDirectory, "cells", grid.ModelDirectoryName(cell.Model));

    private static TrainRequest Request(BenchmarkGrid grid, BenchmarkCell cell, int threads) =>
        CellConfiguration.Request(grid, cell, ModelDirectory(grid, cell), threads);

    private static JsonObject Expected(BenchmarkGrid grid, BenchmarkCell cell) => CellConfiguration.Of(Request(grid, cell, 1), grid.Data.Sha256);

    // Every cell's configuration can run on this data: the model takes its images, its split exists and has both normal
    // and anomalous test images, its training fits in memory. A cell that cannot is an ArgumentException (a usage error).
    private static void Check(BenchmarkGrid grid, Dataset data, int threads)
    {
        if (data.ClassNames.Count < 2)
            throw new DataFormatException($"{grid.Data.Path}: has one class only ({MessageText.Quote(data.ClassNames[0], 40)}); the benchmark needs two or more (each in turn normal, the others anomalies)");
        foreach (BenchmarkModel model in grid.Models)
        {
            TrainOptions train = model.Train with { Image = data.Shape == Tensors.ImageShape.Mnist ? null : data.Shape };
            try { train.Validate(); }
            catch (ArgumentException e) { throw new ArgumentException($"--model '{model.Text}' cannot run on {data.Shape} images: {e.Message}"); }
        }
        foreach (BenchmarkCell cell in grid.Cells)
        {
            TrainRequest request = Request(grid, cell, threads);
            DataSplit split;
            try { split = Splitter.Split(data, request.Split); }
            catch (ArgumentException e) { throw new ArgumentException($"{cell}: {e.Message}"); }
            byte[] labels = data.GatherLabels(split.Test);
            if (!labels.Contains((byte)cell.Class) || labels.All(l => l == cell.Class))
                throw new DataFormatException($"{cell}: the test split has {(labels.Contains((byte)cell.Class) ? "no images of the other " + (data.Source.IsMnist ? "digits" : "classes") : $"no images of {data.ClassNoun} {MessageText.Quote(cell.ClassName, 40)}")}, so no AUROC can be measured; choose other --classes (or give the data a test part with both)");
            TrainingMemory.Check(request.Train.Spec(), request.Train, split, threads);
        }
    }

    // Cells already in the output directory made from other data stop the benchmark before anything trains: its
    // tables would mix two datasets, and retraining would throw away the other data's results.
    private static void CheckData(BenchmarkGrid grid)
    {
        foreach (BenchmarkCell cell in grid.Cells)
        {
            string directory = CellDirectory(grid, cell);
            if (!Directory.Exists(directory)) continue;
            string? recorded = RecordedData(directory, out string? where);
            if (recorded is not null && recorded != grid.Data.Sha256)
                throw new DataFormatException($"{directory}: this cell was made from other data ({(where is { Length: > 0 } ? MessageText.Quote(where, 80) + ", " : "")}sha256 {recorded[..Math.Min(12, recorded.Length)]}...), not {grid.Data.Path} (sha256 {grid.Data.Sha256[..12]}...); use another --output for this data");
        }
    }

    // The data checksum a cell's files record (cell.json, else the checkpoint, else run.json), or null.
    private static string? RecordedData(string directory, out string? where)
    {
        where = null;
        try
        {
            string cellFile = Path.Combine(directory, CellFileName);
            if (File.Exists(cellFile) && JsonNode.Parse(File.ReadAllText(cellFile)) is JsonObject cellJson && cellJson["data"] is JsonObject d
                && d["sha256"] is JsonValue sha && sha.TryGetValue(out string? s))
            {
                where = d["path"] is JsonValue p && p.TryGetValue(out string? path) ? path : null;
                return s;
            }
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or IOException or UnauthorizedAccessException) { }
        var run = new RunDirectory(directory);
        if (File.Exists(run.CheckpointPath) && CellConfiguration.CheckpointRequest(run.CheckpointPath) is { Data: { } data })
        {
            where = data.Directory;
            return data.Sha256;
        }
        if (run.ReadRecordOrNull() is { Data: { Sha256.Length: > 0 } recorded })
        {
            where = recorded.Directory;
            return recorded.Sha256;
        }
        return null;
    }

    private static RunRecord? ReadRecordOrNull(this RunDirectory run)
    {
        try { return run.ReadRecord(); }
        catch (DataFormatException) { return null; }
    }

    // null when interrupted.
    private static CellResult? RunCell(BenchmarkGrid grid, BenchmarkCell cell, Dataset data, EngineCatalog engines, int threads, CancellationToken cancel, Action<string>? onNote)
    {
        JsonObject expected = Expected(grid, cell);
        if (CellFile.TryRead(Path.Combine(CellDirectory(grid, cell), CellFileName), grid, cell, expected) is { } finished) return finished;
        string modelDirectory = ModelDirectory(grid, cell);
        var run = new RunDirectory(Path.Combine(modelDirectory, cell.Name));
        RunState state = run.State;
        // Files of another configuration (a checkpoint or a finished run) are not this cell's: trained again from scratch.
        JsonObject? made = state switch
        {
            RunState.Resumable or RunState.FinishedIncomplete => CellConfiguration.FromCheckpoint(run.CheckpointPath),
            RunState.Finished => CellConfiguration.FromRunJson(run.RunPath),
            _ => null,
        };
        if (state != RunState.NotARun && !CellConfiguration.Same(made, expected))
        {
            if (run.IsLocked) throw new DataFormatException($"{run.Path}: another aemnist process is training this cell; wait for it to finish (or stop it) first");
            onNote?.Invoke($"{cell}: {run.Path} holds a run of another configuration ({CellConfiguration.Difference(expected, made)}); training the cell again from scratch");
            state = RunState.NotARun;
        }
        if (state != RunState.Finished)
        {
            TrainOutcome outcome;
            if (state is RunState.Resumable or RunState.FinishedIncomplete)
            {
                using ResumableRun resumable = TrainJob.OpenResumable(run.Path);
                // Read again under the lock: another process may have changed it meanwhile.
                if (!CellConfiguration.Same(CellConfiguration.Of(resumable.Contents.Request, resumable.Contents.Request.Data?.Sha256), expected))
                    throw new DataFormatException($"{run.Path}: the cell's checkpoint changed while it was being opened; run the benchmark again");
                outcome = TrainJob.Resume(resumable, data, threads, engines, cancel: cancel);
            }
            else
            {
                if (Directory.Exists(run.Path)) Directory.Delete(run.Path, recursive: true);  // a cell killed before its first checkpoint, or of another configuration
                outcome = TrainJob.Execute(Request(grid, cell, threads), data, engines, cancel: cancel);
            }
            if (outcome.Result.Reason == StopReason.Interrupted) return null;
        }
        return Evaluate(grid, cell, run, data, engines, threads, expected);
    }

    private static CellResult Evaluate(BenchmarkGrid grid, BenchmarkCell cell, RunDirectory run, Dataset data, EngineCatalog engines, int threads, JsonObject expected)
    {
        RunRecord record = run.ReadRecord() ?? throw new DataFormatException($"{run.RunPath}: the cell's run.json is missing; remove {run.Path} to train the cell again");
        var auroc = new Dictionary<ScoreKind, double>();
        var pairs = new Dictionary<ScoreKind, double[]>();
        CellStatus status = CellStatus.Finished;
        string? message = null;
        bool constant = false;
        if (record.Status == RunRecord.StatusName(StopReason.Diverged))
        {
            status = CellStatus.Diverged;
            message = RecordedMessage(run.RunPath) ?? "the training loss became NaN or infinite";
        }
        else
        {
            using Detector detector = Detector.Load(run.ModelPath, null, engines, new ComputeOptions(Threads: threads));
            DataSplit split = Splitter.Split(data, Request(grid, cell, threads).Split);
            if (grid.Scores.Any(Scores.NeedsCalibration) && detector.Calibration is null)
            {
                // A cell trained with another score: the combined score learns its scale as train would, from the normal validation images.
                (int[] normals, string source) = EvaluateJob.CalibrationImages(data, split);
                detector.Calibrate(data.Gather(normals), normals.Length, source, i => data.Describe(normals[i]));
            }
            float[] pixels = data.Gather(split.Test);
            constant = detector.Metadata.Collapsed || record.Collapsed || detector.IsConstant(pixels, split.Test.Length);
            if (constant)
            {
                status = CellStatus.Collapsed;
                message = "the model reconstructs every image as the same image";
            }
            else
            {
                IReadOnlyDictionary<ScoreKind, float[]>? scores = null;
                try { scores = detector.Scores(pixels, split.Test.Length, grid.Scores, i => data.Describe(split.Test[i])); }
                catch (DataFormatException e)
                {
                    status = CellStatus.Diverged;
                    message = e.Message;
                }
                if (scores is not null)
                {
                    byte[] labels = data.GatherLabels(split.Test);
                    bool[] truth = Evaluator.IsAnomaly(labels, cell.Class);
                    foreach (ScoreKind score in grid.Scores)
                    {
                        auroc[score] = ScoreSteps.Build(scores[score], truth).Auroc();
                        pairs[score] = PairAuroc(scores[score], labels, cell.Class, data.ClassNames.Count);
                    }
                }
            }
        }
        var result = new CellResult(cell, auroc, pairs, record.TrainSeconds ?? double.NaN, record.EpochsRun ?? 0, record.BestEpoch ?? 0, constant, Reused: false)
        {
            Status = status,
            Message = message,
        };
        AtomicFile.WriteAllText(Path.Combine(run.Path, CellFileName), CellFile.Json(grid, result, expected).ToJsonString(RunRecord.JsonOptions));
        return result;
    }

    // run.json's result.message (why training stopped), or null.
    private static string? RecordedMessage(string runJson)
    {
        try { return JsonNode.Parse(File.ReadAllText(runJson))?["result"]?["message"] is JsonValue v && v.TryGetValue(out string? m) ? m : null; }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>AUROC of the normal class against each other class alone (NaN at the normal class itself, and for a class with no test images).</summary>
    public static double[] PairAuroc(float[] scores, byte[] labels, int normal, int classes = 10)
    {
        var result = new double[classes];
        for (int other = 0; other < classes; other++)
        {
            if (other == normal) { result[other] = double.NaN; continue; }
            int[] keep = [.. Enumerable.Range(0, labels.Length).Where(i => labels[i] == normal || labels[i] == other)];
            float[] kept = [.. keep.Select(i => scores[i])];
            bool[] truth = [.. keep.Select(i => labels[i] != normal)];
            result[other] = ScoreSteps.Build(kept, truth).Auroc();
        }
        return result;
    }
}
