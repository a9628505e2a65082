// Reads images for `aemnist score` from CSV: one 28x28 image per row as 784 pixel values 0-255 (Kaggle's
// layout with a leading label column is accepted too). Read line by line; a line longer than
// MaxLineChars is refused before it is held in memory whole.
using System.Globalization;
using System.Text;

namespace AeMnist.IO;

/// <summary>
/// Images read from CSV. <see cref="Labels"/> holds each row's leading label when the row had one (785 values) and
/// it is a digit 0-9, else -1. <see cref="MaxValue"/> and <see cref="HasFractions"/> describe the raw values, so a
/// file already scaled to 0-1 can be told apart from 0-255 pixels.
/// </summary>
public sealed record CsvImageSet(float[] Pixels, int Count, string[] Sources, int[] Labels, double MaxValue, bool HasFractions)
{
    public void Deconstruct(out float[] pixels, out int count, out string[] sources) => (pixels, count, sources) = (Pixels, Count, Sources);

}

/// <summary>CSV image input: rows of comma-separated pixel values, scaled to [0, 1] as the IDX reader does.</summary>
public static class CsvImages
{
    /// <summary>Pixels in one image (28 x 28).</summary>
    public const int PixelsPerImage = 784;

    /// <summary>The longest line accepted, in characters; far more than 785 numbers need.</summary>
    public const int MaxLineChars = 1 << 20;

    private const string Expected = "expected rows of 784 comma-separated pixel values 0-255";

