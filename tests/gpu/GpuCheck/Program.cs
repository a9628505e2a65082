// gpucheck: the ilgpu engine on a real device, without a .NET SDK. `gpucheck test` runs the kernel and differential tests
// of tests/AeMnist.Gpu.Tests (compiled in) on AEMNIST_GPU_DEVICE (cuda by default here) with a small runner: every
// [Fact], every [Theory] row. `gpucheck bench` trains the bottleneck model on one digit (one-class protocol) with the
// native engine and the ilgpu engine and prints seconds per epoch and AUROC side by side.
using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using AeMnist.Cli;
using Xunit.Abstractions;
using Xunit.Sdk;

string mode = args.Length > 0 ? args[0] : "test";
if (Environment.GetEnvironmentVariable("AEMNIST_GPU_DEVICE") is null or "") Environment.SetEnvironmentVariable("AEMNIST_GPU_DEVICE", "cuda");
string device = Environment.GetEnvironmentVariable("AEMNIST_GPU_DEVICE")!;
return mode switch
{
    "test" => RunTests(args.Skip(1).FirstOrDefault()),
    "bench" => Bench(device, args.Skip(1).ToArray()),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: gpucheck test [FILTER] | gpucheck bench [EPOCHS [TRAIN OPTIONS...]]   (device: AEMNIST_GPU_DEVICE, default cuda)");
    return 2;
}

// Every test method of the ilgpu engine's kernel and differential test classes, each data row of a theory, in order.
static int RunTests(string? filter)
{
    int passed = 0, failed = 0;
    foreach (Type type in new[] { typeof(AeMnist.Gpu.Tests.KernelTests), typeof(AeMnist.Gpu.Tests.DifferentialTests) })
        foreach (MethodInfo method in type.GetMethods().Where(m => m.GetCustomAttribute<FactAttribute>() is not null))
            foreach (object[] row in Rows(method))
            {
                string name = $"{type.Name}.{method.Name}({string.Join(", ", row)})";
                if (filter is not null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
                var output = new Output();
                var clock = Stopwatch.StartNew();
                object? instance = null;
                try
                {
                    ConstructorInfo constructor = type.GetConstructors()[0];
                    instance = constructor.Invoke(constructor.GetParameters().Length == 0 ? [] : [output]);
                    method.Invoke(instance, row);
                    passed++;
                    Console.WriteLine($"PASS {name} [{clock.Elapsed.TotalSeconds:F1} s]");
                }
                catch (TargetInvocationException e)
                {
                    failed++;
                    Console.WriteLine($"FAIL {name}: {e.InnerException?.Message.ReplaceLineEndings(" ")}");
                    Console.Write(output.Text);
                }
                finally
                {
                    (instance as IDisposable)?.Dispose();
                }
            }
    Console.WriteLine($"{passed} passed, {failed} failed");
    return failed == 0 && passed > 0 ? 0 : 1;
}

static IEnumerable<object[]> Rows(MethodInfo method)
{
    var data = method.GetCustomAttributes<DataAttribute>().ToList();
    if (data.Count == 0) return [[]];
    return data.SelectMany(d => d.GetData(method));
}

// One-class bottleneck on digit 3 with each engine: s/epoch and AUROC from the runs' own files.
static int Bench(string device, string[] args)
{
    string epochs = args.FirstOrDefault() ?? "3";
    // Other train options replace the one-class split (a quick run of the script on a machine without a GPU).
    string[] split = args.Length > 1 ? args[1..] : ["--protocol", "one-class", "--normal", "3"];
    string runs = Directory.CreateTempSubdirectory("gpucheck-").FullName;
    Console.WriteLine($"bottleneck, {string.Join(' ', split)}, {epochs} epochs, batch 128 (the recipe's), seed 1");
    foreach ((string engine, string dev) in new[] { ("native", "cpu"), ("ilgpu", device) })
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var clock = Stopwatch.StartNew();
        int code = App.Run(["train", "--model", "bottleneck", .. split, "--seed", "1", "--epochs", epochs,
            "--engine", engine, "--device", dev, "--runs-dir", runs, "--run-name", engine, "--quiet"], stdout, stderr);
        if (code != 0)
        {
            Console.WriteLine($"{engine} ({dev}): train failed: {stderr.ToString().Trim()}");
            return 1;
        }
        double total = clock.Elapsed.TotalSeconds;
        string[] history = File.ReadAllLines(Path.Combine(runs, engine, "history.csv"));
        double[] seconds = [.. history.Skip(1).Select(l => double.Parse(l.Split(',')[3], System.Globalization.CultureInfo.InvariantCulture))];
        var eval = new StringWriter();
        App.Run(["evaluate", "--run", Path.Combine(runs, engine), "--engine", engine, "--device", dev, "--json"], eval, stderr);
        double auroc = (double)JsonNode.Parse(eval.ToString())!["auroc"]!;
        Console.WriteLine($"{engine,-6} {dev,-6} s/epoch: first {seconds[0]:F2}, later mean {(seconds.Length > 1 ? seconds.Skip(1).Average() : double.NaN):F2}; " +
                          $"whole run {total:F1} s; test AUROC {auroc:F4}");
    }
    return 0;
}

internal sealed class Output : ITestOutputHelper
{
    private readonly System.Text.StringBuilder _text = new();

    public string Text => _text.ToString();

    public void WriteLine(string message) => _text.Append("    ").AppendLine(message);

    public void WriteLine(string format, params object[] args) => WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
}
