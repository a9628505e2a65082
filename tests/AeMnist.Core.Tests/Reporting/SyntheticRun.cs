// A made-up but plausible run for report tests and the browser check: seeded log-normal errors, a
// training history, seven-segment "digits" with blurred "reconstructions", and metrics computed here; and a run on
// data other than MNIST: 3x40x40 RGB discs of classes chunk, good (normal) and scratch, the samples' scores computed
// from their images by the score itself.
using AeMnist.Reporting;
using AeMnist.Scoring;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Reporting;

internal static class SyntheticRun
{
    public static ReportInput Create(ulong seed = 7, int normalDigit = 3, int perClass = 1000, string title = "Dense autoencoder, normal digit 3")
    {
        var rng = new Rng(seed);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

        var errors = new List<float>();
        var labels = new List<byte>();
        var anomaly = new List<bool>();
        for (int i = 0; i < 2 * perClass; i++)
        {
            bool isAnomaly = i >= perClass;
            int digit = isAnomaly ? (normalDigit + 1 + rng.NextInt(9)) % 10 : normalDigit;
            double logMean = isAnomaly ? -3.55 + 0.06 * digit : -4.4;
            errors.Add((float)Math.Exp(logMean + (isAnomaly ? 0.5 : 0.35) * Gauss()));
            labels.Add((byte)digit);
            anomaly.Add(isAnomaly);
        }
        var normalErrors = errors.Where((_, i) => !anomaly[i]).Order().ToList();
        double threshold = normalErrors[(int)(0.9 * (normalErrors.Count - 1))];

        var history = new List<HistoryRow>();
        for (int epoch = 1; epoch <= 30; epoch++)
        {
            double train = 0.012 + 0.05 * Math.Exp(-epoch / 5.0) + 0.0004 * Gauss();
            double monitor = 0.0135 + 0.05 * Math.Exp(-epoch / 5.0) + 0.00003 * Math.Pow(Math.Max(0, epoch - 18), 2) + 0.0004 * Gauss();
            history.Add(new HistoryRow(epoch, train, monitor, 2.5 + 0.2 * rng.NextDouble()));
        }
        int best = history.MinBy(h => h.MonitorLoss!.Value)!.Epoch;

        var samples = new ReportSamples(
            Pick(errors, labels, anomaly, wantAnomaly: false, highest: false, rng),
            Pick(errors, labels, anomaly, wantAnomaly: false, highest: true, rng),
            Pick(errors, labels, anomaly, wantAnomaly: true, highest: true, rng),
            Pick(errors, labels, anomaly, wantAnomaly: true, highest: false, rng));

        return new ReportInput
        {
            Title = title,
            Settings =
            [
                ("model", "dense 784-128-64-32-64-128-784"), ("protocol", "seed"), ("normal digit", normalDigit.ToString()),
                ("seed", seed.ToString()), ("epochs", "30 (patience 5)"), ("optimizer", "Adam, lr 0.001, batch 64"),
                ("threshold", $"{threshold:G4} (90th percentile of training errors)"), ("training time", "78.4 s"),
            ],
            History = history,
            BestEpoch = best,
            TestErrors = [.. errors],
            TestLabels = [.. labels],
            TestIsAnomaly = [.. anomaly],
            Threshold = threshold,
            Metrics = Metrics(errors, labels, anomaly, threshold),
            Samples = samples,
            TestUsedForEarlyStopping = false,
            ThresholdRule = "percentile 90 of the normal errors",
            Latent = new LatentProjection(
                [.. labels.Select(l => Math.Cos(l) * 3 + Gauss())], [.. labels.Select(l => Math.Sin(l) * 3 + Gauss())], [.. labels], [0.31, 0.17], 32, normalDigit),
        };
    }

    /// <summary>The synthetic discs' classes, in the order a class-folder dataset numbers them (ordinal).</summary>
    public static readonly IReadOnlyList<string> DiscClasses = ["chunk", "good", "scratch"];

    public static readonly ImageShape DiscShape = new(3, 40, 40);

