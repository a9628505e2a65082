// `aemnist export --format onnx`: the whole detector (preprocessing, autoencoder, score, threshold, p-value) as one ONNX
// model (AeMnist.Onnx), optionally checked in ONNX Runtime against the native engine before it is written (--verify).
using System.CommandLine;
using System.Globalization;
using AeMnist.Data;
using AeMnist.Detection;
using AeMnist.IO;
using AeMnist.Onnx;
using AeMnist.Runs;
using AeMnist.Scoring;
using AeMnist.Tensors;

namespace AeMnist.Cli.Commands;

internal static class ExportCommand
{
    /// <summary>How many images --verify checks by default.</summary>
    public const int DefaultVerifyImages = 400;

    public static Command Build()
    {
        var model = new ModelOptions();
        var format = new Option<string>("--format") { Description = "Export format: onnx (ONNX opset 17, for ONNX Runtime and every ONNX tool)", DefaultValueFactory = _ => "onnx", HelpName = "onnx" };
        var outputPath = SharedOptions.PathOption(new Option<string>("--output", "-o") { Description = "The model file to write (e.g. detector.onnx)", Required = true, HelpName = "FILE" });
        var threshold = SharedOptions.OptionalDouble("--threshold", "Anomaly threshold on the score [default: the model's stored threshold, else --fpr 0.05]", "X");
        var fpr = SharedOptions.OptionalDouble("--fpr", "Threshold that flags a share F of the normal images of the run's validation (else train) split", "F");
        var alpha = SharedOptions.OptionalDouble("--alpha", "Flag images whose conformal p-value against the run's validation (else train) normals is at most A (docs/export.md)", "A");
        var normal = new Option<string?>("--normal") { Description = "The normal class (a digit for MNIST), for --fpr with a model file that does not record it", HelpName = "CLASS" };
        var verify = new Option<bool>("--verify") { Description = "Before writing, run the export in ONNX Runtime on test images and require aemnist's scores (1e-5 relative), flags and p-values (needs a build with -p:WithOnnxRuntime=true)" };
        var verifyImages = SharedOptions.Int("--verify-images", "How many images --verify checks (the run's test split first)", DefaultVerifyImages);
        var data = SharedOptions.Data();
        var quiet = SharedOptions.Quiet();
        var score = new SharedOptions.ScoreOption();
        var command = new Command("export", "Export the detector (preprocessing, model, score, threshold, p-value) as one ONNX model")
        {
            format, outputPath, score.Option, threshold, fpr, alpha, normal, verify, verifyImages, data, quiet,
        };
        foreach (Option o in model.All) command.Add(o);

        command.SetAction(parse =>
        {
            string formatName = parse.GetValue(format)!;
            if (!formatName.Equals("onnx", StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--format {MessageText.Quote(formatName, 40)} is not an export format; use onnx");
            string path = parse.GetValue(outputPath)!;
            if (OutputFiles.IsStdout(path)) throw new UsageException("--output -: an ONNX model is binary; give a file name, e.g. --output detector.onnx");
            OutputFiles.Check("--output", path, model.Files(parse));
            double? given = parse.GetValue(threshold), f = parse.GetValue(fpr), a = parse.GetValue(alpha);
            if ((given is null ? 0 : 1) + (f is null ? 0 : 1) + (a is null ? 0 : 1) > 1) throw new UsageException("give at most one of --threshold, --fpr and --alpha");
            if (given is { } t && !(double.IsFinite(t) && t >= 0)) throw new UsageException($"--threshold must be a number 0 or more, got {t}");
            if (f is { } fv && !(fv > 0 && fv < 1)) throw new UsageException($"--fpr {fv} must be in (0, 1), e.g. 0.05 to flag 5% of normal images");
            if (a is { } av && !(av > 0 && av < 1)) throw new UsageException($"--alpha {av} must be in (0, 1), e.g. 0.05 for at most 5% false alarms");
            int checkCount = parse.GetValue(verifyImages);
            if (checkCount < 1) throw new UsageException($"--verify-images must be 1 or more, got {checkCount}");
            if (!parse.GetValue(verify)) SharedOptions.RejectGiven(parse, [verifyImages], "it sets how many images --verify checks, and --verify is not given");
            ScoreKind? asked = score.Read(parse);
            if (asked is { } k)
            {
                try { DetectorExport.CheckScore(k); }
                catch (NotSupportedException e) { throw new UsageException(e.Message); }
            }
            // ONNX Runtime is found (or its absence reported) before any model or data is read.
            IOnnxRunner? runner = parse.GetValue(verify) ? OnnxRuntimeLoader.Create() : null;

            RunDirectory? run = model.FindRun(parse);
            using LoadedModel loaded = model.Load(parse, run);
            Detector detector = loaded.Detector;
            ModelMetadata metadata = loaded.Metadata;
            ScoreKind stored = metadata.Score ?? ScoreKind.Mse, kind = asked ?? stored;
            try { DetectorExport.CheckScore(kind); }
            catch (NotSupportedException e) { throw new UsageException($"{Path.GetFileName(loaded.ModelPath)} is scored by {Scores.Name(kind)}, and {e.Message}"); }
            if (given is null && f is null && a is null && kind != stored && metadata.Threshold is not null)
                throw new UsageException($"{Path.GetFileName(loaded.ModelPath)} stores a threshold for the {Scores.Name(stored)} score, not {Scores.Name(kind)}; pass --threshold X, --fpr F or --alpha A");
            if (metadata.Split is not null)
                SharedOptions.RejectGiven(parse, [normal], $"{loaded.ModelPath} records its split, so its normal class is known");
            // Outside a run, the data is read only for a threshold learnt from normal images, or for --verify's images.
            bool learnsThreshold = f is not null || a is not null || (given is null && metadata.Threshold is null);
            if (metadata.Split is null && !learnsThreshold)
                SharedOptions.RejectGiven(parse, runner is null ? new Option[] { normal, data } : new Option[] { normal }, "the threshold is given or stored and the model file records no split, so no normal images are read");

            // The run's data and split: the calibration images of the p-values, --alpha's and --fpr's references, --verify's images.
            Dataset? dataset = null;
            DataSplit? split = null;
            float[]? calibration = null;
            string? calibrationText = null;
            if (metadata.Split is { } splitOptions)
            {
                dataset = SharedOptions.LoadDataFor(run, parse.GetValue(data));
                split = Splitter.Split(dataset, splitOptions);
                ThresholdReferences references = EvaluateJob.References(detector, dataset, split, kind);
                calibration = references.TuningNormal();
                calibrationText = PValueRule.Calibration(calibration.Length, dataset.ItemNoun, references.HasValidation);
            }

            ThresholdChoice choice;
            if (a is { } alphaValue && calibration is not null)
            {
                float[] normals = calibration;
                choice = new PValueRule(alphaValue).Apply(new ThresholdReferences
                {
                    Score = kind,
                    Noun = dataset!.ItemNoun,
                    HasValidation = split!.Validation.Length > 0,
                    TuningNormal = () => normals,
                });
            }
            else choice = ScoreCommand.Threshold(loaded, given, f, parse.GetValue(normal), parse.GetValue(data), kind, a);

            var request = new ExportRequest(detector.Model.Spec, detector.Model.StateDict(), metadata, kind, choice.Value, choice.Rule)
            {
                Calibration = calibration,
                CalibrationText = calibrationText,
                DataSha256 = dataset?.Sha256,
                DataSource = dataset is null ? null : $"{dataset.Source.Kind} {dataset.Directory}",
            };
            byte[] bytes = DetectorExport.ToBytes(request);

            string? verified = null;
            if (runner is not null)
                verified = Verify(runner, bytes, detector, kind, choice.Value, calibration, dataset, split, run, parse.GetValue(data), checkCount);

            AtomicFile.WriteAllBytes(path, bytes);
            var warnings = new Warnings(parse.InvocationConfiguration.Error);
            if (loaded.RecordedCollapsed) warnings.Add(ModelHealth.CollapseWarning(loaded.ModelPath));
            if (metadata.Resize)
                warnings.Add($"the model was trained on images resized to {detector.ImageShape}, and the exported graph does not resize (SkiaSharp's filter has no exact ONNX form): give it images of that size");
            if (calibration is not null && split!.Validation.Length == 0)
                warnings.Add($"the p-values are computed against {calibrationText}; train with --validation for p-values that keep their promise");
            if (!parse.GetValue(quiet))
            {
                TextWriter error = parse.InvocationConfiguration.Error;
                ImageShape shape = detector.ImageShape;
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Exported {detector.Model.Spec.Describe()} to {path} ({bytes.Length / 1024.0:F0} KiB, ONNX opset {DetectorExport.Opset}): input image uint8 (N, {shape.Channels}, {shape.Height}, {shape.Width}); outputs score ({Scores.Name(kind)}), is_anomaly (score >= {choice.Value:G9}: {choice.Rule}){(calibration is null ? "" : $", p_value (against {calibrationText})")}, reconstruction, anomaly_map"));
                if (verified is not null) error.WriteLine(verified);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// Runs the export in ONNX Runtime on up to <paramref name="count"/> images (the run's test split, else its data, else
    /// the shipped MNIST test images for a model of MNIST's shape) and holds its scores, flags and p-values to aemnist's;
    /// a difference is an error and nothing is written.
    /// </summary>
    private static string Verify(IOnnxRunner runner, byte[] model, Detector detector, ScoreKind kind, double threshold, float[]? calibration,
        Dataset? data, DataSplit? split, RunDirectory? run, string? dataOption, int count)
    {
        if (data is null && (detector.ImageShape != ImageShape.Mnist || detector.Metadata.Invert))
            throw new UsageException($"--verify needs images the model takes: {detector.Source} is a model file of {detector.ImageShape} images outside a run; export it from its run (--run DIR)");
        Dataset images = data ?? SharedOptions.LoadDataFor(run, dataOption);
        int[] pool = split is { Test.Length: > 0 } ? split.Test : [.. Enumerable.Range(images.TrainCount < images.Count ? images.TrainCount : 0, images.TrainCount < images.Count ? images.Count - images.TrainCount : images.Count)];
        string what = split is { Test.Length: > 0 } ? "of the test split" : images.TrainCount < images.Count ? "of the data's test part" : "of the data";
        int[] indices = pool[..Math.Min(count, pool.Length)];
        int n = indices.Length, length = detector.ImageShape.Length;
        float[] scores = detector.Scores(images.Gather(indices), n, kind, i => images.Describe(indices[i]));
        // The graph takes the bytes as read from files; the dataset holds them as the model sees them (inverted when it was trained so).
        var pixels = new byte[(long)n * length];
        for (int i = 0; i < n; i++) images.Bytes.AsSpan(indices[i] * length, length).CopyTo(pixels.AsSpan(i * length, length));
        if (detector.Metadata.Invert)
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(255 - pixels[i]);
        OnnxOutputs outputs = runner.Run(model, pixels, n, detector.ImageShape);
        ExportComparison c = ExportComparison.Of(outputs, scores, threshold, calibration);
        if (!c.Passed)
        {
            string detail = c.FlagsDiffering > 0
                ? $"{c.FlagsDiffering} flags differ, the first on {images.Describe(indices[c.FirstFlagDiffering])}"
                : c.WorstPValue > 0 ? $"p-values differ by up to {c.WorstPValue:G3}"
                : $"{images.Describe(indices[c.WorstIndex])} scores {outputs.Scores[c.WorstIndex]:R} in ONNX Runtime and {scores[c.WorstIndex]:R} here (relative difference {c.WorstRelative:G3}, tolerance {ExportComparison.Tolerance:G3})";
            throw new CliExitException(ExitCodes.DataError, string.Create(CultureInfo.InvariantCulture,
                $"--verify: the export disagrees with aemnist in {runner.Name} on {n} images {what}: {detail}; nothing was written (please report it)"));
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"Verified in {runner.Name} on {n} images {what}: worst relative score difference {c.WorstRelative:G3} (tolerance {ExportComparison.Tolerance:G3}), {(c.FlagsNearThreshold == 0 ? "flags identical" : $"flags identical but for {c.FlagsNearThreshold} scores within the tolerance of the threshold")}{(calibration is null ? "" : ", p-values exact")}");
    }
}
