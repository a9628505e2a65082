using System.Text;
using AeMnist.IO;

namespace AeMnist.Core.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void WriteAllBytes_CreatesFileWithExactContent()
    {
        string path = _dir.File("a.bin");
        AtomicFile.WriteAllBytes(path, new byte[] { 1, 2, 3, 255 });
        Assert.Equal(new byte[] { 1, 2, 3, 255 }, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void WriteFiles_WritesEveryFileWholeAndRemovesStrandedTemporariesOnce()
    {
        // A temporary of a writer that no longer runs (pid past Linux's limit), of a name the batch does not write.
        string stranded = _dir.File($".other.png.aemnist-{(1 << 22) + 1}-abcd.tmp");
        File.WriteAllBytes(stranded, [9]);
        File.WriteAllBytes(_dir.File("f1.bin"), new byte[100]);  // replaced
        AtomicFile.WriteFiles(_dir.Path, 3, i => ($"f{i}.bin", Enumerable.Repeat((byte)(i + 1), i + 1).ToArray()));
        Assert.Equal([1], File.ReadAllBytes(_dir.File("f0.bin")));
        Assert.Equal([2, 2], File.ReadAllBytes(_dir.File("f1.bin")));
        Assert.Equal([3, 3, 3], File.ReadAllBytes(_dir.File("f2.bin")));
        Assert.Equal(OperatingSystem.IsLinux() ? 3 : 4, Directory.GetFiles(_dir.Path).Length);
    }

    [Fact]
    public void WriteFiles_StopsAtAFailureWithTheFilesBeforeItWholeAndNoTemporary()
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            AtomicFile.WriteFiles(_dir.Path, 3, i => i < 2 ? ($"f{i}.bin", [(byte)i]) : throw new InvalidOperationException("no third")));
        Assert.Equal("no third", e.Message);
        Assert.Equal(["f0.bin", "f1.bin"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order());
        Assert.Throws<IOException>(() => AtomicFile.WriteFiles(_dir.File("missing"), 1, i => ("x", [])));
    }

    [Fact]
    public void WriteAllBytes_ReplacesExistingFile()
    {
        string path = _dir.File("a.bin");
        File.WriteAllBytes(path, new byte[1000]);
        AtomicFile.WriteAllBytes(path, new byte[] { 7 });
        Assert.Equal(new byte[] { 7 }, File.ReadAllBytes(path));
    }

    [Fact]
    public void WriteAllBytes_EmptySpan_WritesEmptyFile()
    {
        string path = _dir.File("empty.bin");
        AtomicFile.WriteAllBytes(path, ReadOnlySpan<byte>.Empty);
        Assert.Empty(File.ReadAllBytes(path));
    }

    [Fact]
    public void WriteAllText_WritesUtf8WithoutBom()
    {
        string path = _dir.File("t.txt");
        AtomicFile.WriteAllText(path, "é,1\n");
        Assert.Equal(Encoding.UTF8.GetBytes("é,1\n"), File.ReadAllBytes(path));
    }

    [Fact]
    public void Write_StreamCallback_WritesContent()
    {
        string path = _dir.File("s.bin");
        AtomicFile.Write(path, s => { s.WriteByte(9); s.Write(new byte[] { 8, 7 }); });
        Assert.Equal(new byte[] { 9, 8, 7 }, File.ReadAllBytes(path));
    }

    [Fact]
    public void Write_CallbackThrows_LeavesDestinationUntouchedAndNoTempFile()
    {
        string path = _dir.File("keep.txt");
        File.WriteAllText(path, "old");
        var ex = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[100]);
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal("boom", ex.Message);
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Write_CallbackThrows_NoDestinationCreated()
    {
        string path = _dir.File("new.txt");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, _ => throw new IOException("disk full")));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Write_DestinationDirectoryMissing_ThrowsAndCreatesNothing()
    {
        string path = Path.Combine(_dir.Path, "missing", "x.bin");
        var e = Assert.Throws<IOException>(() => AtomicFile.WriteAllBytes(path, new byte[] { 1 }));
        Assert.Equal($"{path}: cannot write: directory {Path.Combine(_dir.Path, "missing")} does not exist", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path));
    }

    [Fact]
    public void Write_DestinationIsDirectory_ThrowsAndCleansTemp()
    {
        string path = _dir.File("adir");
        Directory.CreateDirectory(path);
        Assert.ThrowsAny<IOException>(() => AtomicFile.WriteAllBytes(path, new byte[] { 1 }));
        Assert.True(Directory.Exists(path));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Write_RelativePath_WritesIntoCurrentDirectoryResolution()
    {
        string path = Path.GetRelativePath(Environment.CurrentDirectory, _dir.File("rel.txt"));
        AtomicFile.WriteAllText(path, "x");
        Assert.Equal("x", File.ReadAllText(_dir.File("rel.txt")));
    }

    [Fact]
    public void Write_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => AtomicFile.Write(_dir.File("n"), null!));
        Assert.Throws<ArgumentNullException>(() => AtomicFile.WriteAllText(_dir.File("n"), null!));
        Assert.ThrowsAny<ArgumentException>(() => AtomicFile.WriteAllBytes("", new byte[1]));
    }
}
