using System.Text.Encodings.Web;
using System.Text.Json;

namespace Mimi.Discovery.Cli;

/// <summary>Conventions every command shares: a one-line reason on standard error and a non-zero exit.</summary>
internal static class Cli
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static int Fail(string reason, int exitCode = 1)
    {
        Console.Error.WriteLine("mimi-discovery: " + reason);
        return exitCode;
    }
}
