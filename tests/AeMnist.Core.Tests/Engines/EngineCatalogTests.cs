// Engine and device choice is validated in one place, before anything is loaded, with messages that name the option.
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Models;

namespace AeMnist.Core.Tests.Engines;

public class EngineCatalogTests
{
    [Fact]
    public void TheNativeEngineOnTheCpuIsTheDefault()
    {
        ComputeOptions valid = NativeEngine.Catalog.Validate(new ComputeOptions(Threads: 2));
        Assert.Equal(new ComputeOptions("native", "cpu", 2), valid);
        Assert.Equal(new ComputeOptions("native", "cpu", 1), NativeEngine.Catalog.Validate(new ComputeOptions(" Native ", "CPU", 1)));
        using IEngine engine = NativeEngine.Catalog.Create(valid);
        Assert.IsType<NativeEngine>(engine);
        Assert.Equal(("native", "cpu", 2), (engine.Name, engine.Device, engine.Threads));
    }

    [Theory]
    [InlineData("torch", "cpu", 1, "--engine 'torch' is not an engine of this build; use native")]
    [InlineData("native", "cuda", 1, "--device cuda: the native engine computes on cpu only; use --device cpu")]
    [InlineData("native", "tpu", 1, "--device 'tpu' is not a device; use cpu or cuda or opencl")]
    [InlineData("native", "cpu", 0, "--threads 0 must be 1-")]
    [InlineData("native", "cpu", 20000, "--threads 20000 must be 1-")]
    public void WrongChoicesAreOneLineErrorsNamingTheOption(string engine, string device, int threads, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => NativeEngine.Catalog.Validate(new ComputeOptions(engine, device, threads)));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void AnotherEngineNamesItselfInTheAdviceForItsDevice()
    {
        var fake = new EngineProvider("fake", "a test engine", ["cpu", "cuda"], _ => throw new EngineUnavailableException("fake: cannot load here"));
        EngineCatalog catalog = NativeEngine.Catalog.With(fake);
        Assert.Equal("native or fake", catalog.Names);
        var e = Assert.Throws<ArgumentException>(() => catalog.Validate(new ComputeOptions("native", "cuda", 1)));
        Assert.Equal("--device cuda: the native engine computes on cpu only; use --device cpu or --engine fake", e.Message);
        Assert.Equal("fake: cannot load here", Assert.Throws<EngineUnavailableException>(() => catalog.Create(new ComputeOptions("fake", "cuda", 1))).Message);
    }

    [Fact]
    public void AnEngineWithACheckRunsItInValidateAndIsNotSuggestedForOtherEnginesDevices()
    {
        var checkedOptions = new List<ComputeOptions>();
        var conditional = new EngineProvider("gpu", "an engine whose build may lack cuda", ["cpu", "cuda"], _ => throw new InvalidOperationException("not created"),
            o => { checkedOptions.Add(o); if (o.Device == "cuda") throw new EngineUnavailableException("gpu: no CUDA here"); });
        EngineCatalog catalog = NativeEngine.Catalog.With(conditional);
        Assert.Equal(new ComputeOptions("gpu", "cpu", 2), catalog.Validate(new ComputeOptions("GPU", "CPU", 2)));
        Assert.Equal([new ComputeOptions("gpu", "cpu", 2)], checkedOptions);
        Assert.Equal("gpu: no CUDA here", Assert.Throws<EngineUnavailableException>(() => catalog.Validate(new ComputeOptions("gpu", "cuda", 1))).Message);
        // The native engine's advice names no engine that may not compute on cuda after all.
        var e = Assert.Throws<ArgumentException>(() => catalog.Validate(new ComputeOptions("native", "cuda", 1)));
        Assert.Equal("--device cuda: the native engine computes on cpu only; use --device cpu", e.Message);
        Assert.Equal(2, checkedOptions.Count);  // the native engine's validation ran no other engine's check
    }

    [Fact]
    public void AModelNeedsExactlyItsSpecsTensors()
    {
        using var engine = new NativeEngine();
        ModelSpec spec = Architectures.Get("conv").Spec();
        StateDict weights = spec.InitialWeights(new Rng(1));
        var missing = new StateDict(weights.Tensors.Skip(1));
        Assert.Contains("'encoder.0.weight' is missing", Assert.Throws<ArgumentException>(() => engine.Load(spec, missing)).Message);
        var extra = new StateDict([.. weights.Tensors, new NamedTensor("decoder.9.bias", [1], [0f])]);
        Assert.Contains("unexpected tensor 'decoder.9.bias'", Assert.Throws<ArgumentException>(() => engine.Load(spec, extra)).Message);
        var reshaped = new StateDict(weights.Tensors.Select((t, i) => i == 1 ? t with { Shape = [1, 3] } : t));
        Assert.Contains("'encoder.0.bias' has shape [1, 3], expected [3]", Assert.Throws<ArgumentException>(() => engine.Load(spec, reshaped)).Message);
    }
}
