// The registry of architectures: the one place that lists them. --model, model files and checkpoints name an
// architecture; everything else asks it for its spec.
namespace AeMnist.Models;

public static class Architectures
{
    /// <summary>Every architecture, in the order help texts list them.</summary>
    public static IReadOnlyList<Architecture> All { get; } = [new DenseAutoEncoder(), new ConvAutoEncoder(), new BottleneckAutoEncoder(), new PcaAutoEncoder()];

    /// <summary>"dense or conv".</summary>
    public static string Names => All.Count == 1 ? All[0].Name : $"{string.Join(", ", All.Take(All.Count - 1).Select(a => a.Name))} or {All[^1].Name}";

    /// <summary>The architecture called <paramref name="name"/> (any case), or null.</summary>
    public static Architecture? Find(string name) => All.FirstOrDefault(a => string.Equals(a.Name, name.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>The architecture called <paramref name="name"/>; an unknown name is an <see cref="ArgumentException"/>.</summary>
    public static Architecture Get(string name) =>
        Find(name) ?? throw new ArgumentException($"--model '{name}' is not a model; use {Names}");

    /// <summary>Every option some architecture takes, once each, in registry order.</summary>
    public static IReadOnlyList<ArchitectureOption> Options => [.. All.SelectMany(a => a.Options).DistinctBy(o => o.Name)];
}
