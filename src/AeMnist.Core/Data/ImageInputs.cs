// The images `aemnist score` and `evaluate --input` accept, recognised by content rather than by file name: IDX
// image files (raw or gzip, with an IDX label file beside them where labels are wanted), CSV files of 784 pixel
// values per row (optionally a leading label), PNG/JPEG/BMP/WebP/GIF images of 28x28, and directories of images
// (searched recursively). Each input is opened once and read once, so `-` (stdin), /dev/stdin, a pipe from
// `<(...)` and a named FIFO work like files. Inputs that are probably wrong get warnings that name the switch to use.
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using AeMnist.IO;
using AeMnist.Imaging;

namespace AeMnist.Data;

/// <summary>How images are read. Defaults read MNIST-like inputs as they are.</summary>
public sealed record ImageReadOptions
{
    /// <summary>
    /// The inputs are dark ink on a light background: CSV and IDX values become 255 - v; images are composited on
    /// white and then inverted (so dark ink on a transparent background works too).
    /// </summary>
    public bool Invert { get; init; }

    /// <summary>The value of a white pixel in CSV files: 255 (default), or 1 for values already scaled to 0-1.</summary>
    public double PixelMax { get; init; } = 255;

    /// <summary>The memory budget of all the inputs' decoded pixels together, in bytes of floats (<see cref="ImageInputs.MaxPixelBytes"/>).</summary>
    public long MaxPixelBytes { get; init; } = ImageInputs.MaxPixelBytes;

    /// <summary>--pixel-max was given (even as 255): then some input must be CSV, else the option cannot apply.</summary>
    public bool PixelMaxGiven { get; init; }

    /// <summary>In directories, report and skip files that cannot be read instead of stopping at the first.</summary>
    public bool SkipBad { get; init; }

    /// <summary>Every image must come with a digit label (evaluate --input); IDX image files then need their label file.</summary>
    public bool RequireLabels { get; init; }

    /// <summary>The IDX label file for the (single) IDX image input; found beside it by name when null.</summary>
    public string? LabelsPath { get; init; }
}

/// <summary>
/// Images to score, each with a source for the output CSV (file name and row or index, or the path relative to an
/// input directory), its label (-1 when unknown), the warnings about probably wrong inputs, and the files skipped.
/// </summary>
public sealed record ImageBatch(float[] Pixels, int Count, string[] Sources, int[] Labels, IReadOnlyList<string> Warnings, IReadOnlyList<string> Skipped)
{
    /// <summary>True when some input had labels (a CSV label column, an IDX label file).</summary>
    public bool HasLabels => Labels.Any(l => l >= 0);
}

public static class ImageInputs
{
    private const int Side = MnistFiles.ImageSize, Pixels = MnistFiles.PixelsPerImage;

    /// <summary>The name that reads standard input.</summary>
    public const string StandardInput = "-";

    /// <summary>
    /// The most memory the decoded images of one command's inputs may take together, as float pixels: 1 GiB (about
    /// 342,000 images of 28x28). Checked before each input's images are allocated (from a header, or row by row).
    /// </summary>
    public const long MaxPixelBytes = 1L << 30;

    /// <summary>Reads every input path in order into one batch of 28x28 images scaled to [0, 1].</summary>
    public static ImageBatch Read(IReadOnlyList<string> paths, ImageReadOptions? options = null)
    {
        var o = options ?? new ImageReadOptions();
        if (paths.Count == 0) throw new ArgumentException("--input needs at least one file");
        if (o.LabelsPath is not null && paths.Count != 1) throw new ArgumentException("--labels goes with a single --input IDX image file");
        var reader = new Reader(o);
        foreach (string path in paths) reader.Add(path);
        return reader.Finish();
    }

    private sealed class Reader(ImageReadOptions options)
    {
        private readonly List<float[]> _pixels = [];
        private readonly List<string> _sources = [];
        private readonly List<int> _labels = [];
        private readonly List<string> _skipped = [];
        private readonly List<(int Row, bool InkInAlpha)> _images = [];
        private readonly List<string> _warnings = [];
        private readonly List<string> _animated = [];
        private int _count;
        private bool _labelsUsed, _csvRead, _directoryRead;
        private long _bytesLeft = options.MaxPixelBytes;

        private string TooMany(string name) =>
            $"{name}: the inputs together hold more than the {options.MaxPixelBytes / (Pixels * sizeof(float))} images of 28x28 ({options.MaxPixelBytes >> 20} MiB of pixels) aemnist reads at once; give fewer inputs, or split the file, and run once per part";

        // The images still allowed, and the bytes an IDX file (one byte per pixel) may still hold.
        private long ImagesLeft => _bytesLeft / (Pixels * sizeof(float));

