// The house's one-way dependencies (docs/design.md, "The house"), enforced: every folder of src/AeMnist.Core is a
// namespace, and a file may use only the namespaces its folder is allowed to (a `using`, a qualified name
// AeMnist.X.T, or a relative one X.T naming a type of X). A folder that imports one above it fails here, with the file
// and the line.
using System.Text.RegularExpressions;

namespace AeMnist.Core.Tests;

public partial class DependencyTests
{
    /// <summary>What each folder may use, besides itself; the root namespace (Rng, DataFormatException) is open to all.</summary>
    public static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["IO"] = [],
        ["Tensors"] = [],
        ["Serialization"] = ["IO"],
        ["Imaging"] = ["IO"],
        ["Evaluation"] = [],
        ["Scoring"] = ["Tensors", "IO"],
        ["Data"] = ["IO", "Imaging", "Tensors"],
        ["Models"] = ["IO", "Serialization", "Tensors", "Scoring"],
        ["Optim"] = ["Models"],
        ["Engines"] = ["Models", "Optim", "Tensors", "IO"],
        ["Engines.Native"] = ["Engines", "Models", "Optim", "Tensors", "IO"],
        ["Detection"] = ["Engines", "Models", "Scoring", "Data", "Evaluation", "Tensors", "IO", "Serialization"],
        ["Training"] = ["Detection", "Engines", "Models", "Optim", "Data", "Scoring", "Tensors", "IO"],
        ["Runs"] = ["Training", "Detection", "Engines", "Engines.Native", "Models", "Optim", "Data", "Scoring", "Evaluation", "Tensors", "IO", "Serialization"],
        ["Reporting"] = ["Runs", "Training", "Detection", "Engines", "Models", "Data", "Scoring", "Evaluation", "Imaging", "Tensors", "IO"],
        ["Benchmarking"] = ["Runs", "Training", "Detection", "Engines", "Models", "Data", "Scoring", "Evaluation", "Tensors", "IO"],
    };

    private static string CoreDirectory => Path.Combine(RepoPaths.Root, "src", "AeMnist.Core");

    /// <summary>Each folder's namespace: its path below src/AeMnist.Core with dots; Engines/Native/Layers belongs to Engines.Native.</summary>
    private static string FolderOf(string file)
    {
        string relative = Path.GetRelativePath(CoreDirectory, Path.GetDirectoryName(file)!).Replace(Path.DirectorySeparatorChar, '.');
        if (relative == ".") return "";
        return Allowed.Keys.Where(k => relative == k || relative.StartsWith(k + ".", StringComparison.Ordinal)).OrderByDescending(k => k.Length).FirstOrDefault() ?? relative;
    }

    private static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(CoreDirectory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));

    [Fact]
    public void Every_folder_of_the_core_is_in_the_table()
    {
        string[] unknown = [.. SourceFiles().Select(FolderOf).Where(f => f.Length > 0 && !Allowed.ContainsKey(f)).Distinct()];
        Assert.True(unknown.Length == 0, $"folders without a rule in DependencyTests.Allowed (and docs/design.md): {string.Join(", ", unknown)}");
    }

    [Fact]
    public void No_folder_uses_one_it_may_not()
    {
        // The public types each namespace declares, to recognise a relative reference such as Training.TrainOptions.
        var types = new Dictionary<string, HashSet<string>>();
        foreach (string file in SourceFiles())
        {
            string folder = FolderOf(file);
            if (!types.TryGetValue(folder, out HashSet<string>? set)) types[folder] = set = [];
            foreach (Match m in TypeDeclaration().Matches(File.ReadAllText(file))) set.Add(m.Groups[1].Value);
        }
        var violations = new List<string>();
        foreach (string file in SourceFiles())
        {
            string folder = FolderOf(file);
            if (folder.Length == 0) continue;
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                string line = Code(lines[i]);
                foreach (string used in Uses(line, types))
                    if (used != folder && used.Length > 0 && !Allowed[folder].Contains(used) && !(folder.StartsWith(used + ".", StringComparison.Ordinal)))
                        violations.Add($"{Path.GetRelativePath(RepoPaths.Root, file)}:{i + 1}: {folder} uses {used}: {lines[i].Trim()}");
            }
        }
        Assert.True(violations.Count == 0, $"{violations.Count} references against the house's direction:\n{string.Join("\n", violations.Take(40))}");
    }

    // The namespaces of AeMnist a line of code names.
    private static IEnumerable<string> Uses(string line, Dictionary<string, HashSet<string>> types)
    {
        foreach (Match m in QualifiedName().Matches(line))
        {
            string path = m.Groups[1].Value;
            yield return Allowed.Keys.Where(k => path == k || path.StartsWith(k + ".", StringComparison.Ordinal)).OrderByDescending(k => k.Length).FirstOrDefault() ?? path.Split('.')[0];
        }
        foreach (Match m in RelativeName().Matches(line))
        {
            string ns = m.Groups[1].Value.Replace("Native.", "Engines.Native.", StringComparison.Ordinal);
            if (m.Groups[1].Value == "Native") ns = "Engines.Native";
            string type = m.Groups[2].Value;
            if (types.TryGetValue(ns, out HashSet<string>? declared) && declared.Contains(type)) yield return ns;
        }
    }

    // The line without its comment and string contents (a message may say "Training.").
    private static string Code(string line)
    {
        string code = StringLiteral().Replace(line, "\"\"");
        int comment = code.IndexOf("//", StringComparison.Ordinal);
        return comment >= 0 ? code[..comment] : code;
    }

    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum)\s+(?:struct\s+)?([A-Z]\w*)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"\bAeMnist\.((?:[A-Z]\w*\.)*[A-Z]\w*)")]
    private static partial Regex QualifiedName();

    [GeneratedRegex(@"(?<![.\w])(IO|Tensors|Serialization|Imaging|Evaluation|Scoring|Data|Models|Optim|Engines|Native|Detection|Training|Runs|Reporting|Benchmarking)\.([A-Z]\w*)")]
    private static partial Regex RelativeName();

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex StringLiteral();
}
