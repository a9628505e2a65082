// Build-time compatibility step for libLibTorchSharp.so on older Linux systems: TorchSharp 0.107's native library
// is linked against GCC 13's libstdc++ and asks for the symbol version GLIBCXX_3.4.32, which an older libstdc++
// (Debian 12 has GCC 12's, up to GLIBCXX_3.4.30) does not define, so glibc refuses to load it. The only symbol it
// takes from that version is std::ios_base_library_init(), referenced but never relocated, i.e. never looked up.
// Marking such a version requirement weak (VER_FLG_WEAK in the vna_flags of its .gnu.version_r entry) lets glibc
// load the library; nothing else changes. This file does that, only for versions the system's libstdc++ lacks and
// only when every symbol of the version is undefined and unrelocated.
//
// It is compiled twice: by MSBuild as the inline task of LibTorchSharp.targets (RoslynCodeTaskFactory, netstandard
// APIs only, one file), and into tests/AeMnist.Torch.Tests (with AEMNIST_TESTS defined, without the task class).
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace AeMnist.Torch.Build
{
    /// <summary>One entry of a shared library's .gnu.version_r: "needs version V of file F".</summary>
    public sealed class ElfVersionNeed
    {
        public ElfVersionNeed(string file, string version, ushort flags, ushort index, int flagsOffset, IReadOnlyList<string> symbols, bool allUndefined, bool relocated)
        {
            File = file;
            Version = version;
            Flags = flags;
            Index = index;
            FlagsOffset = flagsOffset;
            Symbols = symbols;
            AllUndefined = allUndefined;
            Relocated = relocated;
        }

        /// <summary>The library the version comes from, as DT_NEEDED names it: "libstdc++.so.6".</summary>
        public string File { get; }

        /// <summary>"GLIBCXX_3.4.32".</summary>
        public string Version { get; }

        /// <summary>vna_flags; <see cref="ElfVersions.WeakFlag"/> marks a requirement glibc may leave unmet.</summary>
        public ushort Flags { get; }

        /// <summary>vna_other: the index .gnu.version uses for symbols bound to this version.</summary>
        public ushort Index { get; }

        /// <summary>File offset of vna_flags.</summary>
        public int FlagsOffset { get; }

        /// <summary>Dynamic symbols bound to this version.</summary>
        public IReadOnlyList<string> Symbols { get; }

        /// <summary>Every one of <see cref="Symbols"/> is undefined here (imported, not exported).</summary>
        public bool AllUndefined { get; }

        /// <summary>Some relocation refers to one of <see cref="Symbols"/>, so the loader would look it up.</summary>
        public bool Relocated { get; }

        public bool IsWeak => (Flags & ElfVersions.WeakFlag) != 0;

        /// <summary>Weakening is safe: no relocation will ever look up a symbol of this version.</summary>
        public bool CanBeWeak => AllUndefined && !Relocated;

        public override string ToString() => Version + " of " + File + " (" + string.Join(", ", Symbols) + ")";
    }

    /// <summary>Reads symbol-version requirements and definitions of 64-bit little-endian ELF files, and weakens requirements.</summary>
    public static class ElfVersions
    {
        /// <summary>VER_FLG_WEAK.</summary>
        public const ushort WeakFlag = 0x2;

        private const uint ShtRela = 4, ShtDynsym = 11, ShtRel = 9;
        private const uint ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;

        private sealed class Section
        {
            public uint Type;
            public long Offset, Size, EntrySize;
            public int Link;
            public uint Info;
        }

        /// <summary>The version requirements (.gnu.version_r) of <paramref name="elf"/>, with the symbols bound to each.</summary>
        public static List<ElfVersionNeed> ReadNeeds(byte[] elf)
        {
            Section[] sections = Sections(elf);
            var needs = new List<ElfVersionNeed>();
            Section? verneed = sections.FirstOrDefault(s => s.Type == ShtGnuVerneed);
            if (verneed is null) return needs;
            Section strings = sections[verneed.Link];
            Section? dynsym = sections.FirstOrDefault(s => s.Type == ShtDynsym);
            Section? versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
            int dynsymIndex = dynsym is null ? -1 : Array.IndexOf(sections, dynsym);

            // Symbol index -> version index, and which symbols any relocation refers to.
            var symbolsByVersion = new Dictionary<int, List<int>>();
            long symbolCount = dynsym is null ? 0 : dynsym.Size / 24;
            if (dynsym is not null && versym is not null)
                for (int i = 0; i < symbolCount; i++)
                {
                    int version = U16(elf, versym.Offset + 2L * i) & 0x7fff;
                    if (!symbolsByVersion.TryGetValue(version, out List<int>? list)) symbolsByVersion[version] = list = new List<int>();
                    list.Add(i);
                }
            var relocated = new HashSet<long>();
            foreach (Section s in sections)
            {
                if ((s.Type != ShtRela && s.Type != ShtRel) || s.Link != dynsymIndex) continue;
                long entry = s.EntrySize > 0 ? s.EntrySize : (s.Type == ShtRela ? 24 : 16);
                for (long at = s.Offset; at + entry <= s.Offset + s.Size; at += entry) relocated.Add((long)(U64(elf, at + 8) >> 32));
            }

            long need = verneed.Offset;
            for (uint n = 0; n < verneed.Info; n++)
            {
                int count = U16(elf, need + 2);
                string file = Text(elf, strings, U32(elf, need + 4));
                long aux = need + U32(elf, need + 8);
                for (int a = 0; a < count; a++)
                {
                    ushort flags = U16(elf, aux + 4), index = U16(elf, aux + 6);
                    string version = Text(elf, strings, U32(elf, aux + 8));
                    var names = new List<string>();
                    bool allUndefined = true, anyRelocated = false;
                    if (dynsym is not null && symbolsByVersion.TryGetValue(index & 0x7fff, out List<int>? bound))
                    {
                        Section symbolStrings = sections[dynsym.Link];
                        foreach (int symbol in bound)
                        {
                            long at = dynsym.Offset + 24L * symbol;
                            names.Add(Text(elf, symbolStrings, U32(elf, at)));
                            allUndefined &= U16(elf, at + 6) == 0;  // st_shndx == SHN_UNDEF
                            anyRelocated |= relocated.Contains(symbol);
                        }
                    }
                    needs.Add(new ElfVersionNeed(file, version, flags, index, checked((int)(aux + 4)), names, allUndefined, anyRelocated));
                    uint next = U32(elf, aux + 12);
                    if (next == 0) break;
                    aux += next;
                }
                uint nextNeed = U32(elf, need + 12);
                if (nextNeed == 0) break;
                need += nextNeed;
            }
            return needs;
        }

        /// <summary>The version names a library defines (.gnu.version_d): "GLIBCXX_3.4", ..., "GLIBCXX_3.4.30".</summary>
        public static HashSet<string> ReadDefinitions(byte[] elf)
        {
            Section[] sections = Sections(elf);
            var names = new HashSet<string>(StringComparer.Ordinal);
            Section? verdef = sections.FirstOrDefault(s => s.Type == ShtGnuVerdef);
            if (verdef is null) return names;
            Section strings = sections[verdef.Link];
            long def = verdef.Offset;
            for (uint n = 0; n < verdef.Info; n++)
            {
                if (U16(elf, def + 6) > 0) names.Add(Text(elf, strings, U32(elf, def + U32(elf, def + 12))));
                uint next = U32(elf, def + 16);
                if (next == 0) break;
                def += next;
            }
            return names;
        }

        /// <summary>
        /// The requirements of <paramref name="library"/> on <paramref name="file"/> that <paramref name="defined"/> (the
        /// versions the system's copy of that file defines) does not satisfy and that are not weak already.
        /// </summary>
        public static List<ElfVersionNeed> Missing(IEnumerable<ElfVersionNeed> library, string file, ISet<string> defined) =>
            library.Where(n => n.File == file && !n.IsWeak && !defined.Contains(n.Version)).ToList();

        /// <summary>A copy of <paramref name="elf"/> with <paramref name="needs"/> marked weak; every other byte is unchanged.</summary>
        public static byte[] MarkWeak(byte[] elf, IEnumerable<ElfVersionNeed> needs)
        {
            var copy = (byte[])elf.Clone();
            foreach (ElfVersionNeed n in needs)
            {
                ushort flags = (ushort)(U16(copy, n.FlagsOffset) | WeakFlag);
                copy[n.FlagsOffset] = (byte)flags;
                copy[n.FlagsOffset + 1] = (byte)(flags >> 8);
            }
            return copy;
        }

        /// <summary>The system's libstdc++.so.6 for this process's architecture, or null.</summary>
        public static string? FindSystemLibrary(string name)
        {
            string[] directories =
            {
                "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
            };
            return directories.Select(d => Path.Combine(d, name)).FirstOrDefault(System.IO.File.Exists);
        }

        private static Section[] Sections(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (elf[4] != 2 || elf[5] != 1) throw new InvalidDataException("not a 64-bit little-endian ELF file");
            long offset = (long)U64(elf, 0x28);
            int entrySize = U16(elf, 0x3a), count = U16(elf, 0x3c);
            if (entrySize < 64 || offset < 0 || offset + (long)entrySize * count > elf.Length) throw new InvalidDataException("ELF section headers out of range");
            var sections = new Section[count];
            for (int i = 0; i < count; i++)
            {
                long at = offset + (long)entrySize * i;
                sections[i] = new Section
                {
                    Type = U32(elf, at + 4),
                    Offset = (long)U64(elf, at + 24),
                    Size = (long)U64(elf, at + 32),
                    Link = (int)U32(elf, at + 40),
                    Info = U32(elf, at + 44),
                    EntrySize = (long)U64(elf, at + 56),
                };
                if (sections[i].Type != 8 /* SHT_NOBITS */ && (sections[i].Offset < 0 || sections[i].Offset + sections[i].Size > elf.Length))
                    throw new InvalidDataException("ELF section " + i + " out of range");
            }
            return sections;
        }

        private static string Text(byte[] elf, Section strings, uint offset)
        {
            long start = strings.Offset + offset, end = start;
            while (end < strings.Offset + strings.Size && elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, checked((int)start), checked((int)(end - start)));
        }

        private static ushort U16(byte[] b, long at) => BitConverter.ToUInt16(b, checked((int)at));

        private static uint U32(byte[] b, long at) => BitConverter.ToUInt32(b, checked((int)at));

        private static ulong U64(byte[] b, long at) => BitConverter.ToUInt64(b, checked((int)at));
    }

#if !AEMNIST_TESTS
    /// <summary>
    /// MSBuild task: gives the path of <see cref="Library"/> to ship — the original, or, where the system's libstdc++
    /// lacks versions it requires and weakening them is safe, a copy in <see cref="OutputDirectory"/> with them weak.
    /// </summary>
    public sealed class WeakenMissingLibStdCxxVersions : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public string Library { get; set; } = "";

        [Microsoft.Build.Framework.Required]
        public string OutputDirectory { get; set; } = "";

        [Microsoft.Build.Framework.Output]
        public string Result { get; set; } = "";

        public override bool Execute()
        {
            Result = Library;
            string name = Path.GetFileName(Library);
            string? system = ElfVersions.FindSystemLibrary("libstdc++.so.6");
            if (system is null)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, name + ": no system libstdc++.so.6 found; shipped as is");
                return true;
            }
            byte[] elf = System.IO.File.ReadAllBytes(Library);
            List<ElfVersionNeed> missing = ElfVersions.Missing(ElfVersions.ReadNeeds(elf), "libstdc++.so.6", ElfVersions.ReadDefinitions(System.IO.File.ReadAllBytes(system)));
            if (missing.Count == 0)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, name + ": " + system + " has every version it needs; shipped as is");
                return true;
            }
            List<ElfVersionNeed> unsafeNeeds = missing.Where(n => !n.CanBeWeak).ToList();
            if (unsafeNeeds.Count > 0)
            {
                Log.LogWarning(name + " needs " + string.Join("; ", unsafeNeeds) + ", which " + system +
                    " lacks and which it really uses, so the torch engine cannot load on this system (the native engine is unaffected); install libstdc++ from GCC 13 or later");
                return true;
            }
            byte[] patched = ElfVersions.MarkWeak(elf, missing);
            Directory.CreateDirectory(OutputDirectory);
            string output = Path.Combine(OutputDirectory, name);
            // Rewritten only when it changes, so incremental builds see an unchanged file.
            if (!System.IO.File.Exists(output) || !System.IO.File.ReadAllBytes(output).SequenceEqual(patched))
                System.IO.File.WriteAllBytes(output, patched);
            Result = output;
            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, "  " + name + ": marked " + string.Join("; ", missing) +
                " weak, because " + system + " lacks it and no relocation uses it (see README, 'The torch engine')");
            return true;
        }
    }
#endif
}