        private void Take(long images, string name)
        {
            if (images > ImagesLeft) throw new DataFormatException(TooMany(name));
            _bytesLeft -= images * Pixels * sizeof(float);
        }

        public void Add(string path)
        {
            if (path == StandardInput)
            {
                using Stream stdin = Console.OpenStandardInput();
                AddStream(stdin, "stdin", null);
                return;
            }
            if (Directory.Exists(path))
            {
                AddDirectory(path);
                return;
            }
            if (!File.Exists(path)) throw new DataFormatException(FileErrors.NotFound(path));
            using Stream stream = Open(path);
            AddStream(stream, Path.GetFileName(path), path);
        }

        private static Stream Open(string path)
        {
            try
            {
                // bufferSize 0: no FileStream buffer of its own; reads go straight to the file, pipe or device, once.
                return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new DataFormatException($"{path}: cannot read file ({FileErrors.Reason(e)})", e);
            }
        }

        private void AddDirectory(string directory)
        {
            // The one folder scanner (links to directories followed once, FIFOs and devices never opened).
            _directoryRead = true;
            // Rows in the ordinal order of their relative paths, as score has always written them (a/1.png, a/b/1.png, c.png).
            FoundFile[] files = [.. Folders.ImageFiles(Path.GetFullPath(directory), options.SkipBad ? _skipped : null).OrderBy(f => f.Relative, StringComparer.Ordinal)];
            if (files.Length == 0)
                throw new DataFormatException($"{directory}: directory has no image files ({string.Join(", ", ImageFiles.Extensions)})");
            foreach (FoundFile file in files)
            {
                try
                {
                    AddImage(Files.ReadRegular(file.Path, ImageFiles.MaxFileBytes, file.Relative), file.Relative);
                }
                catch (DataFormatException e) when (options.SkipBad)
                {
                    _skipped.Add(e.Message);
                }
            }
        }

        private void AddStream(Stream stream, string name, string? path)
        {
            byte[] head = new byte[16];
            int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            ReadOnlySpan<byte> start = head.AsSpan(0, n);
            // A name with an image extension goes to the image decoder even when its bytes disagree, so the error says what it is not.
            if (ImageFiles.HasImageSignature(start) || ImageFiles.HasImageExtension(name))
            {
                AddImage(ReadAll(stream, head[..n], ImageFiles.MaxFileBytes, name), name);
                return;
            }
            if ((n >= 2 && head[0] == 0x1F && head[1] == 0x8B) || (n >= 4 && BinaryPrimitives.ReadInt32BigEndian(head) is IdxReader.ImagesMagic or IdxReader.LabelsMagic))
            {
                // One byte per pixel, so the file (and its inflated bytes) may hold at most a quarter of the bytes left.
                long idxBytes = Math.Min(IdxReader.MaxDecompressedBytes, ImagesLeft * Pixels + 16);
                CheckCount(head.AsSpan(0, n), name);
                byte[] raw = ReadAll(stream, head[..n], (int)Math.Min(idxBytes + (1 << 16), Array.MaxLength), name, TooMany(name));
                if (raw.Length >= 2 && raw[0] == 0x1F && raw[1] == 0x8B) CheckCount(InflatedHead(raw), name);
                AddIdx(raw, name, path, new ReadBudget(idxBytes, " for all the inputs together"));
                return;
            }
            AddCsv(new PrefixedStream(head[..n], stream), name);
        }

        // An IDX image header's count against the images still allowed: refused before the pixels are read or inflated.
        private void CheckCount(ReadOnlySpan<byte> head, string name)
        {
            if (head.Length >= 8 && BinaryPrimitives.ReadInt32BigEndian(head) == IdxReader.ImagesMagic
                && BinaryPrimitives.ReadUInt32BigEndian(head[4..]) > ImagesLeft)
                throw new DataFormatException(TooMany(name));
        }

        // The first bytes of a gzip stream, inflated (a corrupt stream gives none: the reader reports it later).
        private static byte[] InflatedHead(byte[] raw)
        {
            try
            {
                using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(raw), System.IO.Compression.CompressionMode.Decompress);
                var head = new byte[8];
                return head[..gzip.ReadAtLeast(head, head.Length, throwOnEndOfStream: false)];
            }
            catch (InvalidDataException) { return []; }
        }

        /// <summary>The rest of a stream after <paramref name="prefix"/>, at most <paramref name="cap"/> bytes in all (else <paramref name="tooLarge"/>).</summary>
        private static byte[] ReadAll(Stream stream, byte[] prefix, int cap, string name, string? tooLarge = null)
        {
            try
            {
                var buffer = new MemoryStream();
                buffer.Write(prefix);
                var chunk = new byte[1 << 16];
                int read;
                while ((read = stream.Read(chunk)) > 0)
                {
                    if (buffer.Length + read > cap)
                        throw new DataFormatException(tooLarge ?? $"{name}: larger than {cap >> 20} MiB; not an MNIST input");
                    buffer.Write(chunk, 0, read);
                }
                return buffer.ToArray();
            }
            catch (IOException e)
            {
                throw new DataFormatException($"{name}: cannot read file ({FileErrors.Reason(e)})", e);
            }
        }

