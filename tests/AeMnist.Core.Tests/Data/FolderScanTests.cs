using System.Runtime.InteropServices;
using AeMnist.Data;
using CsCheck;

namespace AeMnist.Core.Tests.Data;

/// <summary>
/// The one folder scanner (issue 20), over random trees (CsCheck): links to directories anywhere (back up the tree,
/// across it, to themselves), FIFOs and broken links named like images, hidden folders. It always ends, names every
/// image file of the real tree exactly once, in the same order every time, never opens a FIFO (a test writer would see
/// a reader), and refuses (or, with a skip list, reports) every entry named like an image that is not a regular file.
/// </summary>
public sealed partial class FolderScanTests
{
    private sealed record Tree(int[] Parents, (int Dir, bool Hidden)[] Files, (int From, int To, bool Relative)[] Links, (int Dir, bool Fifo)[] Bad);

    private static readonly Gen<Tree> Trees =
        from dirs in Gen.Int[0, 5]
        from parents in Gen.Int[0, 1000].Array[dirs]
        from files in Gen.Select(Gen.Int[0, dirs], Gen.Int[0, 9]).Array[0, 12]
        from links in Gen.Select(Gen.Int[0, dirs], Gen.Int[0, dirs], Gen.Bool).Array[0, 6]
        from bad in Gen.Select(Gen.Int[0, dirs], Gen.Bool).Array[0, 2]
        select new Tree([.. parents.Select((p, i) => p % (i + 1))], [.. files.Select(f => (f.Item1, f.Item2 == 0))], links, bad);

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkFifo(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    // Directory i (0 is the root) lies at root/d1/d3/... by its parents; a hidden directory's name starts with a dot.
    private static string[] Build(string root, Tree tree, out List<string> expected, out List<string> fifos, out List<string> badNames)
    {
        var dirs = new string[tree.Parents.Length + 1];
        dirs[0] = root;
        for (int i = 1; i < dirs.Length; i++)
            Directory.CreateDirectory(dirs[i] = Path.Combine(dirs[tree.Parents[i - 1]], $"d{i}"));
        expected = [];
        fifos = [];
        badNames = [];
        for (int k = 0; k < tree.Files.Length; k++)
        {
            (int dir, bool inHidden) = tree.Files[k];
            string folder = inHidden ? Directory.CreateDirectory(Path.Combine(dirs[dir], ".git")).FullName : dirs[dir];
            string content = $"file {k}";
            File.WriteAllText(Path.Combine(folder, $"f{k}.png"), content);
            File.WriteAllText(Path.Combine(folder, $"notes{k}.txt"), "not an image");
            if (!inHidden) expected.Add(content);
        }
        for (int k = 0; k < tree.Links.Length; k++)
        {
            (int from, int to, bool relative) = tree.Links[k];
            string link = Path.Combine(dirs[from], $"l{k}");
            Directory.CreateSymbolicLink(link, relative ? Path.GetRelativePath(dirs[from], dirs[to]) : dirs[to]);
        }
        for (int k = 0; k < tree.Bad.Length; k++)
        {
            (int dir, bool fifo) = tree.Bad[k];
            string path = Path.Combine(dirs[dir], $"bad{k}.png");
            if (fifo)
            {
                Assert.Equal(0, MkFifo(path, 0b110_100_100));
                fifos.Add(path);
            }
            else File.CreateSymbolicLink(path, Path.Combine(root, "missing", "x.png"));
            badNames.Add($"bad{k}.png");
        }
        return dirs;
    }

    // Runs the scan, failing (instead of hanging) if it opens a FIFO: a writer's non-blocking open succeeds only while a reader has it open.
    private static T WithoutOpeningFifos<T>(List<string> fifos, Func<T> scan)
    {
        Task<T> task = Task.Run(scan);
        while (!task.IsCompleted)
        {
            foreach (string fifo in fifos)
            {
                int fd = Open(fifo, 0x1 | 0x800);  // O_WRONLY | O_NONBLOCK: ENXIO unless someone reads it
                if (fd >= 0)
                {
                    Close(fd);  // the reader gets end of file and the scan goes on, but it has opened a FIFO
                    Assert.Fail($"the scan opened {fifo}");
                }
            }
            Task.WaitAny([task], TimeSpan.FromMilliseconds(20));  // never throws: the result (or error) comes below
        }
        return task.GetAwaiter().GetResult();
    }

    [Fact]
    public void Any_tree_of_links_is_scanned_once_in_order_and_no_fifo_is_opened()
    {
        if (!OperatingSystem.IsLinux()) return;
        Trees.Sample(tree =>
        {
            using var scratch = new TempDirectory();
            string root = scratch.File("root");
            Directory.CreateDirectory(root);
            Build(root, tree, out List<string> expected, out List<string> fifos, out List<string> badNames);

            var skipped = new List<string>();
            FoundFile[] found = WithoutOpeningFifos(fifos, () => Folders.ImageFiles(root, skipped));
            // Every image file of the real tree, once (a directory reached by several links is read once).
            Assert.Equal(expected.Order(StringComparer.Ordinal), found.Select(f => File.ReadAllText(f.Path)).Order(StringComparer.Ordinal));
            foreach (FoundFile f in found)
            {
                Assert.Equal(Path.GetFullPath(Path.Combine(root, f.Relative)), f.Path);
                Assert.DoesNotContain("/.", f.Relative);
            }
            // Every bad entry of the real tree, once, named; none opened.
            Assert.Equal(badNames.Count, skipped.Count);
            foreach (string name in badNames) Assert.Single(skipped, s => s.Contains(name + ": is ", StringComparison.Ordinal));
            Assert.All(skipped, s => Assert.DoesNotContain('\n', s));
            // The same order every time.
            Assert.Equal(found, WithoutOpeningFifos(fifos, () => Folders.ImageFiles(root, [])));
            // Without a skip list a bad entry is an error naming it.
            if (badNames.Count > 0)
            {
                var e = Assert.Throws<DataFormatException>(() => WithoutOpeningFifos(fifos, () => Folders.ImageFiles(root)));
                Assert.Matches(@"bad\d\.png: is (a FIFO|a broken symbolic link).*not an image file", e.Message);
            }
            else Assert.Equal(found, Folders.ImageFiles(root));
        }, seed: "0N0XIzNsQ0O2", iter: 60, threads: 1);
    }

    [Fact]
    public void A_link_to_its_own_folder_and_a_diamond_give_each_file_once()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var scratch = new TempDirectory();
        string root = Directory.CreateDirectory(scratch.File("root")).FullName;
        string a = Directory.CreateDirectory(Path.Combine(root, "a")).FullName;
        File.WriteAllText(Path.Combine(a, "1.png"), "1");
        File.WriteAllText(Path.Combine(root, "0.png"), "0");
        Directory.CreateSymbolicLink(Path.Combine(a, "up"), "..");  // a loop
        Directory.CreateSymbolicLink(Path.Combine(root, "b"), "a");  // a second way to a
        FoundFile[] found = Folders.ImageFiles(root);
        Assert.Equal(["0.png", "a/1.png"], found.Select(f => f.Relative));
        // A link named first is the path that names the directory's files.
        Directory.CreateSymbolicLink(Path.Combine(root, "0link"), "a");
        Assert.Equal(["0.png", "0link/1.png"], Folders.ImageFiles(root).Select(f => f.Relative));
        // The root given as a link to a folder is scanned too.
        Directory.CreateSymbolicLink(scratch.File("via"), root);
        Assert.Equal(3, Folders.Subdirectories(scratch.File("via")).Length);
    }

