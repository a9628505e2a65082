// How evaluate, score and report find their model: --run DIR, --model-file F, or the newest run.
using System.CommandLine;
using AeMnist.Models;
using AeMnist.Training;

namespace AeMnist.Cli.Commands;

internal sealed class ModelOptions
{
    public readonly Option<string?> Run = new("--run") { Description = "Run directory to use [default: the newest run under --runs-dir]", HelpName = "DIR" };
    public readonly Option<string?> ModelFile = new("--model-file") { Description = "A model.safetensors file (e.g. trained in PyTorch) instead of a run", HelpName = "FILE" };
    public readonly Option<string?> Model = new("--model") { Description = "Architecture of a --model-file without metadata: dense or conv", HelpName = "dense|conv" };
    public readonly Option<string> RunsDir = SharedOptions.RunsDir();
    public readonly Option<int> Threads = SharedOptions.Threads();

    public Option[] All => [Run, ModelFile, Model, RunsDir, Threads];

    /// <summary>The model and, when it came from a run, that run's directory.</summary>
    public (AutoEncoder Model, ModelMetadata Metadata, RunDirectory? Run, string ModelPath) Load(ParseResult parse)
    {
        string? runPath = parse.GetValue(Run), modelPath = parse.GetValue(ModelFile), kind = parse.GetValue(Model);
        if (runPath is not null && modelPath is not null)
            throw new UsageException("give --run or --model-file, not both");
        if (kind is not null and not ("dense" or "conv"))
            throw new UsageException($"--model '{kind}' is not a model; use dense or conv");
        RunDirectory? run = null;
        if (modelPath is null)
        {
            run = runPath is not null ? RunDirectory.Open(runPath) : RunDirectory.Newest(parse.GetValue(RunsDir)!);
            modelPath = run.ModelPath;
        }
        var (model, metadata) = AeMnist.Models.ModelFile.Load(modelPath, kind);
        model.Threads = ThreadCount(parse);
        return (model, metadata, run, modelPath);
    }

    /// <summary>The --threads value, checked.</summary>
    public int ThreadCount(ParseResult parse)
    {
        int threads = parse.GetValue(Threads);
        return threads >= 1 ? threads : throw new UsageException($"--threads must be positive, got {threads}");
    }
}
