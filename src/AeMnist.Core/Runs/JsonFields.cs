// Typed, range-checked fields of a JSON object (a checkpoint's request, run.json, cell.json): each must be there, of
// its type and in its range; a problem is a one-line error naming the file and the field.
using System.Globalization;
using System.Text.Json.Nodes;
using AeMnist.IO;

namespace AeMnist.Runs;

/// <summary>The fields of <paramref name="o"/>; errors read "<paramref name="file"/>: <paramref name="what"/> 'PREFIXkey' is ...".</summary>
internal sealed class JsonFields(JsonObject o, string file, string what, string prefix = "")
{
    public JsonObject Object => o;

    /// <summary>This object as an error message names it: "checkpoint field 'request.train'".</summary>
    public string Describe => $"{what} '{prefix.TrimEnd('.')}'";

    public bool Has(string key) => o.ContainsKey(key);

    /// <summary>Has the key with a value other than null.</summary>
    public bool HasValue(string key) => o[key] is not null;

    public DataFormatException Bad(string key, string expected) =>
        new($"{file}: {what} '{prefix}{key}' is {(o[key] is JsonValue v && v.TryGetValue(out string? text) ? MessageText.Quote(text, 40)
            : o[key] is { } n ? MessageText.Quote(n.ToJsonString(), 40) : "missing")}; expected {expected}");

    private JsonValue Value(string key, string expected) => o[key] as JsonValue ?? throw Bad(key, expected);

    public JsonFields Fields(string key) => new(o[key] as JsonObject ?? throw Bad(key, "an object"), file, what, $"{prefix}{key}.");

    public string String(string key) => Value(key, "a string").TryGetValue(out string? v) ? v : throw Bad(key, "a string");

    public string? OptionalString(string key) => HasValue(key) ? String(key) : null;

    public bool Bool(string key) => Value(key, "true or false").TryGetValue(out bool v) ? v : throw Bad(key, "true or false");

    public int Int(string key, int min, int max)
    {
        string expected = max == int.MaxValue ? $"an integer {min} or more" : $"an integer {min}-{max}";
        return Value(key, expected).TryGetValue(out int v) && v >= min && v <= max ? v
            : Value(key, expected).TryGetValue(out double d) && d == Math.Floor(d) && d >= min && d <= max ? (int)d
            : throw Bad(key, expected);
    }

    public ulong ULong(string key) =>
        Value(key, "a non-negative integer").TryGetValue(out ulong v) ? v : throw Bad(key, "a non-negative integer");

    public double Double(string key, double min, double max)
    {
        string expected = max >= double.MaxValue ? (min > 0 ? "a positive number" : $"a number {min} or more") : $"a number {min.ToString(CultureInfo.InvariantCulture)}-{max.ToString(CultureInfo.InvariantCulture)}";
        return Value(key, expected).TryGetValue(out double v) && double.IsFinite(v) && v >= min && v <= max ? v : throw Bad(key, expected);
    }

    /// <summary>A number, or null when the field is absent or null (run.json writes null for "not measured").</summary>
    public double? OptionalDouble(string key, double min, double max) => HasValue(key) ? Double(key, min, max) : null;

    public int[] IntArray(string key, int min, int max)
    {
        if (o[key] is not JsonArray list || list.Count == 0) throw Bad(key, $"a list of integers {min}-{max}");
        return [.. list.Select(x => x is JsonValue v && v.TryGetValue(out int i) && i >= min && i <= max ? i : throw Bad(key, $"a list of integers {min}-{max}"))];
    }

    public string[] StringArray(string key)
    {
        if (o[key] is not JsonArray list) throw Bad(key, "a list of strings");
        return [.. list.Select(x => x is JsonValue v && v.TryGetValue(out string? s) ? s : throw Bad(key, "a list of strings"))];
    }

    public ulong[] ULongArray(string key)
    {
        if (o[key] is not JsonArray list) throw Bad(key, "a list of seeds");
        return [.. list.Select(x => x is JsonValue v && v.TryGetValue(out ulong i) ? i : throw Bad(key, "a list of seeds"))];
    }
}