    /// <summary>
    /// A run on 3x40x40 RGB discs (classes chunk, good, scratch; good normal) scored by <paramref name="score"/>: errors
    /// drawn as for MNIST, the samples real images whose reconstructions are the good disc blurred (so defects are not
    /// reconstructed) and whose errors are their <paramref name="score"/>.
    /// </summary>
    public static ReportInput CreateDiscs(ScoreKind score = ScoreKind.Ssim, ulong seed = 5, int perClass = 300, string title = "AeMnist: bottleneck autoencoder, normal class 'good' (discs)")
    {
        ReportInput mnist = Create(seed, normalDigit: 1, perClass: perClass, title: title);
        var rng = new Rng(seed + 1);
        // Labels: normal images are class 1 (good); anomalies alternate chunk (0) and scratch (2).
        byte[] labels = [.. mnist.TestIsAnomaly.Select((a, i) => (byte)(a ? (i % 2 == 0 ? 0 : 2) : 1))];
        List<ImageSample> Samples(bool anomalous, int count)
        {
            var list = new List<ImageSample>();
            for (int k = 0; k < count; k++)
            {
                int label = anomalous ? (k % 2 == 0 ? 0 : 2) : 1;
                (float[] image, float[] reconstruction) = Disc(label, rng);
                float[] error = new float[1];
                Scores.FromReconstructions(score, image, reconstruction, 1, DiscShape, error);
                list.Add(new ImageSample(image, reconstruction, error[0], label));
            }
            return [.. list.OrderBy(s => s.Error)];
        }
        var normals = Samples(false, 8);
        var anomalies = Samples(true, 8);
        double[] rates = [.. Enumerable.Range(0, 3).Select(c =>
        {
            int[] mine = [.. Enumerable.Range(0, labels.Length).Where(i => labels[i] == c)];
            return mine.Length == 0 ? double.NaN : (double)mine.Count(i => mnist.TestErrors[i] > mnist.Threshold) / mine.Length;
        })];
        return mnist with
        {
            Settings = [("model", "bottleneck"), ("normal class", "good"), ("classes", "chunk, good, scratch"), ("seed", seed.ToString())],
            TestLabels = labels,
            ClassNames = DiscClasses,
            IsMnist = false,
            Shape = DiscShape,
            Score = score,
            Data = new ReportData("MVTec AD", "/data/discs", "5f0c3e5a9d1b7c2e4a6f8b0d2c4e6a8b1d3f5a7c9e0b2d4f6a8c0e2b4d6f8a0c"),
            Engine = "native (cpu, 2 threads)",
            TestSetName = "the test split",
            Metrics = mnist.Metrics with { ClassFlagRates = rates },
            Samples = new ReportSamples(normals, [.. Enumerable.Reverse(normals)], [.. Enumerable.Reverse(anomalies)], anomalies),
            Latent = mnist.Latent! with { Labels = [.. labels.Take(mnist.Latent!.X.Length)], Normal = 1, ClassNames = DiscClasses },
        };
    }

