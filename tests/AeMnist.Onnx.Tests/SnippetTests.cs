// docs/export.md's C# and Python snippets, run on a real export: the C# lines are compiled here (CSharpSnippet.Run,
// between the markers, must be the doc's block but for its first line, which names the files), and the Python script
// runs where python3 has onnxruntime and numpy (else the test says skipped). What they print is held to aemnist score.
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;

namespace AeMnist.Onnx.Tests;

internal static class CSharpSnippet
{
    public static void Run(string model, string images)
    {
        // snippet:begin
        using var session = new InferenceSession(model);
        byte[] pixels = File.ReadAllBytes(images);
        long n = pixels.Length / 784;
        using var image = OrtValue.CreateTensorValueFromMemory(pixels, [n, 1, 28, 28]);
        using var outputs = session.Run(new RunOptions(), ["image"], [image], ["score", "is_anomaly", "p_value"]);
        float[] score = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        bool[] flagged = outputs[1].GetTensorDataAsSpan<bool>().ToArray();
        double[] p = outputs[2].GetTensorDataAsSpan<double>().ToArray();
        for (int i = 0; i < n; i++) Console.WriteLine($"{i},{score[i]},{flagged[i]},{p[i]}");
        // snippet:end
    }
}

/// <summary>A fact that runs only where python3 can import onnxruntime and numpy; elsewhere it is reported as skipped.</summary>
public sealed class PythonOnnxRuntimeFactAttribute : FactAttribute
{
    private static readonly Lazy<bool> Available = new(() =>
    {
        try
        {
            using Process? p = Process.Start(new ProcessStartInfo("python3", ["-c", "import numpy, onnxruntime"]) { RedirectStandardError = true, RedirectStandardOutput = true });
            if (p is null) return false;
            p.WaitForExit(60_000);
            return p.HasExited && p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    });

    public PythonOnnxRuntimeFactAttribute()
    {
        if (!Available.Value) Skip = "skipped: python3 with onnxruntime and numpy is not installed here (pip install onnxruntime numpy)";
    }
}

[Collection(TrainedRuns.Collection)]
public sealed class SnippetTests(TrainedRuns runs)
{
    private static readonly object ConsoleGate = new();

    private static string Doc => File.ReadAllText(Path.Combine(TrainedRuns.RepositoryRoot(), "docs", "export.md"));

    private static string Readme => File.ReadAllText(Path.Combine(TrainedRuns.RepositoryRoot(), "README.md"));

    private static string Block(string language) =>
        Regex.Match(Doc, $"```{language}\n(.*?)```", RegexOptions.Singleline) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException($"docs/export.md has no {language} block");

    [Fact]
    public void The_CSharp_snippet_is_the_docs_and_prints_what_aemnist_score_does()
    {
        string source = File.ReadAllText(Path.Combine(TrainedRuns.RepositoryRoot(), "tests", "AeMnist.Onnx.Tests", "SnippetTests.cs"));
        string compiled = Regex.Match(source, "// snippet:begin\n(.*?)\n *// snippet:end", RegexOptions.Singleline).Groups[1].Value;
        string[] lines = [.. compiled.Split('\n').Select(l => l.Length >= 8 ? l[8..] : l.TrimStart())];
        string[] doc = Block("csharp").TrimEnd('\n').Split('\n');
        Assert.Equal("string model = \"detector.onnx\", images = \"digits.u8\";", doc[0]);
        Assert.Equal(doc[1..], lines);
        Assert.Contains($"```csharp\n{Block("csharp")}```", Readme);
        Assert.Contains($"```python\n{Block("python")}```", Readme);

        (string model, string images, string[] expected) = Export();
        var printed = new StringWriter();
        lock (ConsoleGate)
        {
            TextWriter saved = Console.Out;
            Console.SetOut(printed);
            try { CSharpSnippet.Run(model, images); }
            finally { Console.SetOut(saved); }
        }
        Check(printed.ToString(), expected, flag => flag == "True");
    }

    [PythonOnnxRuntimeFact]
    public void The_Python_snippet_prints_what_aemnist_score_does()
    {
        (string model, string images, string[] expected) = Export();
        string directory = Path.GetDirectoryName(model)!;
        File.Copy(model, Path.Combine(directory, "detector.onnx"), overwrite: true);
        File.Copy(images, Path.Combine(directory, "digits.u8"), overwrite: true);
        string script = Path.Combine(directory, "snippet.py");
        File.WriteAllText(script, Block("python"));
        using Process p = Process.Start(new ProcessStartInfo("python3", [script]) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true })!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stderr);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ssim ", lines[0]);
        Check(string.Join("\n", lines.Skip(1)), expected, flag => flag == "1");
    }

    // A bottleneck export and the images as bytes, and aemnist score's rows (index,source,error,anomaly,p_value) for them.
    private (string Model, string Images, string[] Rows) Export()
    {
        string run = runs.Run("bottleneck");
        string model = runs.File("snippet.onnx"), images = runs.File("snippet.u8");
        Assert.Equal(0, Aemnist.Run("export", "--run", run, "--output", model, "--quiet").ExitCode);
        File.WriteAllBytes(images, runs.Pixels);
        CliResult score = Aemnist.Run("score", "--run", run, "--input", runs.CsvPath, "--p-values", "--quiet");
        Assert.True(score.ExitCode == 0, score.Stderr);
        return (model, images, score.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..]);
    }

    private static void Check(string printed, string[] expected, Func<string, bool> flag)
    {
        string[] lines = printed.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Length, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            string[] got = lines[i].Trim().Split(','), want = expected[i].Split(',');
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), got[0]);
            double score = double.Parse(got[1], CultureInfo.InvariantCulture), reference = double.Parse(want[2], CultureInfo.InvariantCulture);
            Assert.True(ExportComparison.Relative(score, reference) <= 1e-5, $"image {i}: {score} printed, {reference} by aemnist score");
            Assert.Equal(want[3] == "1", flag(got[2]));
            Assert.True(Math.Abs(double.Parse(got[3], CultureInfo.InvariantCulture) - double.Parse(want[4], CultureInfo.InvariantCulture)) <= 0.05);
        }
    }
}
