using System.Buffers.Binary;
using System.Text;
using AeMnist.Serialization;

namespace AeMnist.Core.Tests.Serialization;

public sealed class SafeTensorsReadTests
{
    private const string Name = "m.safetensors";

    /// <summary>8-byte length, the header exactly as given (no padding), then <paramref name="data"/>.</summary>
    internal static byte[] File(string header, params byte[] data) => File(Encoding.UTF8.GetBytes(header), data);

    internal static byte[] File(byte[] header, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    private static string Error(byte[] bytes) =>
        Assert.Throws<DataFormatException>(() => SafeTensors.Read(bytes, Name)).Message;

    private static string Tensor(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    [Fact]
    public void ReadsTensorsInDataOrderWithMetadata()
    {
        // b's data comes first in the file although a is first in the header.
        string header = "{" + Tensor("a", "F32", "[1]", 8, 12) + "," + Tensor("b", "F32", "[2]", 0, 8) + ",\"__metadata__\":{\"x\":\"1\"}}";
        byte[] data = [.. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(2f), .. BitConverter.GetBytes(3f)];
        SafeTensorsFile f = SafeTensors.Read(File(header, data), Name);
        Assert.Equal(["b", "a"], f.Names);
        Assert.Equal(new[] { 1f, 2f }, f.Tensors["b"].Data);
        Assert.Equal(new[] { 2 }, f.Tensors["b"].Shape);
        Assert.Equal(new[] { 3f }, f.Tensors["a"].Data);
        Assert.Equal("1", f.Metadata["x"]);
    }

    [Fact]
    public void EmptyObject_IsAFileWithNoTensors()
    {
        SafeTensorsFile f = SafeTensors.Read(File("{}        "), Name);
        Assert.Empty(f.Names);
        Assert.Empty(f.Tensors);
        Assert.Empty(f.Metadata);
    }

    [Fact]
    public void NullMetadata_IsEmpty()
    {
        Assert.Empty(SafeTensors.Read(File("{\"__metadata__\":null}"), Name).Metadata);
    }

    [Fact]
    public void ScalarAndZeroSizedTensors()
    {
        string header = "{" + Tensor("empty", "F32", "[0,3]", 0, 0) + "," + Tensor("scalar", "F32", "[]", 0, 4) + "}";
        SafeTensorsFile f = SafeTensors.Read(File(header, BitConverter.GetBytes(-7.5f)), Name);
        Assert.Equal(new[] { 0, 3 }, f.Tensors["empty"].Shape);
        Assert.Empty(f.Tensors["empty"].Data);
        Assert.Empty(f.Tensors["scalar"].Shape);
        Assert.Equal(new[] { -7.5f }, f.Tensors["scalar"].Data);
    }

    [Fact]
    public void WhitespaceAndEscapesInHeader_AreAccepted()
    {
        string header = "{ \"a\\u002eb\" : { \"shape\" : [ 1 ] , \"data_offsets\" : [ 0 , 4 ] , \"dtype\" : \"F32\" } }\n   ";
        SafeTensorsFile f = SafeTensors.Read(File(header, BitConverter.GetBytes(1f)), Name);
        Assert.Equal(new[] { 1f }, f.Tensors["a.b"].Data);
    }

    [Fact]
    public void OtherFloatTypes_AreConvertedToFloat32()
    {
        // F64 0.5 = 0x3FE0000000000000; F16 1.0 = 0x3C00, -2.0 = 0xC000; BF16 1.0 = 0x3F80, -2.0 = 0xC000.
        string header = "{" + Tensor("d", "F64", "[1]", 0, 8) + "," + Tensor("h", "F16", "[2]", 8, 12) + ","
            + Tensor("bf", "BF16", "[2]", 12, 16) + "}";
        byte[] data = [0, 0, 0, 0, 0, 0, 0xE0, 0x3F, 0x00, 0x3C, 0x00, 0xC0, 0x80, 0x3F, 0x00, 0xC0];
        SafeTensorsFile f = SafeTensors.Read(File(header, data), Name);
        Assert.Equal(new[] { 0.5f }, f.Tensors["d"].Data);
        Assert.Equal(new[] { 1f, -2f }, f.Tensors["h"].Data);
        Assert.Equal(new[] { 1f, -2f }, f.Tensors["bf"].Data);
    }

    [Fact]
    public void FileWrittenByPythonSafetensors_IsRead()
    {
        // What safetensors.torch.save_file({"b": torch.tensor([[0.5, 3.0]]), "a": torch.tensor([1.0, -2.0])},
        // path, metadata={"format": "pt"}) writes: compact JSON from serde_json, __metadata__ first, tensors
        // sorted by name (one dtype), header padded with spaces from 141 to 144 = 0x90 bytes.
        const string json = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[8,16]}}   ";
        byte[] bytes =
        [
            0x90, 0, 0, 0, 0, 0, 0, 0,
            .. Encoding.ASCII.GetBytes(json),
            0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, // a: 1.0, -2.0
            0x00, 0x00, 0x00, 0x3F, 0x00, 0x00, 0x40, 0x40, // b: 0.5, 3.0
        ];
        Assert.Equal(144, json.Length);

        SafeTensorsFile f = SafeTensors.Read(bytes, Name);
        Assert.Equal(["a", "b"], f.Names);
        Assert.Equal(new[] { 2 }, f.Tensors["a"].Shape);
        Assert.Equal(new[] { 1f, -2f }, f.Tensors["a"].Data);
        Assert.Equal(new[] { 1, 2 }, f.Tensors["b"].Shape);
        Assert.Equal(new[] { 0.5f, 3f }, f.Tensors["b"].Data);
        Assert.Equal(new Dictionary<string, string> { ["format"] = "pt" }, f.Metadata);

        // Our writer, given the same order, produces the very same bytes.
        var stream = new MemoryStream();
        SafeTensors.Write(stream,
            [("a", [2], new float[] { 1, -2 }), ("b", [1, 2], new float[] { 0.5f, 3 })],
            new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Equal(bytes, stream.ToArray());
    }

    [Fact]
    public void TooShort()
    {
        Assert.Equal("m.safetensors: file is 0 bytes, too short for the 8-byte header length; the file is truncated or not safetensors",
            Error([]));
        Assert.Equal("m.safetensors: file is 7 bytes, too short for the 8-byte header length; the file is truncated or not safetensors",
            Error(new byte[7]));
    }

    [Fact]
    public void HeaderLengthPastEndOfFile()
    {
        var bytes = new byte[120];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 999999);
        Assert.Equal("m.safetensors: header length 999999 runs past the end of the file (120 bytes); the file is truncated or not safetensors",
            Error(bytes));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        Assert.Equal("m.safetensors: header length 18446744073709551615 runs past the end of the file (120 bytes); the file is truncated or not safetensors",
            Error(bytes));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 113);
        Assert.StartsWith("m.safetensors: header length 113 runs past", Error(bytes));
    }

    [Fact]
    public void HeaderLengthOverLimit()
    {
        var bytes = new byte[8 + 100_000_008];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 100_000_001);
        Assert.Equal("m.safetensors: header length 100000001 is over the 100000000-byte limit; the file is corrupt or not safetensors",
            Error(bytes));
    }

    [Fact]
    public void HeaderNotUtf8()
    {
        Assert.Equal("m.safetensors: header is not valid UTF-8; the file is corrupt or not safetensors",
            Error(File([(byte)'{', 0xFF, (byte)'}'], [])));
    }

    [Theory]
    [InlineData("")]
    [InlineData("        ")]
    [InlineData("{\"a\":")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",}}")]
    [InlineData("{} x")]
    [InlineData("{}{}")]
    [InlineData("{'a':1}")]
    [InlineData("{\"\\ud800\":{}}")]
    [InlineData("\0\0\0\0")]
    public void HeaderNotJson(string header)
    {
        string message = Error(File(header));
        if (header.Length == 0)
        {
            Assert.Equal("m.safetensors: header is empty; the file is not safetensors", message);
            return;
        }
        Assert.StartsWith("m.safetensors: header is not valid JSON (", message);
        Assert.EndsWith("); the file is corrupt or not safetensors", message);
        Assert.DoesNotContain("JSON token", message);  // .NET's own sentence is replaced by where the JSON breaks
        Assert.DoesNotContain('\n', message);
    }

    [Theory]
    [InlineData("[]", "header is a JSON array, expected an object of tensors; the file is corrupt or not safetensors")]
    [InlineData("\"x\"", "header is a JSON string, expected an object of tensors; the file is corrupt or not safetensors")]
    [InlineData("{\"a\":1}", "tensor 'a' is a JSON number, expected an object with dtype, shape and data_offsets")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"a\":{}}", "tensor 'a' appears twice in the header")]
    [InlineData("{\"__metadata__\":{},\"__metadata__\":{}}", "__metadata__ appears twice in the header")]
    [InlineData("{\"__metadata__\":[]}", "__metadata__ is a JSON array, expected an object of strings")]
    [InlineData("{\"__metadata__\":{\"k\":1}}", "metadata 'k' is a JSON number; safetensors metadata values must be strings")]
    [InlineData("{\"__metadata__\":{\"k\":null}}", "metadata 'k' is a JSON null; safetensors metadata values must be strings")]
    [InlineData("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", "metadata 'k' is a JSON object; safetensors metadata values must be strings")]
    [InlineData("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", "metadata 'k' appears twice in the header")]
    [InlineData("{\"a\":{\"shape\":[0],\"data_offsets\":[0,0]}}", "tensor 'a' has no dtype")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,0]}}", "tensor 'a' has no shape")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[0]}}", "tensor 'a' has no data_offsets")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}", "tensor 'a' has 'dtype' twice")]
    [InlineData("{\"a\":{\"shape\":[],\"shape\":[]}}", "tensor 'a' has 'shape' twice")]
    [InlineData("{\"a\":{\"data_offsets\":[0,0],\"data_offsets\":[0,0]}}", "tensor 'a' has 'data_offsets' twice")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0],\"extra\":1}}", "tensor 'a' has an unknown field 'extra'; expected dtype, shape and data_offsets")]
    [InlineData("{\"a\":{\"dtype\":\"I32\",\"shape\":[0],\"data_offsets\":[0,0]}}", "tensor 'a' has dtype 'I32'; aemnist needs floating-point weights: F32 (F64, F16, BF16 and I64 are converted to F32)")]
    [InlineData("{\"a\":{\"dtype\":\"f32\",\"shape\":[0],\"data_offsets\":[0,0]}}", "tensor 'a' has dtype 'f32'; aemnist needs floating-point weights: F32 (F64, F16, BF16 and I64 are converted to F32)")]
    [InlineData("{\"a\":{\"dtype\":4,\"shape\":[0],\"data_offsets\":[0,0]}}", "tensor 'a' has a dtype that is a JSON number, expected a string such as \"F32\"")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", "tensor 'a' has an invalid shape; expected an array of at most 64 non-negative integers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", "tensor 'a' has an invalid shape; expected an array of at most 64 non-negative integers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", "tensor 'a' has an invalid shape; expected an array of at most 64 non-negative integers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[[2]],\"data_offsets\":[0,8]}}", "tensor 'a' has an invalid shape; expected an array of at most 64 non-negative integers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,8]}}", "tensor 'a' has an invalid shape; expected an array of at most 64 non-negative integers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0]}}", "tensor 'a' has invalid data_offsets; expected [begin, end] with non-negative integers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0,0]}}", "tensor 'a' has invalid data_offsets; expected [begin, end] with non-negative integers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[-4,0]}}", "tensor 'a' has invalid data_offsets; expected [begin, end] with non-negative integers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":{}}}", "tensor 'a' has invalid data_offsets; expected [begin, end] with non-negative integers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[100000,100000],\"data_offsets\":[0,0]}}", "tensor 'a' has shape [100000, 100000], more than the 2147483591 elements aemnist can hold")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[0,4294967296],\"data_offsets\":[0,0]}}", "tensor 'a' has shape [0, 4294967296], more than the 2147483591 elements aemnist can hold")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", "tensor 'a' has data_offsets [4, 0] that end before they begin; the file is corrupt")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor 'a' has data_offsets [0, 4] past the end of the data (0 bytes); the file is truncated or corrupt")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551612,18446744073709551615]}}", "tensor 'a' has data_offsets [18446744073709551612, 18446744073709551615] past the end of the data (0 bytes); the file is truncated or corrupt")]
    public void BadHeader(string header, string problem)
    {
        Assert.Equal($"m.safetensors: {problem}", Error(File(header)));
    }

    [Fact]
    public void TooManyDimensions()
    {
        string shape = "[" + string.Join(",", Enumerable.Repeat("1", 65)) + "]";
        Assert.Equal("m.safetensors: tensor 'a' has an invalid shape; expected an array of at most 64 non-negative integers",
            Error(File("{" + Tensor("a", "F32", shape, 0, 4) + "}", new byte[4])));
        shape = "[" + string.Join(",", Enumerable.Repeat("1", 64)) + "]";
        Assert.Single(SafeTensors.Read(File("{" + Tensor("a", "F32", shape, 0, 4) + "}", new byte[4]), Name).Tensors["a"].Data);
    }

    [Fact]
    public void SizeDoesNotMatchShape()
    {
        Assert.Equal("m.safetensors: tensor 'a' has data_offsets [0, 8] (8 bytes) but shape [3] of F32 needs 12 bytes; the file is corrupt",
            Error(File("{" + Tensor("a", "F32", "[3]", 0, 8) + "}", new byte[8])));
        Assert.Equal("m.safetensors: tensor 'h' has data_offsets [0, 8] (8 bytes) but shape [2, 1] of F16 needs 4 bytes; the file is corrupt",
            Error(File("{" + Tensor("h", "F16", "[2,1]", 0, 8) + "}", new byte[8])));
    }

    [Fact]
    public void OverlappingTensors()
    {
        string header = "{" + Tensor("a", "F32", "[2]", 0, 8) + "," + Tensor("b", "F32", "[2]", 4, 12) + "}";
        Assert.Equal("m.safetensors: tensors 'a' [0, 8] and 'b' [4, 12] overlap; the file is corrupt", Error(File(header, new byte[12])));
        header = "{" + Tensor("b", "F32", "[2]", 0, 8) + "," + Tensor("a", "F32", "[2]", 0, 8) + "}";
        Assert.Equal("m.safetensors: tensors 'b' [0, 8] and 'a' [0, 8] overlap; the file is corrupt", Error(File(header, new byte[8])));
        header = "{" + Tensor("a", "F32", "[2]", 0, 8) + "," + Tensor("z", "F32", "[0]", 4, 4) + "}";
        Assert.Equal("m.safetensors: tensors 'a' [0, 8] and 'z' [4, 4] overlap; the file is corrupt", Error(File(header, new byte[8])));
    }

    [Fact]
    public void GapBetweenTensors()
    {
        string header = "{" + Tensor("a", "F32", "[1]", 0, 4) + "," + Tensor("b", "F32", "[1]", 8, 12) + "}";
        Assert.Equal("m.safetensors: data bytes [4, 8] belong to no tensor; the file is corrupt", Error(File(header, new byte[12])));
        header = "{" + Tensor("a", "F32", "[1]", 4, 8) + "}";
        Assert.Equal("m.safetensors: data bytes [0, 4] belong to no tensor; the file is corrupt", Error(File(header, new byte[8])));
    }

    [Fact]
    public void TrailingBytes()
    {
        Assert.Equal("m.safetensors: 3 trailing bytes after the last tensor belong to no tensor; the file is corrupt",
            Error(File("{" + Tensor("a", "F32", "[1]", 0, 4) + "}", new byte[7])));
        Assert.Equal("m.safetensors: 1 trailing bytes after the last tensor belong to no tensor; the file is corrupt",
            Error(File("{}", new byte[1])));
    }

    [Fact]
    public void NamesInMessagesStayOnOneLine()
    {
        string message = Error(File("{\"a\\nb\\u0000" + new string('x', 200) + "\":1}"));
        Assert.StartsWith("m.safetensors: tensor 'a\\u000ab\\u0000xxx", message);
        Assert.Contains("xxx...' is a JSON number", message);
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain('\0', message);
    }
}
