// The normal images a model's p-values are computed against (score --p-values): the run's validation split's normal
// images, else its train split's (which the model saw, so the p-values of new normal images come out too small); for a
// model file outside a run, the one-class split of --normal (every training-file image of that class).
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Runs;
using AeMnist.Scoring;

namespace AeMnist.Cli.Commands;

/// <summary>Calibration scores, what they are in words, and whether they come from a validation split.</summary>
internal sealed record Calibration(float[] Scores, string Text, bool Validation)
{
    public static Calibration Of(LoadedModel loaded, string? normal, string? dataDirectory, ScoreKind kind)
    {
        if (loaded.Metadata.Split is null && normal is null && loaded.Metadata.Normal is null)
            throw new UsageException($"--p-values: {Path.GetFileName(loaded.ModelPath)} records no split and no normal class; pass --normal D to compute them against every training-file image of class D");
        Dataset data = SharedOptions.LoadDataFor(loaded.Run, dataDirectory);
        int digit;
        try { digit = normal is not null ? data.ResolveClass(normal) : loaded.Metadata.Split?.Normal ?? loaded.Metadata.Normal!.Value; }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        DataSplit split = Splitter.Split(data, loaded.Metadata.Split ?? new SplitOptions(SplitProtocol.OneClass, digit));
        ThresholdReferences references = EvaluateJob.References(loaded.Detector, data, split, kind);
        float[] scores = references.TuningNormal();
        return new Calibration(scores, PValueRule.Calibration(scores.Length, data.ItemNoun, references.HasValidation), references.HasValidation);
    }
}
