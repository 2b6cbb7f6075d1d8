namespace Mimi.Discovery.Crypto;

/// <summary>Writes files that hold secrets with owner-only permissions (0600; folders 0700) from the moment they exist.</summary>
internal static class PrivateFile
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, OwnerReadWrite | UnixFileMode.UserExecute);
        }
    }

    public static void Write(string path, string contents)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerReadWrite;
        }

        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(contents);
        }

        if (!OperatingSystem.IsWindows())
        {
            // An existing file keeps its mode on truncation; tighten it explicitly.
            File.SetUnixFileMode(path, OwnerReadWrite);
        }
    }
}
