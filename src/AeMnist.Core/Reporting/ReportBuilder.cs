// What the HTML report shows for one evaluated detector, gathered from the evaluation, the run's record and history,
// and the model (reconstructions of sample images, latent codes): the report itself draws only what it is given.
using System.Globalization;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.Evaluation;
using AeMnist.Runs;
using AeMnist.Scoring;
using AeMnist.Tensors;

namespace AeMnist.Reporting;

public static class ReportBuilder
{
    /// <summary>
    /// Everything the HTML report shows for one evaluated model; <paramref name="data"/> is the data the split came from
    /// (the model's), <paramref name="engine"/> the engine that computed the figures, where the caller knows it.
    /// </summary>
    public static ReportInput Build(EvaluationOutcome outcome, IEngineModel model, ModelMetadata metadata, Dataset data,
        RunDirectory? run, string modelPath, ComputeOptions? engine = null)
    {
        EvaluationResult r = outcome.Result;
        BinaryMetrics m = r.Metrics;
        ScoredImages test = outcome.Test;
        var history = run is null ? [] : run.ReadHistory();
        int? bestEpoch = null;
        double best = double.PositiveInfinity;
        foreach (var h in history)
            if (h.MonitorLoss is { } loss && loss < best) { best = loss; bestEpoch = h.Epoch; }
        SplitOptions s = outcome.Split.Options;
        var I = CultureInfo.InvariantCulture;
        bool elsewhere = run is null && !outcome.TrainedHere;
        int trainNormal = outcome.Split.Train.Count(i => data.Labels[i] == s.Normal), trainAll = outcome.Split.Train.Length;
        bool mnist = outcome.IsMnist;
        string items = mnist ? "digits" : "images";
        ImageShape shape = model.Spec.Image;
        // The figures are on the evaluated data: the split's (the model's data), or the --input images.
        ReportData evaluated = outcome.Data is { } source
            ? new ReportData(source.Kind, source.Path, outcome.DataSha256)
            : ReportData.Input(outcome.TestName);
        string? engineText = engine is null ? null
            : $"{engine.Engine} ({engine.Device}, {engine.Threads.ToString(I)} thread{(engine.Threads == 1 ? "" : "s")})";
        var settings = new List<(string, string)>
        {
            ("model", metadata.Model + metadata.Architecture.DescribeSettings(metadata.Settings)),
            mnist ? ("normal digit", outcome.Normal.ToString(I)) : ("normal class", outcome.ClassNames[outcome.Normal]),
            ("evaluated on", outcome.FromInput ? $"{outcome.TestName} ({test.Errors.Length.ToString("N0", I)} labelled images)" : $"the test split ({test.Errors.Length.ToString("N0", I)} images)"),
            ("data", evaluated.Describe()),
        };
        if (evaluated.Sha256 is { } sha) settings.Add(("data sha256", sha));
        if (outcome.FromInput)
            settings.Add(("model's data", $"{data.Source.Kind} at {data.Source.Path} (sha256 {data.Sha256})"));
        settings.Add(("images", $"{shape.Text} (channels x height x width){(shape.Channels == 3 ? ", RGB" : "")}"));
        if (!mnist)
            settings.Add(("classes", string.Join(", ", outcome.ClassNames)));
        if (elsewhere)
            settings.Add(("trained", "elsewhere: the file records no split or training settings; the split below was rebuilt from --normal, --protocol and --seed"));
        settings.Add(("protocol", SplitOptions.ProtocolName(s.Protocol)));
        settings.Add(("seed", s.Seed.ToString(I)));
        settings.Add(("split", $"train {trainAll.ToString("N0", I)}, validation {outcome.Split.Validation.Length.ToString("N0", I)}, test {outcome.Split.Test.Length.ToString("N0", I)}"));
        if (!elsewhere)
            settings.Add(("train split mix", $"{trainNormal.ToString("N0", I)} normal + {(trainAll - trainNormal).ToString("N0", I)} anomalous {items} ({(trainAll == 0 ? 0 : 100.0 * (trainAll - trainNormal) / trainAll).ToString("0.#", I)}% anomalies)"));
        settings.Add(("early stopping watched", outcome.TestUsedForEarlyStopping switch
        {
            true => "the test split (as the tutorial; test figures are optimistic)",
            false => "the validation split",
            null when elsewhere => "unknown (model trained elsewhere)",
            null => outcome.Split.MonitorsTest ? "the test split, which --input data may overlap" : "the validation split",
        }));
        var warnings = new List<string>();
        if (run?.ReadRecord() is { } record)
        {
            if (record.Options is { } o)
            {
                settings.Add(("optimiser", string.Create(I, $"Adam, lr {o.LearningRate}, batch size {o.BatchSize}, weight decay {o.WeightDecay}")));
                settings.Add(("epochs", string.Create(I, $"at most {o.Epochs}, evaluated every {o.EvalEvery}, patience {o.Patience}, kept: {Training.TrainOptions.KeepName(o.Keep)}")));
                settings.Add(("train contamination", o.Contamination.ToString(I)));
            }
            if (record.Collapsed && !outcome.ConstantOutput)
                warnings.Add("Training flagged this model as collapsed (see run.json).");
        }
        settings.Add(("threshold", $"{outcome.Threshold.ToString("G6", I)} ({outcome.ThresholdRuleText})"));
        settings.Add(("score", $"{Scores.Name(outcome.Score)} ({Scores.Label(outcome.Score)}): {Scores.Describe(outcome.Score)}"));
        if (outcome.Calibration is { } calibration) settings.Add(("score calibration", calibration.Describe()));
        if (engineText is not null) settings.Add(("engine", engineText));
        settings.Add(("model file", Path.GetFullPath(modelPath)));
        if (run is not null && history.Count > 0)
        {
            settings.Add(("epochs run", history.Count.ToString(I)));
            settings.Add(("seconds per epoch", history.Average(h => h.Seconds).ToString("F3", I)));
        }
        settings.Add(("aemnist", ModelMetadata.ToolVersion));
        if (outcome.FromInput)
            warnings.Add($"Evaluated on {outcome.TestName}: if these images overlap the {(data.Source.IsMnist ? "digits" : "images")} the model was trained or early-stopped on, the figures are optimistic.");

        return new ReportInput
        {
            Title = $"AeMnist: {metadata.Model} autoencoder, normal {outcome.NormalName}" + (run is null ? "" : $" ({Path.GetFileName(Path.GetFullPath(run.Path))})")
                    + (outcome.FromInput ? $" on {outcome.TestName}" : ""),
            ClassNames = outcome.ClassNames,
            IsMnist = mnist,
            Shape = shape,
            Score = outcome.Score,
            Data = evaluated,
            Engine = engineText,
            Settings = settings,
            History = history.Select(h => new HistoryRow(h.Epoch, h.TrainLoss, h.MonitorLoss, h.Seconds)).ToList(),
            BestEpoch = bestEpoch,
            MonitorName = outcome.Split.MonitorsTest ? "test loss (monitored)" : "validation loss",
            TestErrors = test.Errors,
            TestLabels = test.Labels,
            TestIsAnomaly = test.IsAnomaly,
            Threshold = outcome.Threshold,
            ThresholdRule = outcome.ThresholdRuleText,
            TestSetName = outcome.TestName,
            TestImages = outcome.FromInput ? "all" : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(outcome.Split.Test.AsSpan()))),
            TestUsedForEarlyStopping = outcome.TestUsedForEarlyStopping,
            ConstantOutput = outcome.ConstantOutput,
            TrainedElsewhere = elsewhere,
            ModelFile = Path.GetFullPath(modelPath),
            Warnings = warnings,
            Metrics = new ReportMetrics
            {
                Accuracy = m.Accuracy, Precision = m.Precision, Recall = m.Recall, F1 = m.F1, F1Normal = m.F1Normal,
                Auroc = r.Auroc, AveragePrecision = r.AveragePrecision,
                TruePositives = m.TruePositives, FalsePositives = m.FalsePositives, TrueNegatives = m.TrueNegatives, FalseNegatives = m.FalseNegatives,
                ClassFlagRates = r.ClassFlagRates ?? Enumerable.Repeat(double.NaN, outcome.ClassNames.Count).ToArray(),
                RocFpr = r.Roc.FalsePositiveRate, RocTpr = r.Roc.TruePositiveRate,
                PrRecall = r.PrecisionRecall.Recall, PrPrecision = r.PrecisionRecall.Precision,
            },
            Samples = Samples(test, model, outcome.TestPixels),
            Latent = Latent(model, outcome.TestPixels, test.Labels, outcome.Normal, mnist ? null : outcome.ClassNames),
        };
    }