    /// <summary>
    /// Reads every image in <paramref name="path"/>. Each non-blank line holds 784 values, or 785 whose first
    /// (a label, as in Kaggle's mnist_test.csv) is ignored. Values are integers or decimals in [0, 255],
    /// parsed culture-invariantly (a '.' decimal point, exponents allowed, spaces around a value allowed) and
    /// scaled as <c>value / 255f</c> (or <c>value / pixelMax</c>), so integer pixels give exactly what the IDX reader gives. The first
    /// non-blank line is a header and skipped when it has 784 or 785 cells and its first cell is not a number
    /// (Kaggle's "label,pixel0,...") or its cells are the column numbers 0, 1, 2, ... (pandas' default header). Blank lines are skipped. A UTF-8 byte order
    /// mark is allowed.
    /// </summary>
    /// <returns>
    /// Pixels of all images, image after image (row-major, 784 each); the image count; and for each image
    /// its source, <c>"name.csv:LINE"</c> with the 1-based line number in the file.
    /// </returns>
    /// <exception cref="DataFormatException">
    /// The file is missing or unreadable, holds no images, a line has the wrong number of values, a value
    /// is empty, not a number, NaN or outside 0-255, or a line is longer than <see cref="MaxLineChars"/>.
    /// The one-line message names the file, the line and, for a value, its 1-based column.
    /// </exception>
    public static CsvImageSet Read(string path, double pixelMax = 255, int maxImages = int.MaxValue, string? tooMany = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) throw new DataFormatException($"{path}: is a directory, not a CSV file");
        if (!File.Exists(path)) throw new DataFormatException(FileErrors.NotFound(path));
        string name = Path.GetFileName(path);
        try
        {
            using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            return Read(reader, name, pixelMax, maxImages, tooMany);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{path}: cannot read file ({FileErrors.Reason(e)})", e);
        }
    }

    /// <summary>
    /// Reads images from <paramref name="reader"/> as <see cref="Read(string, double, int, string?)"/> does; messages start
    /// with <paramref name="displayName"/>. A row past <paramref name="maxImages"/> images is refused before it is held
    /// (<paramref name="tooMany"/> says why, for a budget shared with other inputs).
    /// </summary>
    public static CsvImageSet Read(TextReader reader, string displayName, double pixelMax = 255, int maxImages = int.MaxValue, string? tooMany = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (!(pixelMax > 0 && double.IsFinite(pixelMax))) throw new ArgumentOutOfRangeException(nameof(pixelMax), pixelMax, "The largest pixel value must be positive.");
        var images = new List<float[]>();
        var sources = new List<string>();
        var labels = new List<int>();
        var stats = new ValueStats();
        var lines = new LineReader(reader, MaxLineChars);
        bool sawLine = false, sawHeader = false;
        int lineNumber = 0, width = 0, widthLine = 0;
        while (lines.ReadLine() is { } text)
        {
            lineNumber++;
            sawLine = true;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var cells = Cells(text);
            if (images.Count == 0 && !sawHeader && IsHeader(text, cells))
            {
                sawHeader = true;
                continue;
            }
            if (images.Count >= maxImages)
                throw new DataFormatException(tooMany ?? $"{displayName} line {lineNumber}: more than {maxImages} images; aemnist reads at most {maxImages} from one CSV");
            string where = $"{displayName} line {lineNumber}";
            float[] image = ParseRow(text, cells, where, pixelMax, stats);
            // Every row has the columns of the first: a label in every row or in none, never an image shifted by one.
            if (width == 0) (width, widthLine) = (cells.Count, lineNumber);
            else if (cells.Count != width)
                throw new DataFormatException($"{where}: {cells.Count} values, but line {widthLine} has {width}; every row must have the same columns ({(width > PixelsPerImage ? "a label then 784 pixels" : "784 pixels")})");
            images.Add(image);
            labels.Add(cells.Count == PixelsPerImage + 1 ? Label(Unquote(text.AsSpan()[cells[0]]), where) : -1);
            sources.Add($"{displayName}:{lineNumber}");
        }
        if (lines.Overlong)
            throw new DataFormatException($"{displayName} line {lineNumber + 1}: longer than {MaxLineChars} characters; {Expected}");
        if (images.Count == 0)
        {
            string what = !sawLine ? "file is empty" : sawHeader ? "has a header but no images" : "has only blank lines";
            throw new DataFormatException($"{displayName}: {what}; {Expected}");
        }
        var pixels = new float[(long)images.Count * PixelsPerImage];
        for (int i = 0; i < images.Count; i++) images[i].CopyTo(pixels, (long)i * PixelsPerImage);
        return new CsvImageSet(pixels, images.Count, sources.ToArray(), labels.ToArray(), stats.Max, stats.Fractions);
    }

    private sealed class ValueStats
    {
        public double Max;
        public bool Fractions;
    }

    private static List<Range> Cells(string text)
    {
        var cells = new List<Range>();
        foreach (Range r in text.AsSpan().Split(',')) cells.Add(r);
        return cells;
    }

    // A row of 785 values starts with its label, a digit 0-9; anything else (empty, 7.5, 12, a word) is an error, not -1.
    private static int Label(ReadOnlySpan<char> cell, string where)
    {
        if (cell.Length == 1 && char.IsAsciiDigit(cell[0])) return cell[0] - '0';
        throw new DataFormatException(cell.IsWhiteSpace()
            ? $"{where}, column 1: no label; a row of 785 values is a digit label 0-9 then 784 pixel values"
            : $"{where}, column 1: {MessageText.Quote(cell, 20)} is not a label; a row of 785 values is a digit label 0-9 then 784 pixel values (an index column? write the CSV without it)");
    }

    // A cell without the spaces around it and without one pair of double quotes around it ("12" reads as 12).
    private static ReadOnlySpan<char> Unquote(ReadOnlySpan<char> cell)
    {
        cell = cell.Trim();
        return cell.Length >= 2 && cell[0] == '"' && cell[^1] == '"' ? cell[1..^1].Trim() : cell;
    }

    private static bool TryNumber(ReadOnlySpan<char> cell, out double value)
    {
        cell = Unquote(cell);
        // Fast path for the usual cell, 1-3 plain digits; everything else goes to the full parser.
        if (cell.Length is > 0 and <= 3)
        {
            int n = 0;
            foreach (char c in cell)
            {
                if (!char.IsAsciiDigit(c)) return double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
                n = n * 10 + (c - '0');
            }
            value = n;
            return true;
        }
        return double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    // A header names its columns: no cell is a number (Kaggle's "label,pixel0,..."), or the cells are the column numbers
    // 0, 1, 2, ... (pandas' default; after an empty first cell, the index column's, when there are 785). A first row with
    // some numbers and some words is data with an error in it, and is reported as such rather than skipped as a header
    // (which would drop an image without a word).
    private static bool IsHeader(string text, List<Range> cells)
    {
        if (cells.Count is not (PixelsPerImage or PixelsPerImage + 1)) return false;
        bool anyNumber = false, columnNumbers = true, afterIndex = cells.Count == PixelsPerImage + 1 && Unquote(text.AsSpan()[cells[0]]).IsEmpty;
        for (int i = 0; i < cells.Count; i++)
        {
            bool number = TryNumber(text.AsSpan()[cells[i]], out double v);
            anyNumber |= number;
            columnNumbers &= afterIndex ? i == 0 || (number && v == i - 1) : number && v == i;
        }
        return !anyNumber || columnNumbers;
    }

    private static float[] ParseRow(string text, List<Range> cells, string where, double pixelMax, ValueStats stats)
    {
        if (cells.Count is not (PixelsPerImage or PixelsPerImage + 1))
        {
            string hint = cells.Count == 1 && (text.Contains(';') || text.Contains('\t')) ? "; values must be separated by commas" : "";
            throw new DataFormatException($"{where}: {cells.Count} values, expected {PixelsPerImage} pixels (or {PixelsPerImage + 1} with a leading label){hint}");
        }
        int first = cells.Count - PixelsPerImage;
        var image = new float[PixelsPerImage];
        for (int i = 0; i < PixelsPerImage; i++)
        {
            int column = first + i + 1;
            ReadOnlySpan<char> cell = Unquote(text.AsSpan()[cells[first + i]]);
            if (cell.IsWhiteSpace())
                throw new DataFormatException($"{where}, column {column}: empty value; expected a pixel value 0-255");
            if (!TryNumber(cell, out double value))
                throw new DataFormatException($"{where}, column {column}: {MessageText.Quote(cell.Trim(), 20)} is not a number; expected a pixel value 0-255");
            if (double.IsNaN(value))
                throw new DataFormatException($"{where}, column {column}: NaN is not a pixel value; expected 0-255");
            if (value < 0 || value > pixelMax)
                throw new DataFormatException($"{where}, column {column}: {MessageText.Quote(cell.Trim(), 20)} is outside the pixel range 0-{pixelMax.ToString(CultureInfo.InvariantCulture)}");
            if (value > stats.Max) stats.Max = value;
            if (value != Math.Floor(value)) stats.Fractions = true;
            image[i] = pixelMax == 255 ? (float)value / 255f : (float)(value / pixelMax);
        }
        return image;
    }
}

