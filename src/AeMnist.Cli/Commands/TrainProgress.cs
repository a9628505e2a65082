// What `train` prints while it works: one line per epoch, with the ETA; a tty gets the same lines
// (they double as a log), and --quiet/--json print nothing here.
using AeMnist.Data;
using AeMnist.Training;

namespace AeMnist.Cli.Commands;

internal sealed class TrainProgress(TextWriter output, bool quiet, int maxEpochs)
{
    private double _seconds;

    public void Start(RunDirectory run, TrainOptions options, SplitOptions split, MnistDataset data, bool resumed)
    {
        if (quiet) return;
        if (resumed) output.WriteLine($"Resuming {run.Path}");
        string hidden = options.Model == "dense" ? $" ({string.Join(",", options.HiddenOrDefault)})" : "";
        output.WriteLine($"Training {options.Model}{hidden} on digit {split.Normal}, {SplitOptions.ProtocolName(split.Protocol)} protocol, seed {options.Seed}, " +
                         $"{options.Epochs} epochs max, batch {options.BatchSize}, lr {options.LearningRate}");
        if (split.Validation == 0)
            output.WriteLine("Note: no --validation split, so early stopping watches the TEST split (as the tutorial does); test figures are optimistic.");
        output.WriteLine($"Data: {data.Directory}; run directory: {run.Path}");
    }

    public void OnEpoch(EpochRecord r)
    {
        _seconds += r.Seconds;
        if (quiet) return;
        double eta = _seconds / r.Epoch * (maxEpochs - r.Epoch);
        string monitor = r.MonitorLoss is { } m ? $"  monitor {m:F6}{(r.Improved ? " *" : "")}" : "";
        output.WriteLine($"epoch {r.Epoch,4}/{maxEpochs}  train {r.TrainLoss:F6}{monitor}  {r.Seconds:F2}s  eta {eta:F0}s");
    }

    public void Finish(TrainOutcome outcome)
    {
        if (quiet) return;
        TrainState s = outcome.Result.State;
        string why = outcome.Result.Reason switch
        {
            StopReason.EarlyStopped => $"stopped early after epoch {s.EpochsDone} ({s.BadEvaluations} evaluations without improvement)",
            StopReason.Diverged => "stopped: " + outcome.Result.Message,
            StopReason.Interrupted => "interrupted",
            _ => $"finished {s.EpochsDone} epochs",
        };
        output.WriteLine($"Training {why} in {outcome.Result.Seconds:F1}s; best monitored loss {s.BestMonitorLoss:F6} at epoch {s.BestEpoch}.");
        output.WriteLine($"Default threshold {outcome.Threshold:G6} (the train split's errors at percentile 90 unless --contamination says otherwise).");
        output.WriteLine($"Saved {outcome.Run.ModelPath}");
        output.WriteLine($"Next: aemnist evaluate --run {outcome.Run.Path}");
    }
}