    [Fact]
    public void One_file_has_one_identity_and_one_real_path_however_it_is_spelled()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var scratch = new TempDirectory();
        string real = Directory.CreateDirectory(scratch.File("real")).FullName;
        File.WriteAllText(Path.Combine(real, "x.csv"), "x");
        Directory.CreateSymbolicLink(scratch.File("link"), "real");
        File.CreateSymbolicLink(scratch.File("alias.csv"), "link/../real/x.csv");
        string[] spellings = [Path.Combine(real, "x.csv"), scratch.File("link/x.csv"), scratch.File("link/./x.csv"), scratch.File("alias.csv")];
        Assert.Single(spellings.Select(AeMnist.IO.FileKinds.Identity).Distinct());
        Assert.NotNull(AeMnist.IO.FileKinds.Identity(spellings[0]));
        Assert.Single(spellings.Select(AeMnist.IO.FileKinds.RealPath).Distinct());
        // A name that does not exist yet resolves through the links above it.
        Assert.Equal(AeMnist.IO.FileKinds.RealPath(Path.Combine(real, "new.csv")), AeMnist.IO.FileKinds.RealPath(scratch.File("link/new.csv")));
        Assert.Null(AeMnist.IO.FileKinds.Identity(scratch.File("link/new.csv")));
        Assert.NotEqual(AeMnist.IO.FileKinds.Identity(real), AeMnist.IO.FileKinds.Identity(spellings[0]));
    }
}
