// How evaluate, score and report find their model (--run DIR, --model-file F, or the newest run) and which engine
// computes it (--engine, --device, --threads).
using System.CommandLine;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.IO;
using AeMnist.Models;
using AeMnist.Runs;

namespace AeMnist.Cli.Commands;

/// <summary>A detector loaded on its engine, with the run it came from; disposing it releases both.</summary>
internal sealed record LoadedModel(Detector Detector, RunDirectory? Run) : IDisposable
{
    /// <summary>What the run's run.json records (null for a model file outside a run).</summary>
    public RunRecord? Record { get; init; }

    public IEngineModel Model => Detector.Model;

    public ModelMetadata Metadata => Detector.Metadata;

    public string ModelPath => Detector.Source;

    /// <summary>Training found this model collapsed (its metadata or its run says so).</summary>
    public bool RecordedCollapsed => Metadata.Collapsed || Record?.Collapsed == true;

    public void Dispose() => Detector.Dispose();
}

internal sealed class ModelOptions
{
    public readonly Option<string?> Run = SharedOptions.PathOption(new Option<string?>("--run") { Description = "Run directory to use [default: the newest finished run under --runs-dir]", HelpName = "DIR" });
    public readonly Option<string?> ModelFile = SharedOptions.PathOption(new Option<string?>("--model-file") { Description = "A model.safetensors file (e.g. trained in PyTorch) instead of a run", HelpName = "FILE" });
    public readonly Option<string?> Model = new("--model")
    {
        Description = $"Architecture of a --model-file without metadata: {Architectures.Names}",
        HelpName = string.Join("|", Architectures.All.Select(a => a.Name)),
    };
    public readonly Option<string> RunsDir = SharedOptions.RunsDir();
    public readonly SharedOptions.ComputeSet Compute = new();

    public Option[] All => [Run, ModelFile, Model, RunsDir, .. Compute.All];

    /// <summary>The files --output must never replace: --model-file's, and every own file of --run's directory.</summary>
    public IEnumerable<string> Files(ParseResult parse) =>
        [.. parse.GetValue(ModelFile) is { } file ? [file] : Array.Empty<string>(),
         .. parse.GetValue(Run) is { } run ? RunDirectory.OwnFiles.Select(f => Path.Combine(run, f)) : []];

    /// <summary>The run directory the options name (before anything is loaded), or null for a model file outside a run.</summary>
    public RunDirectory? FindRun(ParseResult parse)
    {
        string? runPath = parse.GetValue(Run), modelPath = parse.GetValue(ModelFile);
        if (runPath is not null && modelPath is not null)
            throw new UsageException("give --run or --model-file, not both");
        Compute.Read(parse);  // an impossible --engine, --device or --threads is a usage error before any file is looked for
        if (modelPath is not null)
        {
            SharedOptions.RejectGiven(parse, [RunsDir], "--model-file names the model, so no run is looked for");
            return RunOf(modelPath);
        }
        if (runPath is not null)
        {
            SharedOptions.RejectGiven(parse, [RunsDir], "--run names the run, so no runs directory is searched");
            return RunDirectory.Open(runPath);
        }
        return RunDirectory.Newest(parse.GetValue(RunsDir)!);
    }

    /// <summary>The run a model file belongs to: model.safetensors in a directory with its run.json; else null (a foreign file).</summary>
    public static RunDirectory? RunOf(string modelPath)
    {
        string full = Path.GetFullPath(modelPath);
        string? directory = Path.GetDirectoryName(full);
        if (directory is null || Path.GetFileName(full) != RunDirectory.ModelFileName) return null;
        var run = new RunDirectory(directory);
        return File.Exists(run.RunPath) && run.State == RunState.Finished ? run : null;
    }

    /// <summary>The model on the engine the options name and, when it came from a run, that run's directory.</summary>
    public LoadedModel Load(ParseResult parse, RunDirectory? run)
    {
        string? modelPath = parse.GetValue(ModelFile), kind = parse.GetValue(Model);
        if (kind is not null && Architectures.Find(kind) is null)
            throw new UsageException($"--model {MessageText.Quote(kind)} is not a model; use {Architectures.Names}");
        if (modelPath is null && kind is not null)
            throw new UsageException($"--model cannot apply: the run's model.safetensors says what it is; --model is for a --model-file without metadata; drop it");
        ComputeOptions compute = Compute.Read(parse);
        return Load(modelPath ?? run!.ModelPath, kind, compute, run);
    }

    /// <summary>The model file at <paramref name="modelPath"/> on the engine <paramref name="compute"/> names (validated options).</summary>
    public static LoadedModel Load(string modelPath, string? kind, ComputeOptions compute, RunDirectory? run)
    {
        RunRecord? record = run?.ReadRecord();
        return new LoadedModel(Detector.Load(modelPath, kind, App.Engines, compute), run) { Record = record };
    }
}
