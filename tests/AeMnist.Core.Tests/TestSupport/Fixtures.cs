// Reads the PyTorch reference fixtures written by tests/fixtures/generate.py (JSON index + float32 blob).
using System.Text.Json;

namespace AeMnist.Core.Tests.TestSupport;

public sealed record FixtureTensor(int[] Shape, float[] Data);

public sealed class FixtureCase(string name, string kind, JsonElement attrs, IReadOnlyDictionary<string, FixtureTensor> tensors)
{
    public string Name { get; } = name;
    public string Kind { get; } = kind;
    public JsonElement Attrs { get; } = attrs;
    public IReadOnlyDictionary<string, FixtureTensor> Tensors { get; } = tensors;

    public float[] this[string tensor] => Get(tensor).Data;

    public FixtureTensor Get(string tensor) =>
        Tensors.TryGetValue(tensor, out FixtureTensor? t) ? t : throw new KeyNotFoundException($"Fixture {Name} has no tensor '{tensor}'.");

    public int Int(string attr) => Attrs.GetProperty(attr).GetInt32();

    public double Double(string attr) => Attrs.GetProperty(attr).GetDouble();

    public override string ToString() => Name;
}

public static class Fixtures
{
    public const int SupportedFormatVersion = 1;

    private static readonly Lazy<IReadOnlyList<FixtureCase>> s_all = new(Load);

    public static IReadOnlyList<FixtureCase> All => s_all.Value;

    public static FixtureCase Get(string name) => All.Single(c => c.Name == name);

    /// <summary>Case names of one kind, for [MemberData].</summary>
    public static TheoryData<string> Names(string kind)
    {
        var data = new TheoryData<string>();
        foreach (FixtureCase c in All.Where(c => c.Kind == kind)) data.Add(c.Name);
        return data;
    }

    private static IReadOnlyList<FixtureCase> Load()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "fixtures");
        using JsonDocument index = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "fixtures.json")));
        JsonElement root = index.RootElement;
        int version = root.GetProperty("format_version").GetInt32();
        if (version != SupportedFormatVersion)
            throw new InvalidDataException($"fixtures.json has format_version {version}; these tests read {SupportedFormatVersion}.");
        byte[] blob = File.ReadAllBytes(Path.Combine(dir, root.GetProperty("blob").GetString()!));
        var cases = new List<FixtureCase>();
        foreach (JsonElement c in root.GetProperty("cases").EnumerateArray())
        {
            var tensors = new Dictionary<string, FixtureTensor>();
            foreach (JsonProperty t in c.GetProperty("tensors").EnumerateObject())
            {
                int[] shape = t.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                int offset = t.Value.GetProperty("offset").GetInt32(), length = t.Value.GetProperty("length").GetInt32();
                float[] data = new float[length];
                for (int i = 0; i < length; i++)
                    data[i] = BitConverter.ToSingle(blob, (offset + i) * 4);  // the generator writes little-endian
                tensors[t.Name] = new FixtureTensor(shape, data);
            }
            cases.Add(new FixtureCase(c.GetProperty("name").GetString()!, c.GetProperty("kind").GetString()!, c.GetProperty("attrs").Clone(), tensors));
        }
        return cases;
    }
}