        private void AddImage(byte[] bytes, string source)
        {
            if (options.RequireLabels)
                throw new DataFormatException($"{source}: an image file carries no digit label; labelled input is a CSV with a label column or an IDX image file with its label file");
            Take(1, source);
            GrayImage image = ImageFiles.Decode(bytes, source, Side, Side, options.Invert);
            if (image.Animated) _animated.Add(source);
            var floats = new float[Pixels];
            for (int i = 0; i < Pixels; i++) floats[i] = image.Pixels[i] / 255f;
            _images.Add((_count, image.InkInAlphaOnly));
            Append(floats, 1, [source], [-1]);
        }

        private void AddIdx(byte[] raw, string name, string? path, ReadBudget budget)
        {
            var (bytes, length) = IdxReader.Inflate(raw, name, budget);
            if (length >= 4 && BinaryPrimitives.ReadInt32BigEndian(bytes) == IdxReader.LabelsMagic)
                throw new DataFormatException($"{name}: is an IDX label file; give the image file as --input (its labels are found beside it, or pass --labels)");
            IdxImageHeader header = IdxReader.ParseImageHeader(bytes, length, name);
            if (header.Rows != Side || header.Cols != Side)
                throw new DataFormatException($"{name}: images are {header.Rows}x{header.Cols}, expected 28x28");
            Take(header.Count, name);
            ImageSet images = IdxReader.ParseImages(bytes, length, name);
            if (options.Invert)
                for (int i = 0; i < images.Pixels.Length; i++) images.Pixels[i] = (255 - (int)MathF.Round(images.Pixels[i] * 255f)) / 255f;
            int[] labels = Enumerable.Repeat(-1, images.Count).ToArray();
            string? labelPath = options.LabelsPath ?? (options.RequireLabels && path is not null ? FindLabels(path) : null);
            if (options.RequireLabels && labelPath is null)
                throw new DataFormatException($"{name}: no IDX label file found beside it (tried {string.Join(", ", LabelCandidates(name).Take(4))}); pass --labels FILE");
            if (labelPath is not null)
            {
                _labelsUsed = true;
                byte[] read = IdxReader.ReadLabels(labelPath);
                if (read.Length != images.Count)
                    throw new DataFormatException($"{Path.GetFileName(labelPath)}: {read.Length} labels for {images.Count} images in {name}; the files do not belong together");
                labels = [.. read.Select(l => (int)l)];
            }
            Append(images.Pixels, images.Count, [.. Enumerable.Range(0, images.Count).Select(i => $"{name}#{i}")], labels);
            WarnAboutValues(images.Pixels, images.Count, name);
        }

        private void AddCsv(Stream stream, string name)
        {
            _csvRead = true;
            CsvImageSet csv;
            try
            {
                using var text = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
                csv = CsvImages.Read(text, name, options.PixelMax, (int)Math.Min(ImagesLeft, int.MaxValue), TooMany(name));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new DataFormatException($"{name}: cannot read file ({FileErrors.Reason(e)})", e);
            }
            if (options.RequireLabels && csv.Labels.Select((l, i) => (l, i)).FirstOrDefault(x => x.l < 0) is { } missing && missing.l < 0)
                throw new DataFormatException($"{csv.Sources[missing.i]}: no label; evaluate --input needs CSV rows of a digit label 0-9 then 784 pixels (as Kaggle's mnist_test.csv)");
            Take(csv.Count, name);
            float[] pixels = csv.Pixels;
            if (options.Invert)
                for (int i = 0; i < pixels.Length; i++) pixels[i] = 1f - pixels[i];
            Append(pixels, csv.Count, csv.Sources, csv.Labels);
            if (options.PixelMax == 255 && csv.MaxValue <= 1 && csv.HasFractions)
                _warnings.Add($"{name}: every value is between 0 and 1 (largest {csv.MaxValue.ToString("G4", CultureInfo.InvariantCulture)}): the file looks already scaled, but values are read as 0-255 pixels, so every image is nearly black; pass --pixel-max 1");
            WarnAboutValues(pixels, csv.Count, name);
        }

        private void Append(float[] pixels, int count, string[] sources, int[] labels)
        {
            _pixels.Add(pixels);
            _sources.AddRange(sources);
            _labels.AddRange(labels);
            _count += count;
        }

