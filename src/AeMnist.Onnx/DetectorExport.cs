// A detector as one ONNX model: image bytes in; preprocessing (scaling, inversion as trained), the autoencoder (one
// ONNX node per layer spec), the score and its per-pixel map, the threshold and, when calibration scores are given,
// the conformal p-value out; the detector's facts in the model's metadata properties. Opset 17, IR version 8, a
// symbolic batch dimension N. Resizing is not in the graph (SkiaSharp's linear+mipmap filter has no exact ONNX form):
// a model trained with --size takes images already at its size, and its metadata says so.
using System.Globalization;
using AeMnist.Detection;
using AeMnist.Models;
using AeMnist.Onnx.Proto;
using AeMnist.Scoring;
using AeMnist.Tensors;
using Google.Protobuf;

namespace AeMnist.Onnx;

/// <summary>What an export holds: the model and its weights, what its file says, the score and threshold it flags with.</summary>
public sealed record ExportRequest(ModelSpec Spec, StateDict Weights, ModelMetadata Metadata, ScoreKind Score, double Threshold, string ThresholdRule)
{
    /// <summary>Scores of normal images the p-value is computed against (null: no p_value output).</summary>
    public float[]? Calibration { get; init; }

    /// <summary>Which images <see cref="Calibration"/> holds, in words ("the 540 normal digits of the validation split").</summary>
    public string? CalibrationText { get; init; }

    /// <summary>The training data's checksum and where it was (null for a model file outside a run).</summary>
    public string? DataSha256 { get; init; }

    public string? DataSource { get; init; }
}

public static class DetectorExport
{
    public const int Opset = 17;
    public const int IrVersion = 8;

    /// <summary>The graph's input and output names.</summary>
    public const string Image = "image", Score = "score", IsAnomaly = "is_anomaly", PValue = "p_value", Reconstruction = "reconstruction", AnomalyMap = "anomaly_map";

    /// <summary>The score kinds an export can carry (others are refused with a message naming these).</summary>
    public static IReadOnlyList<ScoreKind> SupportedScores => ScoreGraphs.Supported;

    /// <summary>Throws <see cref="NotSupportedException"/> when <paramref name="kind"/> cannot be exported, saying which can.</summary>
    public static void CheckScore(ScoreKind kind) => ScoreGraphs.Get(kind);

    /// <summary>The ONNX model file's bytes.</summary>
    public static byte[] ToBytes(ExportRequest request) => Build(request).ToByteArray();

