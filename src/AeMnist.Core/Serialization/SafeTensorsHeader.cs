// Parses and checks the JSON header of a safetensors file. It reads tokens one by one (Utf8JsonReader)
// so that duplicate names, unknown fields and wrong kinds are caught, and so that nothing it allocates
// is larger than the header bytes themselves.
using System.Text.Json;
using System.Text.Unicode;
using AeMnist.IO;

namespace AeMnist.Serialization;

/// <summary>Element types this reader accepts; every one is converted to float32.</summary>
internal enum SafeTensorsDType { F32, F64, F16, BF16, I64 }

/// <summary>One tensor as the header describes it; offsets are relative to the start of the data section.</summary>
internal sealed record SafeTensorsEntry(string Name, SafeTensorsDType DType, ulong[] Shape, ulong Begin, ulong End);

internal static class SafeTensorsHeader
{
    /// <summary>More dimensions than any real tensor has; bounds what a hostile header can make us allocate.</summary>
    internal const int MaxRank = 64;

    private const string MetadataKey = "__metadata__";

    /// <summary>Parses the header; throws <see cref="DataFormatException"/> naming <paramref name="file"/> on any problem.</summary>
    internal static (List<SafeTensorsEntry> Entries, Dictionary<string, string> Metadata) Parse(ReadOnlySpan<byte> header, string file)
    {
        if (!Utf8.IsValid(header))
            throw Bad(file, "header is not valid UTF-8; the file is corrupt or not safetensors");
        var entries = new List<SafeTensorsEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        Dictionary<string, string>? metadata = null;
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = 8 });
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
                throw Bad(file, $"header is a JSON {Kind(reader.TokenType)}, expected an object of tensors; the file is corrupt or not safetensors");
            while (NextProperty(ref reader, out string key))
            {
                if (key == MetadataKey)
                {
                    if (metadata is not null) throw Bad(file, "__metadata__ appears twice in the header");
                    metadata = ParseMetadata(ref reader, file);
                }
                else
                {
                    if (!names.Add(key)) throw Bad(file, $"tensor {Quote(key)} appears twice in the header");
                    entries.Add(ParseEntry(ref reader, key, file));
                }
            }
            // Utf8JsonReader throws if anything but whitespace follows the object, so this only ends the input.
            reader.Read();
        }
        catch (JsonException e)
        {
            // .NET's own sentence is not ours to print; where the JSON breaks is what helps.
            throw Bad(file, header.IsEmpty ? "header is empty; the file is not safetensors"
                : $"header is not valid JSON ({(e.LineNumber is > 0 ? $"line {e.LineNumber + 1}, byte {e.BytePositionInLine}" : $"at byte {8 + (e.BytePositionInLine ?? 0)}")}); the file is corrupt or not safetensors", e);
        }
        catch (InvalidOperationException e)
        {
            // GetString on an escaped lone surrogate such as "\ud800".
            throw Bad(file, "header is not valid JSON (a string holds an unpaired surrogate escape); the file is corrupt or not safetensors", e);
        }
        return (entries, metadata ?? new Dictionary<string, string>(StringComparer.Ordinal));
    }

    private static SafeTensorsEntry ParseEntry(ref Utf8JsonReader reader, string name, string file)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Bad(file, $"tensor {Quote(name)} is a JSON {Kind(reader.TokenType)}, expected an object with dtype, shape and data_offsets");
        string? dtype = null;
        ulong[]? shape = null, offsets = null;
        while (NextProperty(ref reader, out string field))
        {
            switch (field)
            {
                case "dtype":
                    if (dtype is not null) throw Bad(file, $"tensor {Quote(name)} has 'dtype' twice");
                    if (reader.TokenType != JsonTokenType.String)
                        throw Bad(file, $"tensor {Quote(name)} has a dtype that is a JSON {Kind(reader.TokenType)}, expected a string such as \"F32\"");
                    dtype = reader.GetString()!;
                    break;
                case "shape":
                    if (shape is not null) throw Bad(file, $"tensor {Quote(name)} has 'shape' twice");
                    shape = ReadCounts(ref reader, MaxRank)
                        ?? throw Bad(file, $"tensor {Quote(name)} has an invalid shape; expected an array of at most {MaxRank} non-negative integers");
                    break;
                case "data_offsets":
                    if (offsets is not null) throw Bad(file, $"tensor {Quote(name)} has 'data_offsets' twice");
                    offsets = ReadCounts(ref reader, 2) is { Length: 2 } pair ? pair
                        : throw Bad(file, $"tensor {Quote(name)} has invalid data_offsets; expected [begin, end] with non-negative integers");
                    break;
                default:
                    throw Bad(file, $"tensor {Quote(name)} has an unknown field {Quote(field)}; expected dtype, shape and data_offsets");
            }
        }
        if (dtype is null) throw Bad(file, $"tensor {Quote(name)} has no dtype");
        if (shape is null) throw Bad(file, $"tensor {Quote(name)} has no shape");
        if (offsets is null) throw Bad(file, $"tensor {Quote(name)} has no data_offsets");
        SafeTensorsDType type = dtype switch
        {
            "F32" => SafeTensorsDType.F32,
            "F64" => SafeTensorsDType.F64,
            "F16" => SafeTensorsDType.F16,
            "BF16" => SafeTensorsDType.BF16,
            "I64" => SafeTensorsDType.I64,  // PyTorch's batch-norm num_batches_tracked
            _ => throw Bad(file, $"tensor {Quote(name)} has dtype {Quote(dtype)}; aemnist needs floating-point weights: F32 (F64, F16, BF16 and I64 are converted to F32)"),
        };
        return new SafeTensorsEntry(name, type, shape, offsets[0], offsets[1]);
    }

    private static Dictionary<string, string> ParseMetadata(ref Utf8JsonReader reader, string file)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (reader.TokenType == JsonTokenType.Null) return metadata;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Bad(file, $"__metadata__ is a JSON {Kind(reader.TokenType)}, expected an object of strings");
        while (NextProperty(ref reader, out string key))
        {
            if (reader.TokenType != JsonTokenType.String)
                throw Bad(file, $"metadata {Quote(key)} is a JSON {Kind(reader.TokenType)}; safetensors metadata values must be strings");
            if (!metadata.TryAdd(key, reader.GetString()!)) throw Bad(file, $"metadata {Quote(key)} appears twice in the header");
        }
        return metadata;
    }

    /// <summary>
    /// Inside an object: moves to the next property, reads its name, and moves onto its value. Returns false
    /// at the end of the object.
    /// </summary>
    private static bool NextProperty(ref Utf8JsonReader reader, out string name)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.EndObject)
        {
            name = "";
            return false;
        }
        name = reader.GetString()!;
        reader.Read();
        return true;
    }

    /// <summary>An array of at most <paramref name="max"/> non-negative integers, or null if the value is anything else.</summary>
    private static ulong[]? ReadCounts(ref Utf8JsonReader reader, int max)
    {
        if (reader.TokenType != JsonTokenType.StartArray) return null;
        var values = new List<ulong>();
        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndArray) return values.ToArray();
            if (values.Count == max || reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out ulong value)) return null;
            values.Add(value);
        }
    }

    private static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "object",
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    internal static DataFormatException Bad(string file, string problem, Exception? inner = null) =>
        inner is null ? new DataFormatException($"{file}: {problem}") : new DataFormatException($"{file}: {problem}", inner);

    /// <summary>A name from the file, quoted for a one-line message (see <see cref="MessageText.Quote"/>).</summary>
    internal static string Quote(string text) => MessageText.Quote(text);
}
