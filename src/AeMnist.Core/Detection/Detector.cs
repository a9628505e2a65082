// A trained autoencoder as an anomaly detector (PyOD's BaseDetector in our words): the model on its engine, the score
// that turns a reconstruction into a number, the threshold it stores and the rules for choosing another, and what its
// model file records about how it was made. Commands ask it for scores and thresholds; none re-derives a threshold or
// runs an evaluation to borrow one number. One reconstruction pass gives every score kind.
using AeMnist.Engines;
using AeMnist.Models;
using AeMnist.Scoring;
using AeMnist.Tensors;

namespace AeMnist.Detection;

public sealed class Detector : IDisposable
{
    private readonly IDisposable? _owner;

    /// <summary>A detector over <paramref name="model"/>; <paramref name="owner"/> (its engine, say) is disposed with it.</summary>
    public Detector(IEngineModel model, ModelMetadata metadata, string source, IDisposable? owner = null, int threads = 1)
    {
        Model = model;
        Threads = threads;
        Metadata = metadata;
        Source = source;
        _owner = owner;
        ImageShape = ImageShapeOf(model.Spec);
        Calibration = metadata.Calibration;
    }

    /// <summary>The model file at <paramref name="path"/> on the engine <paramref name="compute"/> names (already validated).</summary>
    public static Detector Load(string path, string? modelOverride, EngineCatalog engines, ComputeOptions compute)
    {
        var (spec, weights, metadata) = DetectorFile.Load(path, modelOverride);
        IEngine engine = engines.Create(compute);
        try
        {
            return new Detector(engine.Load(spec, weights), metadata, path, engine, compute.Threads);
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    public IEngineModel Model { get; }

    /// <summary>Threads the scores computed from reconstructions (ssim, smoothed) use on an engine that does not score its own chunks (the native engine scores on its threads); the bits do not depend on it.</summary>
    public int Threads { get; }

    /// <summary>What the model file says: architecture, the stored threshold and its score, the normal class, the split.</summary>
    public ModelMetadata Metadata { get; }

    /// <summary>Where the detector came from (its model file), for messages.</summary>
    public string Source { get; }

    /// <summary>The score its stored threshold is for (mse unless it was trained with another).</summary>
    public ScoreKind Score => Metadata.Score ?? ScoreKind.Mse;

    /// <summary>The shape of the images it scores (the scores that look at neighbouring pixels need it).</summary>
    public ImageShape ImageShape { get; }

    /// <summary>
    /// What the combined score standardises its base scores with: the model file's (learnt at training), or what
    /// <see cref="Calibrate(ReadOnlySpan{float}, int, string, Func{int, string})"/> learnt; null when neither (then the combined score is an error).
    /// </summary>
    public ScoreCalibration? Calibration { get; private set; }

    /// <summary>
    /// Learns the combined score's calibration from <paramref name="n"/> normal images (<paramref name="source"/> names them,
    /// "validation split") and keeps it for the scores that follow. Never give it test images or anomalies.
    /// </summary>
    public ScoreCalibration Calibrate(ReadOnlySpan<float> normals, int n, string source, Func<int, string> describe) =>
        Calibration = Calibrate(Model, normals, n, source, Source, describe, Threads);

    /// <summary>The combined score's calibration of <paramref name="model"/> on <paramref name="n"/> normal images; a non-finite base score is an error naming <paramref name="modelSource"/> and the image.</summary>
    public static ScoreCalibration Calibrate(IEngineModel model, ReadOnlySpan<float> normals, int n, string source, string modelSource, Func<int, string> describe, int threads = 1)
    {
        float[][] bases = ModelScores.Compute(model, ScoreCalibration.BaseKinds, normals, n, ImageShapeOf(model.Spec), threads: threads);
        foreach (float[] b in bases) ModelHealth.CheckFinite(b, modelSource, describe);
        return ScoreCalibration.Fit(bases, source);
    }

    // The combined score cannot be computed without its calibration: say why there is none and what to do.
    private void CheckCalibrated(IEnumerable<ScoreKind> kinds)
    {
        if (Calibration is null && kinds.Any(Scoring.Scores.NeedsCalibration))
            throw new ArgumentException($"--score combined needs the normal images' statistics learnt at training, and {Path.GetFileName(Source)} has none (it was trained with the {Scoring.Scores.Name(Score)} score); train with --score combined, or evaluate or report the run, which learn them from its validation split");
    }

    /// <summary>The shape of the images a model takes (its spec's; MNIST's 28x28 for the tutorial's dense model).</summary>
    public static ImageShape ImageShapeOf(ModelSpec spec) => spec.Image;

    /// <summary>The <paramref name="kind"/> score of each image; a non-finite one is an error naming <paramref name="describe"/>(i).</summary>
    public float[] Scores(ReadOnlySpan<float> images, int n, ScoreKind kind, Func<int, string> describe) =>
        Scores(images, n, [kind], describe)[kind];

    /// <summary>Several scores of each image from one reconstruction pass.</summary>
    public IReadOnlyDictionary<ScoreKind, float[]> Scores(ReadOnlySpan<float> images, int n, IReadOnlyList<ScoreKind> kinds, Func<int, string> describe)
    {
        CheckCalibrated(kinds);
        float[][] scores = ModelScores.Compute(Model, kinds, images, n, ImageShape, Calibration, Threads);
        var result = new Dictionary<ScoreKind, float[]>();
        for (int k = 0; k < kinds.Count; k++)
        {
            ModelHealth.CheckFinite(scores[k], Source, describe);
            result[kinds[k]] = scores[k];
        }
        return result;
    }

    /// <summary>
    /// The rule that applies when <paramref name="requested"/> is asked for with <paramref name="kind"/>, and a note that
    /// explains a substitution. The stored threshold belongs to one score: with another score, train's default rule
    /// (contamination 0.1) on that score instead; a model that stores no threshold gets
    /// <see cref="ThresholdRule.DefaultForForeignModel"/>, whatever the score.
    /// </summary>
    public (ThresholdRule Rule, string Prefix, string Suffix) ResolveRule(ThresholdRule requested, ScoreKind kind, bool scoreGiven)
    {
        string suffix = requested is ThresholdRule.Contamination or ThresholdRule.Stored && kind != Score && scoreGiven && Metadata.Threshold is not null
            ? $" (the stored threshold is for the {Scoring.Scores.Name(Score)} score)" : "";
        if (requested is ThresholdRule.Stored && kind != Score && Metadata.Threshold is not null) return (new ThresholdRule.Contamination(0.1), "", suffix);
        if (requested is ThresholdRule.Stored && Metadata.Threshold is null)
            return (ThresholdRule.DefaultForForeignModel, "the model file stores no threshold (trained elsewhere?), so aemnist's default rule applies: ", "");
        return (requested, "", suffix);
    }

    /// <summary>The threshold <paramref name="requested"/> gives for the <paramref name="kind"/> score, learning only from <paramref name="references"/>.</summary>
    public ThresholdChoice Threshold(ThresholdRule requested, ScoreKind kind, bool scoreGiven, Func<ThresholdReferences> references)
    {
        (ThresholdRule rule, string prefix, string suffix) = ResolveRule(requested, kind, scoreGiven);
        if (rule is ThresholdRule.Stored) return new ThresholdChoice(Metadata.Threshold!.Value, "the model's stored threshold, from train's contamination rule");
        ThresholdChoice choice = rule.Apply(rule is ThresholdRule.Fixed ? new ThresholdReferences { Score = kind } : references());
        return choice with { Rule = prefix + choice.Rule + suffix };
    }

    /// <summary>True when the model reconstructs (up to 256 of) these images, not all alike, as one image: it has collapsed.</summary>
    public bool IsConstant(ReadOnlySpan<float> images, int n) => ModelHealth.IsConstant(Model, images, n);

    /// <summary>
    /// The <paramref name="kind"/> scores of the first <see cref="ModelHealth.ProbeImages"/> (or fewer) images, and whether
    /// the model's output is constant over them, from one reconstruction of each: a command that scores many images scores
    /// these first and the rest with <see cref="Scores(ReadOnlySpan{float}, int, ScoreKind, Func{int, string})"/>, and no
    /// image is inferred twice. The scores are the same bits as <see cref="Scores(ReadOnlySpan{float}, int, ScoreKind, Func{int, string})"/>'s.
    /// </summary>
    public (float[] Scores, bool Constant) Probe(ReadOnlySpan<float> images, int n, ScoreKind kind, Func<int, string> describe)
    {
        int head = Math.Min(n, ModelHealth.ProbeImages), length = Model.Spec.Input.Length;
        ReadOnlySpan<float> part = images[..(head * length)];
        var reconstructions = new float[head * length];
        Model.Reconstruct(part, head, reconstructions);
        var scores = new float[head];
        CheckCalibrated([kind]);
        Scoring.Scores.FromReconstructions(kind, part, reconstructions, head, ImageShape, scores, Calibration, Threads);
        ModelHealth.CheckFinite(scores, Source, describe);
        return (scores, ModelHealth.IsConstant(part, reconstructions, head, length));
    }

    public void Dispose()
    {
        Model.Dispose();
        _owner?.Dispose();
    }
}

/// <summary>Scores of images under a model on any engine: mse from the engine's own per-image loss, the others from reconstructions.</summary>
public static class ModelScores
{
    /// <summary>Images reconstructed at a time for the scores computed from reconstructions (results do not depend on it).</summary>
    public const int Chunk = 1024;

    /// <summary>
    /// Each of <paramref name="kinds"/> for <paramref name="n"/> images, from one pass: mse alone comes from
    /// <see cref="IEngineModel.Losses"/> (the engine's fused per-image loss); with other kinds every score is computed from
    /// the same reconstructions (mse then by the same kernel, to the same bits). combined needs <paramref name="calibration"/>
    /// and is combined from its base scores, each computed once however many kinds ask for it. On an engine that hands over
    /// its chunks (<see cref="IChunkedReconstruction"/>) the scores run on the engine's threads and <paramref name="threads"/>
    /// is not used; elsewhere they run on <paramref name="threads"/> after each chunk's reconstruction. The bits are the same.
    /// </summary>
    public static float[][] Compute(IEngineModel model, IReadOnlyList<ScoreKind> kinds, ReadOnlySpan<float> images, int n, ImageShape image,
        ScoreCalibration? calibration = null, int threads = 1)
    {
        if (kinds.Contains(ScoreKind.Combined))
        {
            if (calibration is null) throw new ArgumentException("the combined score needs its calibration (learnt from normal images)");
            ScoreKind[] plain = [.. kinds.Where(k => k != ScoreKind.Combined).Concat(calibration.Bases.Select(b => b.Kind)).Distinct()];
            float[][] plainScores = Compute(model, plain, images, n, image, threads: threads);
            float[] combined = new float[n];
            calibration.Combine([.. calibration.Bases.Select(b => plainScores[Array.IndexOf(plain, b.Kind)])], combined);
            return [.. kinds.Select(k => k == ScoreKind.Combined ? (float[])combined.Clone() : (float[])plainScores[Array.IndexOf(plain, k)].Clone())];
        }
        var scores = kinds.Select(_ => new float[n]).ToArray();
        if (kinds.All(k => k == ScoreKind.Mse))
        {
            if (kinds.Count > 0) model.Losses(images, n, Loss.Mse, scores[0]);
            for (int k = 1; k < kinds.Count; k++) scores[0].CopyTo(scores[k], 0);
            return scores;
        }
        int length = model.Spec.Input.Length;
        var reconstructions = new float[(long)Math.Min(n, Chunk) * length];
        for (int start = 0; start < n; start += Chunk)
        {
            int count = Math.Min(Chunk, n - start);
            ReadOnlySpan<float> part = images.Slice(start * length, count * length);
            Span<float> output = reconstructions.AsSpan(0, count * length);
            if (model is IChunkedReconstruction chunked)
            {
                ScoreAsReconstructed(chunked, kinds, part, output, count, image, scores, start);
                continue;
            }
            model.Reconstruct(part, count, output);
            for (int k = 0; k < kinds.Count; k++)
                Scoring.Scores.FromReconstructions(kinds[k], part, output, count, image, scores[k].AsSpan(start, count), threads: threads);
        }
        return scores;
    }

    // The engine hands over each chunk of reconstructions on the thread that computed it, which scores it at once (one
    // thread per chunk, the scores of an image being its own): the same bits as scoring afterwards, without a second
    // parallel pass that waits for the first and reads the reconstructions back from memory.
    private static unsafe void ScoreAsReconstructed(IChunkedReconstruction model, IReadOnlyList<ScoreKind> kinds, ReadOnlySpan<float> images,
        Span<float> output, int count, ImageShape image, float[][] scores, int offset)
    {
        int length = image.Length;
        fixed (float* px = images, py = output)
        {
            nint ax = (nint)px, ay = (nint)py;
            model.Reconstruct(images, count, output, (start, chunk) =>
            {
                var x = new ReadOnlySpan<float>((float*)ax + (nint)start * length, chunk * length);
                var y = new ReadOnlySpan<float>((float*)ay + (nint)start * length, chunk * length);
                for (int k = 0; k < kinds.Count; k++)
                    Scoring.Scores.FromReconstructions(kinds[k], x, y, chunk, image, scores[k].AsSpan(offset + start, chunk));
            });
        }
    }
}