    internal static ModelProto Build(ExportRequest request)
    {
        ModelSpec spec = request.Spec;
        spec.CheckWeights(request.Weights);
        if (!(double.IsFinite(request.Threshold) && request.Threshold >= 0))
            throw new ArgumentException($"the threshold {request.Threshold} is not a number 0 or more");
        ScoreGraph scoreGraph = ScoreGraphs.Get(request.Score);
        ImageShape image = spec.Image;
        long c = image.Channels, h = image.Height, w = image.Width;
        var g = new OnnxGraph("aemnist_detector");
        bool pValues = request.Calibration is { Length: > 0 };
        g.Reserve(pValues ? new[] { Score, IsAnomaly, PValue, Reconstruction, AnomalyMap } : new[] { Score, IsAnomaly, Reconstruction, AnomalyMap });
        bool invert = request.Metadata.Invert;
        string input = g.Input(Image, ElementType.UInt8, [-1, c, h, w],
            $"pixels 0-255, (N, {c}, {h}, {w}), planar channels{(c == 3 ? " red, green, blue" : "")}, {(invert ? "dark ink on a light background (the graph inverts them, as the model was trained)" : "light ink on a dark background")}" +
            (request.Metadata.Resize ? $"; already resized to {h}x{w} (the graph does not resize)" : ""));

        // Preprocessing: bytes / 255 (or (255 - bytes) / 255), as aemnist reads images.
        string x = g.Node("Cast", [input], "pixels", ("to", (long)ElementType.Float));
        string scale = g.Scalar("pixel_max", 255f);
        if (invert) x = g.Node("Sub", [scale, x], "inverted");
        x = g.Node("Div", [x, scale], "x");

        string value = spec.Input.IsVector ? g.Node("Flatten", [x], "x_flat", ("axis", 1L)) : x;
        for (int i = 0; i < spec.Layers.Count; i++) value = Layer(g, spec.Layers[i], spec.LayerName(i), value, request.Weights);
        string reconstruction = spec.Input.IsVector ? g.Node("Reshape", [value, g.Constant("image_shape", new long[] { -1, c, h, w }, 4)], Reconstruction) : value;

        (string score, string map) = scoreGraph.Build(g, x, reconstruction, image, request.Metadata.Calibration);
        string scoreDouble = g.Node("Cast", [score], "score_f64", ("to", (long)ElementType.Double));
        string flags = g.Node("GreaterOrEqual", [scoreDouble, g.Scalar("threshold", request.Threshold)], IsAnomaly);

        string name = Scores.Name(request.Score);
        g.Output(score, Score, ElementType.Float, [-1], $"the {name} score ({Scores.Label(request.Score)}): {scoreGraph.Summary}");
        g.Output(flags, IsAnomaly, ElementType.Bool, [-1], $"score >= {Text(request.Threshold)} ({request.ThresholdRule})");
        if (pValues)
        {
            float[] calibration = request.Calibration!;
            string reference = g.Constant("calibration_scores", calibration, 1, calibration.Length);
            string column = g.Node("Unsqueeze", [score, g.Constant("axis_1", new long[] { 1 }, 1)], "score_column");
            string atLeast = g.Node("Cast", [g.Node("GreaterOrEqual", [reference, column], "calibration_at_least")], "calibration_at_least_f64", ("to", (long)ElementType.Double));
            string count = g.Node("ReduceSum", [atLeast, g.Constant("axis_1_sum", new long[] { 1 }, 1)], "calibration_count", ("keepdims", 0L));
            string p = g.Node("Div", [g.Node("Add", [count, g.Scalar("one", 1.0)], "calibration_count_1"), g.Scalar("calibration_n_1", calibration.Length + 1.0)], PValue);
            g.Output(p, PValue, ElementType.Double, [-1], $"conformal p-value (1 + #{{calibration scores >= score}}) / ({calibration.Length} + 1), against {request.CalibrationText}");
        }
        g.Output(reconstruction, Reconstruction, ElementType.Float, [-1, c, h, w], "the autoencoder's reconstruction of x = pixels / 255 (after inversion, if any)");
        g.Output(map, AnomalyMap, ElementType.Float, [-1, h, w], $"the {name} score pixel by pixel, averaged over channels (its mean over the finite values is the score)");

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "aemnist",
            ProducerVersion = ModelMetadata.ToolVersion,
            Domain = "aemnist",
            ModelVersion = 1,
            DocString = $"aemnist anomaly detector: {spec.Describe()} scored by {name}; flags score >= {Text(request.Threshold)}",
            Graph = g.Proto,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach ((string key, string text) in Properties(request, scoreGraph, pValues))
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = text });
        return model;
    }

    /// <summary>The model's metadata properties: the model file's own, then what the export adds.</summary>
    public static IReadOnlyList<(string Key, string Value)> Properties(ExportRequest request) =>
        Properties(request, ScoreGraphs.Get(request.Score), request.Calibration is { Length: > 0 });

    private static List<(string, string)> Properties(ExportRequest request, ScoreGraph graph, bool pValues)
    {
        ModelMetadata m = request.Metadata;
        ImageShape image = request.Spec.Image;
        var properties = new Dictionary<string, string>(m.ToDictionary(), StringComparer.Ordinal)
        {
            ["aemnist_version"] = ModelMetadata.ToolVersion,
            ["score"] = Scores.Name(request.Score),
            ["score_definition"] = graph.Summary,
            ["threshold"] = request.Threshold.ToString("R", CultureInfo.InvariantCulture),
            ["threshold_rule"] = request.ThresholdRule,
            ["image_shape"] = image.Text,
            ["normal_class"] = m.NormalClass ?? (m.Normal is { } d ? d.ToString(CultureInfo.InvariantCulture) : "unknown"),
            ["input"] = $"image: uint8 (N, {image.Channels}, {image.Height}, {image.Width}), pixels 0-255",
            ["preprocessing"] = (m.Invert ? "x = (255 - image) / 255 (the model was trained on inverted images)" : "x = image / 255")
                + (m.Resize ? $"; the model was trained on images resized to {image.Height}x{image.Width} by SkiaSharp (linear filter, linear mipmaps), which the graph does not do: resize images to that size before" : "; no resizing"),
            ["outputs"] = string.Join(", ", pValues ? new[] { Score, IsAnomaly, PValue, Reconstruction, AnomalyMap } : new[] { Score, IsAnomaly, Reconstruction, AnomalyMap }),
        };
        if (request.DataSha256 is { } sha) properties["data_sha256"] = sha;
        if (request.DataSource is { } source) properties["data_source"] = source;
        if (pValues)
        {
            properties["p_value_calibration"] = request.CalibrationText ?? $"{request.Calibration!.Length} normal images";
            properties["p_value_promise"] = "for a new normal image exchangeable with the calibration images, P(p_value <= a) <= a: flagging p_value <= a raises false alarms on at most a share a of such images on average";
        }
        return [.. properties.Select(p => (p.Key, p.Value))];
    }

    // One layer spec as ONNX nodes, reading its tensors by their state-dict names.
    private static string Layer(OnnxGraph g, LayerSpec layer, string name, string x, StateDict weights)
    {
        string Tensor(string entry)
        {
            NamedTensor t = weights[$"{name}.{entry}"];
            return g.Constant(t.Name, t.Data, [.. t.Shape.Select(d => (long)d)]);
        }
        return layer switch
        {
            // input (N, In), weight (Out, In), bias (Out) -> output (N, Out) = x Wᵀ + b
            LinearSpec => g.Node("Gemm", [x, Tensor("weight"), Tensor("bias")], name, ("transB", 1L)),
            Conv2dSpec s => g.Node("Conv", [x, Tensor("weight"), Tensor("bias")], name,
                ("kernel_shape", new long[] { s.KernelSize, s.KernelSize }), ("strides", new long[] { s.Stride, s.Stride }),
                ("pads", new long[] { s.Padding, s.Padding, s.Padding, s.Padding }), ("dilations", new long[] { 1, 1 }), ("group", 1L)),
            // weight (Cin, Cout, K, K), as PyTorch and ONNX both store it.
            ConvTranspose2dSpec s => g.Node("ConvTranspose", [x, Tensor("weight"), Tensor("bias")], name,
                ("kernel_shape", new long[] { s.KernelSize, s.KernelSize }), ("strides", new long[] { s.Stride, s.Stride }),
                ("pads", new long[] { s.Padding, s.Padding, s.Padding, s.Padding }), ("output_padding", new long[] { s.OutputPadding, s.OutputPadding }),
                ("dilations", new long[] { 1, 1 }), ("group", 1L)),
            ReLUSpec => g.Node("Relu", [x], name),
            SigmoidSpec => g.Node("Sigmoid", [x], name),
            FlattenSpec => g.Node("Flatten", [x], name, ("axis", 1L)),
            UnflattenSpec s => g.Node("Reshape", [x, g.Constant(name + ".shape", new long[] { -1, s.Channels, s.Height, s.Width }, 4)], name),
            // Evaluation mode: the running statistics.
            BatchNormSpec s => g.Node("BatchNormalization", [x, Tensor("weight"), Tensor("bias"), Tensor("running_mean"), Tensor("running_var")], name,
                ("epsilon", (float)s.Eps)),
            _ => throw new NotSupportedException($"the ONNX export has no translation of the layer {layer} ({name})"),
        };
    }

    private static string Text(double value) => value.ToString("G9", CultureInfo.InvariantCulture);
}
