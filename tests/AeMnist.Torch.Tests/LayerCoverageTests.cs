// Every layer kind AeMnist.Core defines has a differential case, and every registered architecture is among the cases:
// a new LayerSpec or architecture is tested on both engines, or this fails saying what to add.
using AeMnist.Models;

namespace AeMnist.Torch.Tests;

public sealed class LayerCoverageTests
{
    [Fact]
    public void EveryLayerSpecTypeHasADifferentialCase()
    {
        Type[] kinds = [.. typeof(LayerSpec).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(LayerSpec)) && !t.IsAbstract)];
        Assert.Contains(typeof(Conv2dSpec), kinds);
        var covered = LayerCases.Layers.SelectMany(c => c.Spec.Layers).Select(l => l.GetType()).ToHashSet();
        foreach (Type kind in kinds)
            Assert.True(covered.Contains(kind),
                $"{kind.Name} has no differential test case: add a model using it to LayerCases.Layers (and its torch module to TorchLayers.Build)");
    }

    [Fact]
    public void EveryRegisteredArchitectureIsACase()
    {
        Assert.Equal(Architectures.All.Select(a => a.Name), LayerCases.ArchitectureCases.Select(c => c.Name));
        Assert.True(Architectures.All.Count >= 2);
    }

    [Fact]
    public void EveryArchitectureBuildsOnTheTorchEngineWithItsStateDictNames()
    {
        using var engine = Engines.Torch();
        foreach (Architecture a in Architectures.All)
        {
            ModelSpec spec = a.Spec();
            using var model = engine.Load(spec, spec.InitialWeights(new Rng(3)));
            Assert.Equal(spec.StateEntries.Select(e => e.Name), model.StateDict().Tensors.Select(t => t.Name));
        }
    }
}