    /// <summary>A disc of class <paramref name="label"/> (0 chunk: a wedge missing, 1 good, 2 scratch: a light line across) and the good disc blurred, its "reconstruction".</summary>
    public static (float[] Image, float[] Reconstruction) Disc(int label, Rng rng)
    {
        const int side = 40, plane = side * side;
        float[] colour = [0.85f, 0.55f + 0.1f * rng.NextSingle(), 0.2f];
        double cx = 19.5 + rng.NextInt(3) - 1, cy = 19.5 + rng.NextInt(3) - 1, angle = 2 * Math.PI * rng.NextDouble();
        float[] good = new float[3 * plane], image = new float[3 * plane];
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                double dx = x - cx, dy = y - cy, r = Math.Sqrt(dx * dx + dy * dy);
                bool inside = r < 14;
                double a = Math.Atan2(dy, dx) - angle;
                a = Math.Atan2(Math.Sin(a), Math.Cos(a));
                bool chunk = label == 0 && inside && r > 6 && Math.Abs(a) < 0.45;
                bool scratch = label == 2 && inside && Math.Abs(dx * Math.Sin(angle) - dy * Math.Cos(angle)) < 0.8;
                for (int c = 0; c < 3; c++)
                {
                    float background = 0.12f + 0.04f * c;
                    float value = inside ? colour[c] * (float)(1 - 0.25 * r / 14) : background;
                    good[c * plane + y * side + x] = value;
                    image[c * plane + y * side + x] = chunk ? background : scratch ? 0.97f : value;
                }
            }
        var reconstruction = new float[3 * plane];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                {
                    float sum = 0;
                    for (int v = -1; v <= 1; v++)
                        for (int u = -1; u <= 1; u++) sum += good[c * plane + Math.Clamp(y + v, 0, side - 1) * side + Math.Clamp(x + u, 0, side - 1)];
                    reconstruction[c * plane + y * side + x] = sum / 9;
                }
        return (image, reconstruction);
    }

    private static List<ImageSample> Pick(List<float> errors, List<byte> labels, List<bool> anomaly, bool wantAnomaly, bool highest, Rng rng)
    {
        var indices = Enumerable.Range(0, errors.Count).Where(i => anomaly[i] == wantAnomaly).OrderBy(i => errors[i]).ToList();
        if (highest) indices.Reverse();
        return [.. indices.Take(8).Select(i =>
        {
            float[] original = SevenSegment(labels[i], rng);
            return new ImageSample(original, Blur(original, wantAnomaly ? 0.35f : 0.1f, rng), errors[i], labels[i]);
        })];
    }

    // Segments a-g of a seven-segment display, per digit.
    private static readonly string[] Segments = ["abcdef", "bc", "abdeg", "abcdg", "bcfg", "acdfg", "acdefg", "abc", "abcdefg", "abcdfg"];

    public static float[] SevenSegment(int digit, Rng rng)
    {
        var image = new float[784];
        int dx = rng.NextInt(3) - 1, dy = rng.NextInt(3) - 1;
        void Stroke(int x0, int y0, int x1, int y1)
        {
            for (int y = Math.Min(y0, y1) - 1; y <= Math.Max(y0, y1) + 1; y++)
                for (int x = Math.Min(x0, x1) - 1; x <= Math.Max(x0, x1) + 1; x++)
                    image[Math.Clamp(y + dy, 0, 27) * 28 + Math.Clamp(x + dx, 0, 27)] = 1f;
        }
        foreach (char s in Segments[digit])
        {
            switch (s)
            {
                case 'a': Stroke(9, 5, 18, 5); break;
                case 'b': Stroke(18, 5, 18, 13); break;
                case 'c': Stroke(18, 14, 18, 22); break;
                case 'd': Stroke(9, 22, 18, 22); break;
                case 'e': Stroke(9, 14, 9, 22); break;
                case 'f': Stroke(9, 5, 9, 13); break;
                default: Stroke(9, 13, 18, 13); break;
            }
        }
        return image;
    }

    private static float[] Blur(float[] image, float noise, Rng rng)
    {
        var output = new float[784];
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
            {
                float sum = 0;
                for (int v = -1; v <= 1; v++)
                    for (int u = -1; u <= 1; u++) sum += image[Math.Clamp(y + v, 0, 27) * 28 + Math.Clamp(x + u, 0, 27)];
                output[y * 28 + x] = Math.Clamp(sum / 9 * 1.2f + noise * (rng.NextSingle() - 0.5f), 0, 1);
            }
        return output;
    }

    /// <summary>Straightforward metrics (anomaly positive, flagged when error &gt; threshold); ROC and PR by sweeping sorted errors.</summary>
    public static ReportMetrics Metrics(IReadOnlyList<float> errors, IReadOnlyList<byte> labels, IReadOnlyList<bool> anomaly, double threshold)
    {
        long tp = 0, fp = 0, tn = 0, fn = 0;
        for (int i = 0; i < errors.Count; i++)
        {
            bool flagged = errors[i] > threshold;
            if (anomaly[i]) { if (flagged) tp++; else fn++; }
            else { if (flagged) fp++; else tn++; }
        }
        double P(long a, long b) => a + b == 0 ? double.NaN : (double)a / (a + b);
        double precision = P(tp, fp), recall = P(tp, fn);
        double normalPrecision = P(tn, fn), normalRecall = P(tn, fp);

        var order = Enumerable.Range(0, errors.Count).OrderByDescending(i => errors[i]).ToList();
        long positives = anomaly.Count(a => a), negatives = errors.Count - positives;
        List<double> fpr = [0], tpr = [0], prRecall = [0], prPrecision = [1];
        long t = 0, f = 0;
        double auc = 0, ap = 0;
        for (int k = 0; k < order.Count; k++)
        {
            if (anomaly[order[k]]) t++; else f++;
            if (k < order.Count - 1 && errors[order[k + 1]] == errors[order[k]]) continue;
            double x = (double)f / negatives, y = (double)t / positives;
            auc += (x - fpr[^1]) * (y + tpr[^1]) / 2;
            ap += (y - prRecall[^1]) * ((double)t / (t + f));
            fpr.Add(x); tpr.Add(y);
            prRecall.Add(y); prPrecision.Add((double)t / (t + f));
        }

        var rates = Enumerable.Range(0, 10).Select(d =>
        {
            var mine = Enumerable.Range(0, errors.Count).Where(i => labels[i] == d).ToList();
            return mine.Count == 0 ? double.NaN : (double)mine.Count(i => errors[i] > threshold) / mine.Count;
        }).ToList();

        return new ReportMetrics
        {
            Accuracy = (double)(tp + tn) / errors.Count,
            Precision = precision,
            Recall = recall,
            F1 = 2 * precision * recall / (precision + recall),
            F1Normal = 2 * normalPrecision * normalRecall / (normalPrecision + normalRecall),
            Auroc = auc,
            AveragePrecision = ap,
            TruePositives = tp, FalsePositives = fp, TrueNegatives = tn, FalseNegatives = fn,
            ClassFlagRates = rates,
            RocFpr = fpr, RocTpr = tpr, PrRecall = prRecall, PrPrecision = prPrecision,
        };
    }
}
