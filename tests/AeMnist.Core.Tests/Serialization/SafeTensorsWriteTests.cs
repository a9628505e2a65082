using System.Buffers.Binary;
using System.Text;
using AeMnist.Core.Tests.IO;
using AeMnist.Serialization;

namespace AeMnist.Core.Tests.Serialization;

public sealed class SafeTensorsWriteTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (string, int[], ReadOnlyMemory<float>) T(string name, int[] shape, params float[] data) => (name, shape, data);

    private static byte[] Bytes(IEnumerable<(string, int[], ReadOnlyMemory<float>)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var stream = new MemoryStream();
        SafeTensors.Write(stream, tensors, metadata);
        return stream.ToArray();
    }

    private static string HeaderOf(byte[] bytes)
    {
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return Encoding.UTF8.GetString(bytes, 8, n);
    }

    [Fact]
    public void RoundTrip_ThroughFile_KeepsOrderShapesValuesAndMetadata()
    {
        var rng = new Rng(42);
        float[] w = new float[64 * 784];
        for (int i = 0; i < w.Length; i++) w[i] = rng.NextSingle(-1, 1);
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, float.Epsilon, float.MaxValue];
        var metadata = new Dictionary<string, string> { ["model"] = "dense", ["hidden"] = "64,32", ["threshold"] = "0.0123" };
        string path = _dir.File("model.safetensors");

        SafeTensors.Write(path, [T("encoder.0.weight", [64, 784], w), T("encoder.0.bias", [6], special), T("scalar", [], 3f), T("none", [0, 5])], metadata);
        SafeTensorsFile f = SafeTensors.Read(path);

        Assert.Equal(["encoder.0.weight", "encoder.0.bias", "scalar", "none"], f.Names);
        Assert.Equal(new[] { 64, 784 }, f.Tensors["encoder.0.weight"].Shape);
        Assert.Equal(w, f.Tensors["encoder.0.weight"].Data);
        Assert.Equal(special.Select(BitConverter.SingleToInt32Bits), f.Tensors["encoder.0.bias"].Data.Select(BitConverter.SingleToInt32Bits));
        Assert.Empty(f.Tensors["scalar"].Shape);
        Assert.Equal(new[] { 3f }, f.Tensors["scalar"].Data);
        Assert.Equal(new[] { 0, 5 }, f.Tensors["none"].Shape);
        Assert.Equal(metadata, f.Metadata);
        Assert.Single(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Header_IsCompactMetadataFirstAndPaddedToEightBytes()
    {
        byte[] bytes = Bytes([T("z", [1], 1f), T("a", [2, 1], 2f, 3f)], new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" });
        string header = HeaderOf(bytes);
        Assert.Equal("{\"__metadata__\":{\"a\":\"1\",\"b\":\"2\"},\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[4,12]}}", header.TrimEnd(' '));
        Assert.Equal(0, header.Length % 8);
        Assert.Equal(8 + header.Length + 12, bytes.Length);
        Assert.Equal(new byte[] { 0, 0, 0x80, 0x3F }, bytes[^12..^8]);
    }

    [Fact]
    public void NoTensorsNoMetadata_IsTheSmallestFile()
    {
        byte[] bytes = Bytes([], new Dictionary<string, string>());
        Assert.Equal("{}      ", HeaderOf(bytes));
        Assert.Empty(SafeTensors.Read(bytes, "x").Names);
        Assert.Equal("{\"__metadata__\":{\"k\":\"v\"}}      ", HeaderOf(Bytes([], new Dictionary<string, string> { ["k"] = "v" })));
    }

    [Fact]
    public void SpecialCharactersInNames_AreEscapedLikeSerdeJsonAndReadBack()
    {
        string name = "q\"b\\s\n\t\u0001é€😀/<>";
        byte[] bytes = Bytes([T(name, [1], 5f)], new Dictionary<string, string> { ["k\u001f"] = "v\r\b\f" });
        Assert.StartsWith("{\"__metadata__\":{\"k\\u001f\":\"v\\r\\b\\f\"},\"q\\\"b\\\\s\\n\\t\\u0001é€😀/<>\":", HeaderOf(bytes));
        SafeTensorsFile f = SafeTensors.Read(bytes, "x");
        Assert.Equal(new[] { 5f }, f.Tensors[name].Data);
        Assert.Equal("v\r\b\f", f.Metadata["k\u001f"]);
    }

    [Fact]
    public void SameInput_GivesSameBytes_WhateverTheMetadataOrder()
    {
        var m1 = new Dictionary<string, string> { ["seed"] = "1", ["model"] = "conv", ["a"] = "" };
        var m2 = new Dictionary<string, string> { ["a"] = "", ["model"] = "conv", ["seed"] = "1" };
        Assert.Equal(Bytes([T("w", [2], 1, 2)], m1), Bytes([T("w", [2], 1, 2)], m2));
    }

    [Fact]
    public void InvalidArguments_AreRejectedAndNothingIsWritten()
    {
        string path = _dir.File("bad.safetensors");
        Assert.Contains("given twice", Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [T("a", [1], 1), T("a", [1], 1)])).Message);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [T("__metadata__", [1], 1)])).Message);
        Assert.Contains("shape [2] (2 elements) but 3 values", Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [T("a", [2], 1, 2, 3)])).Message);
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [T("a", [-1, -1], 1)])).Message);
        Assert.Contains("null shape", Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [("a", null!, new float[1])])).Message);
        Assert.Contains("not valid Unicode", Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [T("\ud800", [1], 1)])).Message);
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [], new Dictionary<string, string> { ["k"] = null! }));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Write_ReplacesAnExistingFile()
    {
        string path = _dir.File("m.safetensors");
        File.WriteAllText(path, "old content that is longer than the new file would be if appended to.............");
        SafeTensors.Write(path, [T("a", [1], 1f)]);
        Assert.Equal(new[] { 1f }, SafeTensors.Read(path).Tensors["a"].Data);
    }

    [Fact]
    public void Read_MissingFileOrDirectory_IsADataFormatError()
    {
        string missing = _dir.File("nope.safetensors");
        Assert.Equal($"{missing}: file not found", Assert.Throws<DataFormatException>(() => SafeTensors.Read(missing)).Message);
        Assert.Equal($"{_dir.Path}: is a directory, not a safetensors file", Assert.Throws<DataFormatException>(() => SafeTensors.Read(_dir.Path)).Message);
    }

    [Fact]
    public void Read_FromPath_NamesTheFileByItsName()
    {
        string path = _dir.File("empty.safetensors");
        File.WriteAllBytes(path, []);
        Assert.Equal("empty.safetensors: file is 0 bytes, too short for the 8-byte header length; the file is truncated or not safetensors",
            Assert.Throws<DataFormatException>(() => SafeTensors.Read(path)).Message);
    }
}