    /// <summary>The 8 best and worst normals and the 8 most and least anomalous anomalies, with reconstructions.</summary>
    private static ReportSamples Samples(ScoredImages test, IEngineModel model, float[] pixels, int count = 8)
    {
        int p = model.Spec.Input.Length;
        int[] order = Enumerable.Range(0, test.Errors.Length).OrderBy(i => test.Errors[i]).ThenBy(i => i).ToArray();
        int[] normals = order.Where(i => !test.IsAnomaly[i]).ToArray();
        int[] anomalies = order.Where(i => test.IsAnomaly[i]).ToArray();
        List<ImageSample> Take(IEnumerable<int> positions)
        {
            int[] chosen = positions.ToArray();
            var originals = new float[chosen.Length * p];
            for (int k = 0; k < chosen.Length; k++) pixels.AsSpan(chosen[k] * p, p).CopyTo(originals.AsSpan(k * p));
            var reconstructions = new float[originals.Length];
            model.Reconstruct(originals, chosen.Length, reconstructions);
            return chosen.Select((i, k) => new ImageSample(originals[(k * p)..((k + 1) * p)], reconstructions[(k * p)..((k + 1) * p)],
                test.Errors[i], test.Labels[i])).ToList();
        }
        return new ReportSamples(
            Take(normals.Take(count)),
            Take(normals.Reverse().Take(count)),
            Take(anomalies.Reverse().Take(count)),
            Take(anomalies.Take(count)));
    }

    /// <summary>The most points the latent projection shows (spread evenly over the evaluated images).</summary>
    public const int MaxLatentPoints = 2000;

    /// <summary>Latent codes (IEngineModel.Encode) of up to <see cref="MaxLatentPoints"/> images, projected on their first two principal components.</summary>
    public static LatentProjection? Latent(IEngineModel model, float[] pixels, byte[] labels, int normal, IReadOnlyList<string>? classNames = null)
    {
        int p = model.Spec.Input.Length;
        int total = labels.Length, n = Math.Min(total, MaxLatentPoints);
        int d = model.Spec.Latent.Length;
        if (n < 3 || d < 2) return null;
        int[] rows = [.. Enumerable.Range(0, n).Select(k => (int)((long)k * total / n))];
        var images = new float[n * p];
        for (int k = 0; k < n; k++) pixels.AsSpan(rows[k] * p, p).CopyTo(images.AsSpan(k * p));
        var codes = new float[n * d];
        model.Encode(images, n, codes);
        var (scores, explained, _) = Pca.Project(codes, n, d);
        return new LatentProjection(
            [.. Enumerable.Range(0, n).Select(k => scores[2 * k])], [.. Enumerable.Range(0, n).Select(k => scores[2 * k + 1])],
            [.. rows.Select(r => labels[r])], explained, d, normal, classNames);
    }
}
