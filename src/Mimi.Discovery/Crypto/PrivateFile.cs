namespace Mimi.Discovery.Crypto;

/// <summary>
/// Writes files that hold secrets with owner-only permissions (0600; folders 0700) from the moment
/// they exist, and tightens files and folders that already existed with wider ones.
/// </summary>
internal static class PrivateFile
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode OwnerOnlyFolder = OwnerReadWrite | UnixFileMode.UserExecute;

    /// <summary>Creates the folder 0700, or makes an existing one 0700.</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, OwnerOnlyFolder);

            // CreateDirectory leaves an existing folder's mode alone.
            File.SetUnixFileMode(path, OwnerOnlyFolder);
        }
    }

    /// <summary>Makes an existing file 0600; does nothing when it does not exist.</summary>
    public static void Restrict(string path)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path))
        {
            File.SetUnixFileMode(path, OwnerReadWrite);
        }
    }

    /// <summary>Creates an empty file 0600 when none exists, so what later opens it (SQLite) never creates it with the process's umask.</summary>
    public static void CreateEmpty(string path)
    {
        if (File.Exists(path))
        {
            Restrict(path);
            return;
        }

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerReadWrite;
        }

        try
        {
            using var stream = new FileStream(path, options);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first.
            Restrict(path);
        }
    }

    /// <summary>Writes <paramref name="contents"/> to a new file created 0600.</summary>
    public static async Task WriteNewAsync(string path, string contents, CancellationToken cancellationToken)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerReadWrite;
        }

        var stream = new FileStream(path, options);
        await using (stream.ConfigureAwait(false))
        {
            var writer = new StreamWriter(stream);
            await using (writer.ConfigureAwait(false))
            {
                await writer.WriteAsync(contents.AsMemory(), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public static void Write(string path, string contents)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerReadWrite;
        }

        // An existing file keeps its mode on truncation: tighten it before the secret goes in.
        Restrict(path);
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(contents);
    }
}
