// Chooses which pooled MNIST images are normal/anomalous training and test data. The split is a pure
// function of its options (protocol, normal digit, counts, validation fraction, seed): the same
// options give the same indices on any machine, because the only randomness is our own Rng.
namespace AeMnist.Data;

public enum SplitProtocol
{
    /// <summary>The tutorial's experiment: sample from all 70,000 digits, 9% anomalies in training.</summary>
    Seed,

    /// <summary>The one-class literature's: train on every training-file image of the normal digit, test on the test file.</summary>
    OneClass,

    /// <summary>
    /// For choosing a recipe without the test file: the one-class protocol inside the training file. Each class's training
    /// images are cut in file order at five sixths; the normal class's first five sixths train, and the last sixth of every
    /// class tests (MNIST: about 5,000 normal training images, about 10,000 test images, none of them from the test file).
    /// </summary>
    Development,
}

/// <summary>Everything that defines a split. Defaults are the tutorial's (normal digit 5, 5,000 + 500 train, 1,000 + 1,000 test).</summary>
public sealed record SplitOptions(
    SplitProtocol Protocol = SplitProtocol.Seed,
    int Normal = 5,
    int TrainNormal = 5000,
    int TrainAnomalies = 500,
    int TestNormal = 1000,
    int TestAnomalies = 1000,
    double Validation = 0.0,
    ulong Seed = 42)
{
    public static string ProtocolName(SplitProtocol protocol) => protocol switch
    {
        SplitProtocol.Seed => "seed",
        SplitProtocol.OneClass => "one-class",
        _ => "development",
    };

    /// <summary>The protocols' names, for messages: "seed, one-class or development".</summary>
    public const string ProtocolNames = "seed, one-class or development";

    public static bool TryParseProtocol(string text, out SplitProtocol protocol)
    {
        switch (text)
        {
            case "seed": protocol = SplitProtocol.Seed; return true;
            case "one-class": protocol = SplitProtocol.OneClass; return true;
            case "development": protocol = SplitProtocol.Development; return true;
            default: protocol = default; return false;
        }
    }
}

/// <summary>Indices into the pooled <see cref="Dataset"/> (training file first, then test file).</summary>
public sealed record DataSplit(SplitOptions Options, int[] Train, int[] Validation, int[] Test)
{
    /// <summary>True when early stopping and threshold choice must watch the test split (no validation split).</summary>
    public bool MonitorsTest => Validation.Length == 0;

    /// <summary>The split early stopping watches: validation if there is one, else test (as the tutorial does).</summary>
    public int[] Monitor => MonitorsTest ? Test : Validation;
}

public static class Splitter
{
    /// <summary>
    /// The share of the normal class's images a one-class split holds out for testing when the data has no test part of
    /// its own (anomalib's normal_split_ratio).
    /// </summary>
    public const double HeldOutNormal = 0.2;

    /// <summary>
    /// The fewest images a validation split may leave to train on: 10, or half the training part when it holds fewer
    /// than 20 (a smaller --validation is then the remedy).
    /// </summary>
    public const int MinTrainImages = 10;

    /// <summary>The split of <paramref name="data"/> that <paramref name="options"/> define; its messages call a class a "digit" only for MNIST.</summary>
    public static DataSplit Split(Dataset data, SplitOptions options) => Split(data.Labels, data.TrainCount, options, data.ClassNoun);

    /// <summary>The split <paramref name="options"/> (validated where they were given: <see cref="Validate"/>) define over these labels.</summary>
    public static DataSplit Split(byte[] labels, int trainFileCount, SplitOptions options, string noun = "digit")
    {
        var rng = new Rng(options.Seed);
        int[] train, test;
        if (options.Protocol == SplitProtocol.Seed)
        {
            int[] normals = Where(labels, 0, labels.Length, l => l == options.Normal);
            int[] others = Where(labels, 0, labels.Length, l => l != options.Normal);
            int normalNeeded = options.TrainNormal + options.TestNormal;
            int anomalyNeeded = options.TrainAnomalies + options.TestAnomalies;
            if (normalNeeded > normals.Length)
                throw new ArgumentException(
                    $"--train-normal + --test-normal = {normalNeeded}, but only {normals.Length} images of {noun} {options.Normal} exist; lower the counts");
            if (anomalyNeeded > others.Length)
                throw new ArgumentException(
                    $"--train-anomalies + --test-anomalies = {anomalyNeeded}, but only {others.Length} images of other {noun}s exist; lower the counts");
            int[] normalSample = Sample(normals, normalNeeded, rng);
            int[] anomalySample = Sample(others, anomalyNeeded, rng);
            train = [.. normalSample.AsSpan(0, options.TrainNormal), .. anomalySample.AsSpan(0, options.TrainAnomalies)];
            test = [.. normalSample.AsSpan(options.TrainNormal), .. anomalySample.AsSpan(options.TrainAnomalies)];
        }
        else if (options.Protocol == SplitProtocol.Development)
        {
            (train, test) = Development(labels, trainFileCount, options.Normal, noun);
        }
        else
        {
            train = Where(labels, 0, trainFileCount, l => l == options.Normal);
            test = Enumerable.Range(trainFileCount, labels.Length - trainFileCount).ToArray();
            if (train.Length == 0)
                throw new ArgumentException($"the training part of the data has no images of {noun} {options.Normal}");
            if (test.Length == 0 && labels.Any(l => l != options.Normal))
            {
                // Data without a test part (a folder of class folders): as anomalib's Folder data, a seeded share of the
                // normal images is held out and tested with every image of the other classes.
                int[] shuffled = (int[])train.Clone();
                rng.Shuffle(shuffled.AsSpan());
                int held = (int)Math.Round(train.Length * HeldOutNormal);
                if (held == 0 || held == train.Length)
                    throw new ArgumentException($"{train.Length} images of {noun} {options.Normal} are too few to hold {HeldOutNormal:P0} out for testing; add images (or give the data a test part)");
                var heldOut = new HashSet<int>(shuffled[..held]);
                test = [.. Enumerable.Range(0, labels.Length).Where(i => heldOut.Contains(i) || labels[i] != options.Normal)];
                train = [.. train.Where(i => !heldOut.Contains(i))];
            }
        }

        int[] validation = [];
        if (options.Validation > 0)
        {
            int validationCount = (int)Math.Round(train.Length * options.Validation);
            if (validationCount == 0 || validationCount == train.Length)
                throw new ArgumentException(
                    $"--validation {options.Validation} leaves {train.Length - validationCount} training and {validationCount} validation images; choose a fraction that leaves both non-empty");
            // A model trained on a handful of images learns nothing about the class: refused, not trained in silence.
            int minimum = Math.Min(MinTrainImages, (train.Length + 1) / 2);
            if (train.Length - validationCount < minimum)
                throw new ArgumentException(
                    $"--validation {options.Validation} leaves {train.Length - validationCount} of {train.Length} images to train on (at least {minimum} are needed); choose a smaller fraction, such as 0.1");
            int[] shuffled = (int[])train.Clone();
            rng.Shuffle(shuffled.AsSpan());
            validation = shuffled[..validationCount];
            Array.Sort(validation);
            var validationSet = new HashSet<int>(validation);
            train = train.Where(i => !validationSet.Contains(i)).ToArray();
        }
        return new DataSplit(options, train, validation, test);
    }