        // Per-file checks of images already in [0, 1] (CSV, IDX): blank ones, and a light background.
        private void WarnAboutValues(float[] pixels, int count, string name)
        {
            var (blank, light) = (new List<int>(), new List<int>());
            for (int i = 0; i < count; i++) Classify(pixels.AsSpan(i * Pixels, Pixels), i, blank, light);
            Warn(blank, count, i => $"{name} #{i}", "are blank (every pixel the same value): nothing to score");
            if (light.Count > 0) Warn(light, count, i => $"{name} #{i}", LightBackground);
        }

        private string LightBackground => options.Invert
            ? "have a light background even after --invert: MNIST digits are light ink on black; drop --invert"
            : "look like dark ink on a light background: MNIST digits are light ink on black; pass --invert";

        private static void Classify(ReadOnlySpan<float> image, int index, List<int> blank, List<int> light)
        {
            float min = float.MaxValue, max = float.MinValue, border = 0;
            for (int p = 0; p < Pixels; p++)
            {
                min = Math.Min(min, image[p]);
                max = Math.Max(max, image[p]);
                int y = p / Side, x = p % Side;
                if (y == 0 || x == 0 || y == Side - 1 || x == Side - 1) border += image[p];
            }
            if (max - min < 1f / 255) blank.Add(index);
            else if (border / (4 * Side - 4) > 0.5f) light.Add(index);
        }

        private void Warn(List<int> hits, int total, Func<int, string> describe, string problem)
        {
            if (hits.Count == 0) return;
            string examples = string.Join(", ", hits.Take(3).Select(describe)) + (hits.Count > 3 ? ", ..." : "");
            _warnings.Add($"{hits.Count} of {total} images {problem} ({examples})");
        }

        public ImageBatch Finish()
        {
            if (options.LabelsPath is not null && !_labelsUsed)
                throw new ArgumentException("--labels goes with an IDX image --input; a CSV carries its labels in its first column");
            if (options.SkipBad && !_directoryRead)
                throw new ArgumentException("--skip-bad applies to directories of images (it skips the unreadable files in them); no --input is a directory, so drop it");
            if ((options.PixelMax != 255 || options.PixelMaxGiven) && !_csvRead)
                throw new ArgumentException($"--pixel-max {options.PixelMax.ToString(CultureInfo.InvariantCulture)} applies to CSV input only (IDX and image files have 0-255 bytes); drop it");
            if (_count == 0)
                throw new DataFormatException(_skipped.Count > 0 ? $"no image could be read; {_skipped.Count} skipped, the first: {_skipped[0]}" : "no images to score");
            // Images from files (PNG, ...): the same checks, over all of them together.
            float[] all = Concat();
            if (_images.Count > 0)
            {
                var (blank, light, alpha) = (new List<int>(), new List<int>(), new List<int>());
                foreach (var (row, inkInAlpha) in _images)
                {
                    if (inkInAlpha) alpha.Add(row);
                    else Classify(all.AsSpan(row * Pixels, Pixels), row, blank, light);
                }
                int n = _images.Count;
                Warn(alpha, n, i => _sources[i], "are dark ink on a transparent background, which vanishes on MNIST's black (transparent pixels are composited on black); pass --invert");
                Warn(blank, n, i => _sources[i], "are blank (every pixel the same value): nothing to score");
                Warn(light, n, i => _sources[i], LightBackground);
                if (_animated.Count > 0) _warnings.Add(DataSources.AnimatedWarning(_animated, n));
            }
            return new ImageBatch(all, _count, [.. _sources], [.. _labels], _warnings, _skipped);
        }

        private float[] Concat()
        {
            float[] all = new float[_pixels.Sum(p => (long)p.Length)];
            long offset = 0;
            foreach (float[] p in _pixels) { p.CopyTo(all, offset); offset += p.Length; }
            return all;
        }
    }

    /// <summary>Label file names for an image file name: MNIST's (t10k-images-idx3-ubyte), Kaggle's (t10k-images.idx3-ubyte), raw or .gz.</summary>
    internal static IEnumerable<string> LabelCandidates(string imageName)
    {
        string bare = imageName.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? imageName[..^3] : imageName;
        var names = new List<string>();
        foreach (var (from, to) in new[] { ("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1"), ("images", "labels"), ("idx3", "idx1") })
            if (bare.Contains(from, StringComparison.Ordinal)) names.Add(bare.Replace(from, to, StringComparison.Ordinal));
        foreach (string name in names.Distinct())
        {
            yield return name;
            yield return name + ".gz";
        }
    }

    /// <summary>The IDX label file beside an IDX image file, found by name, or null.</summary>
    internal static string? FindLabels(string imagePath)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(imagePath))!;
        return LabelCandidates(Path.GetFileName(imagePath)).Select(n => Path.Combine(directory, n)).FirstOrDefault(File.Exists);
    }
}
