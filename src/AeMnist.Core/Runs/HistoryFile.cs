// history.csv: one row per finished epoch (epoch, train loss, monitored loss, seconds), its one writer and reader.
using System.Globalization;
using System.Text;
using AeMnist.IO;
using AeMnist.Training;

namespace AeMnist.Runs;

public static class HistoryFile
{
    /// <summary>history.csv's text: a header, then one row per finished epoch.</summary>
    public static string Text(IEnumerable<EpochRecord> history)
    {
        var text = new StringBuilder("epoch,train_loss,monitor_loss,seconds\n");
        foreach (var r in history)
            text.Append(CultureInfo.InvariantCulture,
                $"{r.Epoch},{r.TrainLoss:R},{(r.MonitorLoss is { } m ? m.ToString("R", CultureInfo.InvariantCulture) : "")},{r.Seconds:F4}\n");
        return text.ToString();
    }

    public static List<EpochRecord> Read(string path)
    {
        if (!File.Exists(path)) return [];
        string text;
        try
        {
            // history.csv holds a few dozen bytes per epoch; a file of many megabytes is not one.
            long length = new FileInfo(path).Length;
            if (length > 64L << 20) throw new DataFormatException($"{path}: is {length} bytes, too large for a history.csv");
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DataFormatException($"{path}: cannot read file ({FileErrors.Reason(e)})", e); }
        return Parse(text, path);
    }

    /// <summary>Rows of history.csv text; <paramref name="source"/> starts error messages. Every cell is checked: epochs 1, 2, ... in order, losses finite.</summary>
    public static List<EpochRecord> Parse(string text, string source)
    {
        var rows = new List<EpochRecord>();
        string[] lines = text.Split('\n');
        if (lines.Length > 0 && lines[0].Length > 0 && lines[0] != "epoch,train_loss,monitor_loss,seconds")
            throw new DataFormatException($"{source}: header {MessageText.Quote(lines[0])} is not epoch,train_loss,monitor_loss,seconds");
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0) continue;
            string[] cells = line.Split(',');
            string where = $"{source} line {i + 1}";
            if (cells.Length != 4)
                throw new DataFormatException($"{where}: {MessageText.Quote(line)} has {cells.Length} cells, expected 4");
            bool ok = StrictNumbers.TryParseInt(cells[0], out int epoch)
                & StrictNumbers.TryParseDouble(cells[1], out double train)
                & StrictNumbers.TryParseDouble(cells[3], out double seconds);
            double? monitor = null;
            if (cells[2].Length > 0)
            {
                ok &= StrictNumbers.TryParseDouble(cells[2], out double m) && double.IsFinite(m) && m >= 0;
                monitor = m;
            }
            if (!ok || !double.IsFinite(train) || train < 0 || !double.IsFinite(seconds) || seconds < 0)
                throw new DataFormatException($"{where}: {MessageText.Quote(line)} is not an epoch number and finite, non-negative losses and seconds");
            if (epoch != rows.Count + 1)
                throw new DataFormatException($"{where}: epoch {epoch} where epoch {rows.Count + 1} was expected");
            rows.Add(new EpochRecord(epoch, train, monitor, seconds, false));
        }
        return rows;
    }
}
