using AeMnist.Core.Tests.Reporting;
using AeMnist.IO;
using AeMnist.Reporting;

namespace AeMnist.Core.Tests.IO;

/// <summary>AtomicFile's rules for what a path is (issue 12): only regular files are replaced; errors are in our words.</summary>
public sealed class WriteKindsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_symbolic_link_is_followed_and_its_target_replaced()
    {
        string target = _dir.File("target.txt"), link = _dir.File("link.txt");
        File.WriteAllText(target, "old");
        File.CreateSymbolicLink(link, target);
        AtomicFile.WriteAllText(link, "new");
        Assert.Equal(FileKind.SymbolicLink, FileKinds.Of(link, followLinks: false));
        Assert.Equal("new", File.ReadAllText(target));
    }

    [Fact]
    public void A_dangling_symbolic_link_gets_its_target_created()
    {
        string target = _dir.File("later.txt"), link = _dir.File("link.txt");
        File.CreateSymbolicLink(link, target);
        AtomicFile.WriteAllText(link, "made");
        Assert.Equal("made", File.ReadAllText(target));
        Assert.Equal(FileKind.SymbolicLink, FileKinds.Of(link, followLinks: false));
    }

    [Fact]
    public void Descriptor_links_are_written_in_place()
    {
        Assert.True(AtomicFile.Destination("/dev/stdout").InPlace);
        Assert.True(AtomicFile.Destination("/proc/self/fd/2").InPlace);
        Assert.True(AtomicFile.Destination("/dev/fd/1").InPlace);
        Assert.False(AtomicFile.Destination(_dir.File("plain.csv")).InPlace);
    }

    [Fact]
    public void A_directory_is_refused_naming_the_path()
    {
        var e = Assert.Throws<IOException>(() => AtomicFile.WriteAllText(_dir.Path, "x"));
        Assert.Equal($"{_dir.Path}: cannot write: it is a directory; give a file name", e.Message);
    }

    [Fact]
    public void A_full_disk_is_reported_in_our_words_without_the_temporary_name()
    {
        string path = _dir.File("x.bin");
        File.WriteAllText(path, "old");
        AtomicFile.Fault.Value = _ => new IOException("No space left on device : '/some/.x.bin.aemnist-1-abc.tmp'", 28);
        try
        {
            var e = Assert.Throws<IOException>(() => AtomicFile.WriteAllText(path, "new"));
            Assert.Equal($"{path}: cannot write: no space left on device", e.Message);
        }
        finally
        {
            AtomicFile.Fault.Value = null;
        }
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Temporary_files_of_dead_writers_are_removed_by_the_next_write()
    {
        // A writer that no longer exists (pid 2^22 + 1 is above Linux's pid_max default) and a live one (this process).
        string dead = _dir.File($".x.bin.aemnist-{(1 << 22) + 1}-abcd.tmp"), live = _dir.File($".x.bin.aemnist-{Environment.ProcessId}-efgh.tmp");
        File.WriteAllText(dead, "stranded");
        File.WriteAllText(live, "being written");
        AtomicFile.WriteAllText(_dir.File("x.bin"), "x");
        Assert.False(File.Exists(dead));
        Assert.True(File.Exists(live));
        Assert.Equal(4194305, AtomicFile.WriterOf(Path.GetFileName(dead)));
        Assert.Null(AtomicFile.WriterOf(".x.bin.abc.tmp"));
    }

    [Fact]
    public void A_report_into_a_directory_that_was_removed_never_recreates_it()
    {
        string gone = _dir.File("run-that-was-deleted");
        var e = Assert.Throws<IOException>(() => HtmlReport.Write(gone, SyntheticRun.Create()));
        Assert.Contains("does not exist", e.Message);
        Assert.False(Directory.Exists(gone));
    }

    [Fact]
    public void FileKinds_tells_devices_fifos_links_and_files_apart()
    {
        Assert.Equal(FileKind.CharacterDevice, FileKinds.Of("/dev/null"));
        Assert.Equal(FileKind.Directory, FileKinds.Of(_dir.Path));
        Assert.Equal(FileKind.Missing, FileKinds.Of(_dir.File("none")));
        Assert.Equal(FileKind.Missing, FileKinds.Of(_dir.File("none/deeper")));
        File.WriteAllText(_dir.File("f"), "");
        Assert.Equal(FileKind.Regular, FileKinds.Of(_dir.File("f")));
    }
}
