// What `train` prints while it works. On a terminal: a live bar (epoch, losses, ETA) redrawn in place,
// with a permanent line at each evaluation. Redirected: one plain line per epoch, a log for CI.
// --quiet and --json print nothing here.
using AeMnist.Data;
using AeMnist.Runs;
using AeMnist.Training;

namespace AeMnist.Cli.Commands;

internal sealed class TrainProgress(TextWriter output, bool quiet, int maxEpochs)
{
    private readonly bool _live = output == Console.Out && !Console.IsOutputRedirected;
    private double _seconds;
    private int _epochs;
    private bool _barShown;

    public void Start(RunDirectory run, TrainRequest request, Dataset data, bool resumed)
    {
        if (quiet) return;
        TrainOptions options = request.Train;
        SplitOptions split = request.Split;
        if (resumed) output.WriteLine($"Resuming {run.Path}");
        string settings = options.Architecture.DescribeSettings(options.ResolvedSettings);
        string engine = request.Compute.Engine == Engines.Native.NativeEngine.EngineName ? "" : $" with the {request.Compute.Engine} engine ({request.Compute.Device})";
        string normal = request.Data?.Inputs is not null ? $"the {data.Count} images of --input" + (data.Shape == Tensors.ImageShape.Mnist ? "" : $" ({data.Shape})")
            : data.Source.IsMnist ? $"digit {split.Normal}" : $"class '{data.ClassNames[split.Normal]}' of {data.Shape} images";
        string protocol = request.Data?.Inputs is not null ? "" : $", {SplitOptions.ProtocolName(split.Protocol)} protocol";
        output.WriteLine(options.Architecture.FitsExactly
            ? $"Fitting {options.Model}{settings}{engine} on {normal}{protocol}, seed {request.Seed}: exactly, in closed form (no epochs, no optimiser)"
            : $"Training {options.Model}{settings}{engine} on {normal}{protocol}, seed {request.Seed}, " +
              $"{options.Epochs} epochs max, batch {options.BatchSize}, lr {options.LearningRate}{(options.Schedule == LrSchedule.Constant ? "" : $" ({TrainOptions.ScheduleName(options.Schedule)} schedule)")}");
        if (split.Validation == 0 && !options.Architecture.FitsExactly)
            output.WriteLine("Note: no --validation split, so early stopping watches the TEST split (as the tutorial does); test figures are optimistic.");
        output.WriteLine($"Data: {data.Directory} (sha256 {data.Sha256[..12]}...); run directory: {run.Path}");
    }

    public void OnEpoch(EpochRecord r)
    {
        _seconds += r.Seconds;
        _epochs++;
        if (quiet) return;
        double eta = _seconds / _epochs * (maxEpochs - r.Epoch);
        string monitor = r.MonitorLoss is { } m ? $"  monitor {m:F6}{(r.Improved ? " *" : "  ")}" : "";
        string line = $"epoch {r.Epoch,4}/{maxEpochs}  train {r.TrainLoss:F6}{monitor}  {r.Seconds:F2}s  eta {eta:F0}s";
        if (!_live)
        {
            output.WriteLine(line);
            return;
        }
        // Evaluations stay on screen; other epochs only redraw the bar.
        if (r.MonitorLoss is not null) output.Write($"\r{line}{new string(' ', 20)}\n");
        int width = 30, done = (int)Math.Round(width * (double)r.Epoch / maxEpochs);
        output.Write($"\r[{new string('#', done)}{new string('-', width - done)}] epoch {r.Epoch}/{maxEpochs}  train {r.TrainLoss:F6}  eta {eta:F0}s   ");
        _barShown = true;
    }

    public void Finish(TrainOutcome outcome)
    {
        if (quiet) return;
        if (_barShown) output.Write("\r" + new string(' ', 79) + "\r");
        TrainState s = outcome.Result.State;
        string why = outcome.Result.Reason switch
        {
            StopReason.EarlyStopped => $"stopped early after epoch {s.EpochsDone} ({s.BadEvaluations} evaluations without improvement)",
            _ => $"finished {s.EpochsDone} epochs",
        };
        string kept = outcome.Request.Train.Keep == KeepCheckpoint.Best ? $"kept the weights of epoch {s.BestEpoch} (best monitored loss {s.BestMonitorLoss:F6})" : "kept the last epoch's weights";
        output.WriteLine(outcome.Request.Train.Architecture.FitsExactly
            ? $"Fitted in {outcome.Result.Seconds:F1}s; monitored loss {s.BestMonitorLoss:F6}."
            : $"Training {why} in {outcome.Result.Seconds:F1}s; {kept}.");
        Scoring.ScoreKind score = outcome.Request.Train.Score;
        string scores = Scoring.Scores.ScoresNoun(score);
        if (outcome.Calibration is { } calibration) output.WriteLine($"Combined score: {calibration.Describe()}.");
        output.WriteLine($"Default threshold {outcome.Threshold:G6}: the train split's {scores} at percentile {100 * (1 - outcome.Request.Train.Contamination):G4} (contamination {outcome.Request.Train.Contamination}).");
        output.WriteLine($"Saved {outcome.Run.ModelPath}");
        output.WriteLine($"Next: aemnist evaluate --run {outcome.Run.Path}");
    }
}
