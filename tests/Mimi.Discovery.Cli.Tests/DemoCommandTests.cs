namespace Mimi.Discovery.Cli.Tests;

/// <summary><c>demo</c>: a statement and a removal signed and verified offline, said in words.</summary>
public sealed class DemoCommandTests
{
    [Fact]
    public async Task Demo_SignsAndVerifies_AndSaysItInWords()
    {
        var (exit, output, error) = await CliProcess.RunAsync("demo");

        Assert.True(exit == 0, error);
        Assert.Contains("removes the mapping: yes", output, StringComparison.Ordinal);
        Assert.DoesNotContain("True", output, StringComparison.Ordinal);
        Assert.Contains("\"csi\": \"tel:+33612345678\"", output, StringComparison.Ordinal);
    }
}
