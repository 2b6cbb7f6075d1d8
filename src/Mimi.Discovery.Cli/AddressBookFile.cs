using CsvHelper;

namespace Mimi.Discovery.Cli;

/// <summary>Reads an address book: a CSV file (RFC 4180, through CsvHelper) or a text file with one identifier per line.</summary>
internal static class AddressBookFile
{
    /// <summary>The identifiers in <paramref name="file"/>, in order; blank lines and <c>#</c> comments in a text file are skipped.</summary>
    /// <exception cref="UsageException">The file is missing or unreadable, or <paramref name="column"/> is not among its headers.</exception>
    public static List<string> Read(FileInfo file, string? column)
    {
        if (!file.Exists)
        {
            throw new UsageException($"--file {file.FullName} does not exist");
        }

        if (!file.Extension.Equals(".csv", StringComparison.OrdinalIgnoreCase))
        {
            if (column is not null)
            {
                throw new UsageException("--column applies to a .csv --file only");
            }

            return File.ReadLines(file.FullName).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        }

        // CsvHelper detects the separator (, ; tab |) and reads quoted fields as RFC 4180 says.
        var options = new CsvReaderOptions { HasHeader = column is not null, TrimWhitespace = true, MalformedData = CsvMalformedDataHandling.Throw };
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