    // Each class's training-file images in file order, cut at five sixths: the normal class's first part trains, every
    // class's last sixth tests (at least one image of every other class). The test file is never touched; no randomness (the seed only draws the validation split).
    private static (int[] Train, int[] Test) Development(byte[] labels, int trainFileCount, int normal, string noun)
    {
        var byClass = new Dictionary<byte, List<int>>();
        for (int i = 0; i < trainFileCount; i++)
        {
            if (!byClass.TryGetValue(labels[i], out List<int>? members)) byClass[labels[i]] = members = [];
            members.Add(i);
        }
        if (!byClass.TryGetValue((byte)normal, out List<int>? normals) || normals.Count == 0)
            throw new ArgumentException($"the training part of the data has no images of {noun} {normal}");
        if (byClass.Count < 2)
            throw new ArgumentException($"the development protocol needs training images of another {noun} besides {noun} {normal} to test against; the training part has only {noun} {normal}");
        var test = new List<int>();
        int[] train = [];
        foreach ((byte label, List<int> members) in byClass)
        {
            int held = label == normal ? DevelopmentHeld(members.Count) : Math.Max(1, DevelopmentHeld(members.Count));
            if (label == normal)
            {
                if (held == 0 || held == members.Count)
                    throw new ArgumentException($"{members.Count} training images of {noun} {normal} are too few to hold a sixth out for the development protocol; use one-class");
                train = [.. members.Take(members.Count - held)];
            }
            test.AddRange(members.Skip(members.Count - held));
        }
        test.Sort();
        return (train, [.. test]);
    }

    /// <summary>How many of a class's <paramref name="count"/> training images the development protocol tests on: the last sixth, rounded.</summary>
    public static int DevelopmentHeld(int count) => (int)Math.Round(count / 6.0, MidpointRounding.AwayFromZero);

    public static void Validate(SplitOptions options)
    {
        if (options.Normal is < 0 or > 254)
            throw new ArgumentException($"--normal {options.Normal} is not a class number");
        if (options.Protocol == SplitProtocol.Seed)
        {
            if (options.TrainNormal <= 0) throw new ArgumentException($"--train-normal must be positive, got {options.TrainNormal}");
            if (options.TrainAnomalies < 0) throw new ArgumentException($"--train-anomalies must be 0 or more, got {options.TrainAnomalies}");
            if (options.TestNormal <= 0) throw new ArgumentException($"--test-normal must be positive, got {options.TestNormal}");
            if (options.TestAnomalies <= 0) throw new ArgumentException($"--test-anomalies must be positive, got {options.TestAnomalies}");
        }
        if (!(options.Validation >= 0 && options.Validation < 1))
            throw new ArgumentException($"--validation {options.Validation} must be a fraction in [0, 1)");
    }

    private static int[] Where(byte[] labels, int start, int end, Func<byte, bool> predicate)
    {
        var result = new List<int>();
        for (int i = start; i < end; i++)
            if (predicate(labels[i])) result.Add(i);
        return result.ToArray();
    }

    /// <summary>k distinct items in random order: a partial Fisher-Yates shuffle, as random.sample draws.</summary>
    private static int[] Sample(int[] population, int k, Rng rng)
    {
        int[] pool = (int[])population.Clone();
        for (int i = 0; i < k; i++)
        {
            int j = i + rng.NextInt(pool.Length - i);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        return pool[..k];
    }
}