/// <summary>
/// Lines of a text stream (ending in \n, \r\n or \r), read through a block buffer, never holding more than
/// a set number of characters of one line.
/// </summary>
internal sealed class LineReader(TextReader reader, int maxLineChars)
{
    private readonly char[] _buffer = new char[1 << 16];
    private int _start, _end;
    private bool _skipLineFeed;

    /// <summary>True after <see cref="ReadLine"/> returned null because a line was longer than allowed.</summary>
    public bool Overlong { get; private set; }

    /// <summary>The next line without its terminator, or null at the end of input or on an overlong line.</summary>
    public string? ReadLine()
    {
        var line = new StringBuilder();
        bool any = false;
        while (true)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = reader.Read(_buffer, 0, _buffer.Length);
                if (_end == 0) return any ? line.ToString() : null;
            }
            if (_skipLineFeed)
            {
                _skipLineFeed = false;
                if (_buffer[_start] == '\n' && ++_start == _end) continue;
            }
            any = true;
            ReadOnlySpan<char> rest = _buffer.AsSpan(_start, _end - _start);
            int stop = rest.IndexOfAny('\r', '\n');
            int take = stop < 0 ? rest.Length : stop;
            if (line.Length + take > maxLineChars)
            {
                Overlong = true;
                return null;
            }
            line.Append(rest[..take]);
            _start += take;
            if (stop < 0) continue;
            _skipLineFeed = _buffer[_start] == '\r';
            _start++;
            return line.ToString();
        }
    }
}
