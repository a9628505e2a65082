// How evaluate, score and report find their model (--run DIR, --model-file F, or the newest run) and which engine
// computes it (--engine, --device, --threads).
using System.CommandLine;
using AeMnist.Engines;
using AeMnist.Models;
using AeMnist.Training;

namespace AeMnist.Cli.Commands;

/// <summary>A model loaded on its engine; disposing it releases both.</summary>
internal sealed record LoadedModel(IEngine Engine, IEngineModel Model, ModelMetadata Metadata, RunDirectory? Run, string ModelPath) : IDisposable
{
    public void Dispose()
    {
        Model.Dispose();
        Engine.Dispose();
    }
}

internal sealed class ModelOptions
{
    public readonly Option<string?> Run = new("--run") { Description = "Run directory to use [default: the newest run under --runs-dir]", HelpName = "DIR" };
    public readonly Option<string?> ModelFile = new("--model-file") { Description = "A model.safetensors file (e.g. trained in PyTorch) instead of a run", HelpName = "FILE" };
    public readonly Option<string?> Model = new("--model")
    {
        Description = $"Architecture of a --model-file without metadata: {Architectures.Names}",
        HelpName = string.Join("|", Architectures.All.Select(a => a.Name)),
    };
    public readonly Option<string> RunsDir = SharedOptions.RunsDir();
    public readonly SharedOptions.ComputeSet Compute = new();

    public Option[] All => [Run, ModelFile, Model, RunsDir, .. Compute.All];

    /// <summary>The model on the engine the options name and, when it came from a run, that run's directory.</summary>
    public LoadedModel Load(ParseResult parse)
    {
        string? runPath = parse.GetValue(Run), modelPath = parse.GetValue(ModelFile), kind = parse.GetValue(Model);
        if (runPath is not null && modelPath is not null)
            throw new UsageException("give --run or --model-file, not both");
        if (kind is not null && Architectures.Find(kind) is null)
            throw new UsageException($"--model '{kind}' is not a model; use {Architectures.Names}");
        ComputeOptions compute = Compute.Read(parse);
        RunDirectory? run = null;
        if (modelPath is null)
        {
            run = runPath is not null ? RunDirectory.Open(runPath) : RunDirectory.Newest(parse.GetValue(RunsDir)!);
            modelPath = run.ModelPath;
        }
        return Load(modelPath, kind, compute, run);
    }

    /// <summary>The model file at <paramref name="modelPath"/> on the engine <paramref name="compute"/> names.</summary>
    public static LoadedModel Load(string modelPath, string? kind, ComputeOptions compute, RunDirectory? run)
    {
        var (spec, weights, metadata) = AeMnist.Models.ModelFile.Load(modelPath, kind);
        IEngine engine = App.Engines.Create(compute);
        try
        {
            return new LoadedModel(engine, engine.Load(spec, weights), metadata, run, modelPath);
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }
}
