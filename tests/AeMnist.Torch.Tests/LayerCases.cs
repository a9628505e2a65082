// The models the differential tests run on both engines: one small case per group of layer kinds (every LayerSpec type
// of AeMnist.Core must appear in some case; LayerCoverageTests fails otherwise), and every registered architecture.
using AeMnist.Models;
using AeMnist.Tensors;
using static AeMnist.Models.Layers;

namespace AeMnist.Torch.Tests;

/// <summary>A model for the differential tests: its spec, and images to feed it (pixels in [0, 1]).</summary>
public sealed record DifferentialCase(string Name, ModelSpec Spec, bool RealImages)
{
    public override string ToString() => Name;
}

/// <summary>An architecture made of given layers, for specs that no registered architecture has.</summary>
internal sealed class LayerTestArchitecture(string name, SampleShape input, LayerSpec[] encoder, LayerSpec[] decoder) : Architecture
{
    public override string Name => name;

    public override string Summary => "a differential test case";

    protected override ModelSpec Build(ArchitectureSettings settings, ImageShape image) => new(this, settings, input, encoder, decoder);
}

public static class LayerCases
{
    /// <summary>Small models that between them use every layer kind, with strides, paddings and output paddings.</summary>
    public static IReadOnlyList<DifferentialCase> Layers { get; } =
    [
        Case("linear-relu-sigmoid", SampleShape.Vector(10), [Linear(10, 4), ReLU()], [Linear(4, 10), Sigmoid()]),
        Case("conv-convtranspose", new SampleShape(2, 9, 9), [Conv2d(2, 3, kernelSize: 3), ReLU()], [ConvTranspose2d(3, 2, kernelSize: 3), Sigmoid()]),
        Case("strided-padded", new SampleShape(2, 9, 9), [Conv2d(2, 4, kernelSize: 3, stride: 2, padding: 1), ReLU()],
            [ConvTranspose2d(4, 2, kernelSize: 3, stride: 2, padding: 1), ReLU()]),
        Case("output-padding", new SampleShape(1, 8, 8), [Conv2d(1, 3, kernelSize: 3, stride: 2, padding: 1), ReLU()],
            [ConvTranspose2d(3, 1, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1), Sigmoid()]),
        Case("flatten-linear-unflatten", new SampleShape(2, 6, 6), [Conv2d(2, 3, kernelSize: 3), ReLU(), Flatten(), Linear(48, 5)],
            [Linear(5, 48), ReLU(), Unflatten(3, 4, 4), ConvTranspose2d(3, 2, kernelSize: 3), Sigmoid()]),
        Case("batch-norm", new SampleShape(2, 6, 6), [Conv2d(2, 3, kernelSize: 3), BatchNorm2d(3), ReLU(), Flatten(), Linear(48, 5), BatchNorm1d(5, momentum: 0.3)],
            [Linear(5, 48), ReLU(), Unflatten(3, 4, 4), ConvTranspose2d(3, 2, kernelSize: 3), Sigmoid()]),
    ];

    /// <summary>Every registered architecture with its default settings, on real MNIST digits.</summary>
    public static IReadOnlyList<DifferentialCase> ArchitectureCases =>
        [.. Architectures.All.Select(a => new DifferentialCase(a.Name, a.Spec(), RealImages: true))];

    /// <summary>
    /// Every registered architecture on RGB images of an odd size (3x37x45; the bottleneck model, whose strides need sides
    /// divisible by 4, on 3x36x44), small settings where it has them, on random images.
    /// </summary>
    public static IReadOnlyList<DifferentialCase> OddSizeCases =>
        [.. Architectures.All.Select(a => new DifferentialCase(a.Name + "-3x37x45", a.Spec(Small(a), a.Name == "bottleneck" ? new ImageShape(3, 36, 44) : new ImageShape(3, 37, 45)), RealImages: false))];

    private static ArchitectureSettings Small(Architecture a) => a.Settings(a.Name switch
    {
        "dense" => new Dictionary<string, string> { ["hidden"] = "16,8" },
        "bottleneck" => new Dictionary<string, string> { ["latent"] = "6", ["channels"] = "4,8" },
        "pca" => new Dictionary<string, string> { ["components"] = "5" },
        _ => new Dictionary<string, string>(),
    });

    public static IReadOnlyList<DifferentialCase> All => [.. Layers, .. ArchitectureCases, .. OddSizeCases];

    /// <summary>
    /// Every case with each initialisation the differential tests run: one (offset 0: each test's own seed) unless the
    /// environment sets <see cref="InitialisationsVariable"/> to a larger count, which runs that many (offsets 0, 1, ...),
    /// to measure how the tolerances hold beyond the tests' own seeds (the Tolerance comments quote such sweeps).
    /// </summary>
    public static TheoryData<string, int> NamesAndInitialisations
    {
        get
        {
            string? text = Environment.GetEnvironmentVariable(InitialisationsVariable);
            int count = text is null ? 1 : int.TryParse(text, out int n) && n is >= 1 and <= 1000 ? n
                : throw new ArgumentException($"{InitialisationsVariable}={text}: give a count of initialisations from 1 to 1000");
            var data = new TheoryData<string, int>();
            foreach (DifferentialCase c in All)
                for (int i = 0; i < count; i++) data.Add(c.Name, i);
            return data;
        }
    }

    /// <summary>The environment variable that sets how many initialisations the differential tests run (default 1).</summary>
    public const string InitialisationsVariable = "AEMNIST_TEST_INITIALISATIONS";

    public static TheoryData<string> ArchitectureNames => [.. Architectures.All.Select(a => a.Name)];

    /// <summary>The architectures that train (pca's weights are fitted in closed form, on any engine, and never trained).</summary>
    public static TheoryData<string> TrainedArchitectureNames => [.. Architectures.All.Where(a => !a.FitsExactly).Select(a => a.Name)];

    public static DifferentialCase Get(string name) => All.Single(c => c.Name == name);

    private static DifferentialCase Case(string name, SampleShape input, LayerSpec[] encoder, LayerSpec[] decoder) =>
        new(name, new LayerTestArchitecture(name, input, encoder, decoder).Spec(), RealImages: false);
}
