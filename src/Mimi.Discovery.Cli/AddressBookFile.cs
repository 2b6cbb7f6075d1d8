using CsvHelper;

namespace Mimi.Discovery.Cli;

/// <summary>Reads an address book: a CSV file (<c>.csv</c> or <c>.tsv</c>: RFC 4180 through CsvHelper, with a header row) or a text file with one identifier per line.</summary>
internal static class AddressBookFile
{
    /// <summary>The identifiers in <paramref name="file"/>, in order: a CSV file's first column or <paramref name="column"/>, below its header row; blank fields, blank lines and <c>#</c> comments in a text file are skipped.</summary>
    /// <exception cref="UsageException">The file is missing, unreadable or holds no identifier, or <paramref name="column"/> is not among its headers.</exception>
    public static List<string> Read(FileInfo file, string? column)
    {
        if (!file.Exists)
        {
            throw new UsageException(Directory.Exists(file.FullName) ? $"--file {file.FullName} is a directory; give an address-book file" : $"--file {file.FullName} does not exist");
        }

        var contacts = IsCsv(file) ? ReadCsv(file, column) : column is null
            ? File.ReadLines(file.FullName).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList()
            : throw new UsageException("--column applies to a .csv or .tsv --file only");
        return contacts.Count > 0 ? contacts : throw new UsageException($"--file {file.Name} holds no identifier");
    }

    private static bool IsCsv(FileInfo file) =>
        file.Extension.Equals(".csv", StringComparison.OrdinalIgnoreCase) || file.Extension.Equals(".tsv", StringComparison.OrdinalIgnoreCase);

    private static List<string> ReadCsv(FileInfo file, string? column)
    {
        // CsvHelper detects the separator (, ; tab |) and reads quoted fields as RFC 4180 says.
        // Address-book exports name their columns: the first row is always the header.
        var options = new CsvReaderOptions { HasHeader = true, TrimWhitespace = true, MalformedData = CsvMalformedDataHandling.Throw };
        var contacts = new List<string>();
        try
        {
            using var csv = CsvReader.FromFile(file.FullName, options);
            var index = 0;
            if (column is not null)
            {
                var headers = csv.Headers.ToList();
                index = headers.FindIndex(h => string.Equals(h, column, StringComparison.OrdinalIgnoreCase));
                if (index < 0)
                {
                    throw new UsageException($"--column '{column}' is not a header of {file.Name} (headers: {string.Join(", ", headers)})");
                }
            }

            while (csv.Read())
            {
                if (index < csv.FieldCount && csv.GetString(index) is { Length: > 0 } value)
                {
                    contacts.Add(value);
                }
            }
        }
        catch (CsvFormatException e)
        {
            throw new UsageException($"--file {file.Name} is not valid CSV: {e.Message.Split('\n')[0]}");
        }

        return contacts;
    }
}
