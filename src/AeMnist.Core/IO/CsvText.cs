// Text cells of the CSV files aemnist writes (a file name in `source`, ...). A cell a spreadsheet would run as a
// formula (OWASP's CSV injection rule: one that starts with =, +, -, @, a tab or a carriage return) gets a leading
// single quote and is quoted, so it shows as text; a cell with a comma, a quote or a line break is quoted, its quotes
// doubled (RFC 4180).
namespace AeMnist.IO;

public static class CsvText
{
    /// <summary>The characters that make a spreadsheet read a cell as a formula when they open it.</summary>
    private static readonly char[] FormulaStart = ['=', '+', '-', '@', '\t', '\r'];

    /// <summary><paramref name="value"/> as one safe CSV cell.</summary>
    public static string Cell(string value)
    {
        bool formula = value.Length > 0 && Array.IndexOf(FormulaStart, value[0]) >= 0;
        if (formula) value = "'" + value;
        return formula || value.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
    }
}
