// A small builder over ONNX's protobuf messages (onnx.proto, compiled by protoc for Google.Protobuf): nodes with
// their attributes, constant tensors (raw little-endian data), typed inputs and outputs with a symbolic batch
// dimension. Every value gets a unique name; the exporters say what they compute, this says how ONNX spells it.
using System.Runtime.InteropServices;
using AeMnist.Onnx.Proto;
using Google.Protobuf;

namespace AeMnist.Onnx;

/// <summary>ONNX element types aemnist's graphs use (TensorProto.DataType).</summary>
internal enum ElementType
{
    Float = 1,
    UInt8 = 2,
    Int64 = 7,
    Bool = 9,
    Double = 11,
}

internal sealed class OnnxGraph
{
    /// <summary>The name of the symbolic batch dimension of every input and output.</summary>
    public const string Batch = "N";

    private readonly GraphProto _graph = new();
    private readonly Dictionary<string, int> _used = new(StringComparer.Ordinal);
    // Graph output names (Reserve): one node may take each, by asking for exactly that name.
    private readonly HashSet<string> _reserved = new(StringComparer.Ordinal);

    public OnnxGraph(string name) => _graph.Name = name;

    public GraphProto Proto => _graph;

    /// <summary>A fresh value name from <paramref name="hint"/>: "hint", then "hint_1", ...</summary>
    public string Name(string hint)
    {
        if (!_used.TryGetValue(hint, out int n))
        {
            _used[hint] = 1;
            return hint;
        }
        _used[hint] = n + 1;
        return Name($"{hint}_{n}");
    }

    /// <summary>A graph input; dimensions of -1 are the batch dimension <see cref="Batch"/>.</summary>
    public string Input(string name, ElementType type, long[] dims, string doc)
    {
        _used[name] = 1;
        _graph.Input.Add(ValueInfo(name, type, dims, doc));
        return name;
    }

    /// <summary>Makes <paramref name="value"/> the graph output <paramref name="name"/> (an Identity when the names differ).</summary>
    public void Output(string value, string name, ElementType type, long[] dims, string doc)
    {
        if (value != name) Node("Identity", [value], name);
        _graph.Output.Add(ValueInfo(name, type, dims, doc));
    }

    /// <summary>A node of <paramref name="op"/>; its output is named from <paramref name="output"/>; returns that name.</summary>
    public string Node(string op, IReadOnlyList<string> inputs, string output, params (string Name, object Value)[] attributes)
    {
        string result = _reserved.Remove(output) ? output : Name(output);
        var node = new NodeProto { OpType = op, Name = Name("node_" + result) };
        node.Input.AddRange(inputs);
        node.Output.Add(result);
        foreach ((string name, object value) in attributes) node.Attribute.Add(Attribute(name, value));
        _graph.Node.Add(node);
        return result;
    }

    /// <summary>Reserves graph output names so that intermediate values never take them.</summary>
    public void Reserve(params string[] names)
    {
        foreach (string name in names)
        {
            _reserved.Add(name);
            _used[name] = 1;
        }
    }

    /// <summary>A float tensor constant (an initializer).</summary>
    public string Constant(string hint, float[] values, params long[] dims) => Initializer(hint, ElementType.Float, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    /// <summary>A double tensor constant.</summary>
    public string Constant(string hint, double[] values, params long[] dims) => Initializer(hint, ElementType.Double, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    /// <summary>An int64 tensor constant (shapes, axes, pads).</summary>
    public string Constant(string hint, long[] values, params long[] dims) => Initializer(hint, ElementType.Int64, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    /// <summary>A float scalar.</summary>
    public string Scalar(string hint, float value) => Constant(hint, new[] { value });

    /// <summary>A double scalar.</summary>
    public string Scalar(string hint, double value) => Constant(hint, new[] { value });

    private string Initializer(string hint, ElementType type, ReadOnlySpan<byte> data, long[] dims)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian; this machine is not.");
        string name = Name(hint);
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(data) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    private static ValueInfoProto ValueInfo(string name, ElementType type, long[] dims, string doc)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims)
            shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = Batch } : new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            DocString = doc,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private static AttributeProto Attribute(string name, object value) => value switch
    {
        long i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        int i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
        long[] ints => Ints(name, ints),
        string s => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(s) },
        _ => throw new ArgumentException($"attribute {name}: values of type {value.GetType().Name} are not written", nameof(value)),
    };

    private static AttributeProto Ints(string name, long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}
