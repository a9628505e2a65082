// The benchmark's cell rules on a tiny generated dataset of three classes (16x16, no test part, 1-2 epochs): a cell's
// number comes from a run of exactly its configuration (a checkpoint of another is trained again from scratch, one of
// its own resumes to the same bits), files made from other data stop it before anything trains, a diverged run is no
// AUROC and no part of a mean, nor is a collapsed one, and an error in one of several parallel cells reaches the
// caller as itself.
using AeMnist.Benchmarking;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Models;
using AeMnist.Runs;
using AeMnist.Scoring;
using AeMnist.Tensors;
using AeMnist.Training;

namespace AeMnist.Core.Tests.Benchmarking;

public sealed class BenchmarkRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aemnist-bench-core-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private const string Model = "dense:hidden=16,4:epochs=2:batch-size=8";

    /// <summary>
    /// Three classes of 16x16 gray images, no test part: class k is a bright bar at a place of its own (horizontal, vertical,
    /// diagonal), moved a little per image. <paramref name="variant"/> changes one pixel, so the checksum differs.
    /// </summary>
    internal static Dataset Shapes(int perClass = 20, int variant = 0)
    {
        const int size = 16;
        string[] names = ["bar", "column", "diagonal"];
        var bytes = new byte[names.Length * perClass * size * size];
        var labels = new byte[names.Length * perClass];
        var random = new Random(7);
        for (int k = 0; k < names.Length; k++)
            for (int i = 0; i < perClass; i++)
            {
                int n = k * perClass + i, shift = i % 5;
                labels[n] = (byte)k;
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                    {
                        bool on = k switch { 0 => Math.Abs(y - 5 - shift) < 2, 1 => Math.Abs(x - 5 - shift) < 2, _ => Math.Abs(x - y + shift - 2) < 2 };
                        bytes[n * size * size + y * size + x] = (byte)(on ? 200 + random.Next(50) : random.Next(30));
                    }
            }
        bytes[0] = (byte)(bytes[0] ^ variant);
        return new Dataset(bytes, labels, names, new ImageShape(1, size, size), labels.Length, new DataSource("image folder", "/shapes"));
    }

    private BenchmarkGrid Grid(Dataset data, string output, string model = Model, int[]? classes = null, ulong[]? seeds = null) =>
        new([BenchmarkModel.Parse(model)], classes ?? [0, 1, 2], seeds ?? [1UL], [ScoreKind.Mse], SplitProtocol.OneClass, Path.Combine(_dir, output), BenchmarkData.Of(data), new ComputeOptions());

    [Fact]
    public void An_interrupted_cell_resumes_only_from_a_checkpoint_of_exactly_its_configuration()
    {
        Dataset data = Shapes();
        BenchmarkGrid fresh = Grid(data, "fresh", classes: [1]);
        CellResult reference = Assert.Single(BenchmarkRunner.Run(fresh, data, NativeEngine.Catalog, 1, 1));
        Assert.Equal(CellStatus.Finished, reference.Status);

        // A checkpoint of another configuration (3 epochs, not 2) where the cell lives: trained again from scratch.
        BenchmarkGrid grid = Grid(data, "grid", classes: [1]);
        BenchmarkCell cell = Assert.Single(grid.Cells);
        string cellDirectory = BenchmarkRunner.CellDirectory(grid, cell);
        TrainRequest own = CellConfiguration.Request(grid, cell, Path.GetDirectoryName(cellDirectory)!, 1);
        Interrupt(own with { Train = own.Train with { Epochs = 3 } }, data);
        Assert.Equal(RunState.Resumable, new RunDirectory(cellDirectory).State);
        var notes = new List<string>();
        CellResult retrained = Assert.Single(BenchmarkRunner.Run(grid, data, NativeEngine.Catalog, 1, 1, onNote: notes.Add));
        Assert.Contains(notes, n => n.Contains("another configuration (train.epochs 3, not 2)", StringComparison.Ordinal));
        Assert.Equal(2, new RunDirectory(cellDirectory).ReadRecord()!.Options!.Epochs);
        Assert.Equal(reference.Auroc[ScoreKind.Mse], retrained.Auroc[ScoreKind.Mse]);

        // A checkpoint of its own configuration resumes, to the same bits as an uninterrupted run; no note.
        BenchmarkGrid again = Grid(data, "again", classes: [1]);
        BenchmarkCell same = Assert.Single(again.Cells);
        Interrupt(CellConfiguration.Request(again, same, Path.GetDirectoryName(BenchmarkRunner.CellDirectory(again, same))!, 1), data);
        notes.Clear();
        CellResult resumed = Assert.Single(BenchmarkRunner.Run(again, data, NativeEngine.Catalog, 1, 1, onNote: notes.Add));
        Assert.Empty(notes);
        Assert.Equal(reference.Auroc[ScoreKind.Mse], resumed.Auroc[ScoreKind.Mse]);

        // Checkpoints of another seed or data checksum are other configurations too.
        BenchmarkGrid third = Grid(data, "third", classes: [1]);
        BenchmarkCell thirdCell = Assert.Single(third.Cells);
        TrainRequest thirdOwn = CellConfiguration.Request(third, thirdCell, Path.GetDirectoryName(BenchmarkRunner.CellDirectory(third, thirdCell))!, 1);
        Interrupt(thirdOwn with { Split = thirdOwn.Split with { Seed = 2 } }, data);
        notes.Clear();
        Assert.Single(BenchmarkRunner.Run(third, data, NativeEngine.Catalog, 1, 1, onNote: notes.Add));
        Assert.Contains(notes, n => n.Contains("split.seed 2, not 1", StringComparison.Ordinal));
        Assert.Equal(1UL, new RunDirectory(BenchmarkRunner.CellDirectory(third, thirdCell)).ReadRecord()!.Seed);
    }

    // A run of the request stopped before its first batch: a directory with a checkpoint and nothing trained.
    private static void Interrupt(TrainRequest request, Dataset data)
    {
        using var stop = new CancellationTokenSource();
        stop.Cancel();
        TrainOutcome outcome = TrainJob.Execute(request, data, NativeEngine.Catalog, cancel: stop.Token);
        Assert.Equal(StopReason.Interrupted, outcome.Result.Reason);
    }

    [Fact]
    public void Cells_made_from_other_data_stop_the_benchmark_before_anything_trains()
    {
        Dataset data = Shapes();
        BenchmarkGrid grid = Grid(data, "mixed", classes: [0]);
        Assert.Single(BenchmarkRunner.Run(grid, data, NativeEngine.Catalog, 1, 1));
        Dataset other = Shapes(variant: 1);
        Assert.NotEqual(data.Sha256, other.Sha256);
        BenchmarkGrid otherGrid = Grid(other, "mixed", classes: [0, 1]);
        var e = Assert.Throws<DataFormatException>(() => BenchmarkRunner.Run(otherGrid, other, NativeEngine.Catalog, 1, 1));
        Assert.Contains("this cell was made from other data", e.Message);
        Assert.Contains("use another --output", e.Message);
        Assert.False(Directory.Exists(BenchmarkRunner.CellDirectory(otherGrid, otherGrid.Cells.Last())), "nothing trained");
        Assert.Throws<DataFormatException>(() => BenchmarkRunner.Finished(otherGrid));
    }

    [Fact]
    public void A_diverged_cell_is_no_auroc_and_no_part_of_a_mean()
    {
        Dataset data = Shapes();
        BenchmarkGrid grid = Grid(data, "diverged", model: "dense:hidden=16,4:epochs=2:batch-size=8:lr=1e30", classes: [0]);
        CellResult cell = Assert.Single(BenchmarkRunner.Run(grid, data, NativeEngine.Catalog, 1, 1));
        Assert.Equal(CellStatus.Diverged, cell.Status);
        Assert.Empty(cell.Auroc);
        Assert.Contains("loss became", cell.Message);
        BenchmarkRow row = Assert.Single(BenchmarkReport.Rows(grid, [cell]));
        Assert.Equal(0, row.Cells);
        Assert.Equal(1, row.Diverged);
        Assert.True(double.IsNaN(row.Mean));
        Assert.Null(BenchmarkReport.Best([row]));
        Assert.Contains("diverged", Assert.Single(BenchmarkReport.NotCounted([cell])));

        // Read back from its cell.json: still diverged, not a number.
        CellResult again = Assert.Single(BenchmarkRunner.Finished(grid));
        Assert.Equal(CellStatus.Diverged, again.Status);
        Assert.True(again.Reused);
    }

    [Fact]
    public void A_collapsed_cell_is_no_auroc_and_no_part_of_a_mean()
    {
        Dataset data = Shapes();
        BenchmarkGrid grid = Grid(data, "collapsed", classes: [0]);
        Assert.Equal(CellStatus.Finished, Assert.Single(BenchmarkRunner.Run(grid, data, NativeEngine.Catalog, 1, 1)).Status);
        // The cell's model made constant (its decoder's weights zero: every image reconstructs as the same image), its result gone.
        string cell = BenchmarkRunner.CellDirectory(grid, grid.Cells.Single());
        var (_, weights, metadata) = DetectorFile.Load(Path.Combine(cell, RunDirectory.ModelFileName));
        DetectorFile.Save(Path.Combine(cell, RunDirectory.ModelFileName),
            new StateDict(weights.Tensors.Select(t => t.Name.StartsWith("decoder", StringComparison.Ordinal) ? t with { Data = new float[t.Data.Length] } : t)), metadata);
        File.Delete(Path.Combine(cell, BenchmarkRunner.CellFileName));
        CellResult collapsed = Assert.Single(BenchmarkRunner.Run(grid, data, NativeEngine.Catalog, 1, 1));
        Assert.Equal(CellStatus.Collapsed, collapsed.Status);
        Assert.True(collapsed.ConstantOutput);
        Assert.Empty(collapsed.Auroc);
        BenchmarkRow row = Assert.Single(BenchmarkReport.Rows(grid, [collapsed]));
        Assert.Equal((0, 1), (row.Cells, row.Collapsed));
        Assert.True(double.IsNaN(row.Mean));
        Assert.Equal(CellStatus.Collapsed, Assert.Single(BenchmarkRunner.Finished(grid)).Status);
    }

    [Fact]
    public void A_configuration_that_cannot_run_is_refused_before_any_cell_trains()
    {
        Dataset data = Shapes(perClass: 3);  // 3 images: 20 % held out is one, and a validation split of 0.1 of two is none
        BenchmarkGrid grid = Grid(data, "refused", classes: [0, 1]);
        var e = Assert.Throws<ArgumentException>(() => BenchmarkRunner.Run(grid, data, NativeEngine.Catalog, 1, 1));
        Assert.Null(e.ParamName);
        Assert.Contains("seed 1", e.Message);
        Assert.False(Directory.Exists(grid.OutputDirectory));

        // The seed protocol's counts are the tutorial's: far more than these images.
        BenchmarkGrid seed = Grid(Shapes(), "seed") with { Protocol = SplitProtocol.Seed };
        Assert.Contains("--train-normal + --test-normal", Assert.Throws<ArgumentException>(() => BenchmarkRunner.Run(seed, Shapes(), NativeEngine.Catalog, 1, 1)).Message);
        Assert.False(Directory.Exists(seed.OutputDirectory));
    }

    [Fact]
    public void An_error_in_one_of_several_parallel_cells_reaches_the_caller_as_itself()
    {
        Dataset data = Shapes();
        BenchmarkGrid grid = Grid(data, "failing");
        int created = 0;
        var failing = new EngineCatalog([new EngineProvider(ComputeOptions.DefaultEngine, "fails on its second model", [ComputeOptions.Cpu],
            options => Interlocked.Increment(ref created) == 2 ? throw new DataFormatException("the second cell's engine failed") : NativeEngine.Catalog.Create(options))]);
        var e = Assert.Throws<DataFormatException>(() => BenchmarkRunner.Run(grid, data, failing, 1, 3));
        Assert.Equal("the second cell's engine failed", e.Message);
    }

    [Fact]
    public void Seeds_at_the_end_of_their_type_run()
    {
        Dataset data = Shapes();
        // pca, fitted in closed form: no seed can make it collapse, and the seed still draws the split.
        BenchmarkGrid grid = Grid(data, "edge", model: "pca:components=4", classes: [2], seeds: BenchmarkGrid.ParseSeeds("18446744073709551614-18446744073709551615"));
        IReadOnlyList<CellResult> cells = BenchmarkRunner.Run(grid, data, NativeEngine.Catalog, 1, 2);
        Assert.Equal(new[] { 18446744073709551614UL, 18446744073709551615UL }, cells.Select(c => c.Cell.Seed).ToArray());
        Assert.All(cells, c => Assert.Equal(CellStatus.Finished, c.Status));
        Assert.EndsWith("c2-diagonal-s18446744073709551615", BenchmarkRunner.CellDirectory(grid, cells[1].Cell));
    }
}
