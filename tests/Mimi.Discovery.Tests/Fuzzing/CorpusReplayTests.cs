using System.Reflection;
using Mimi.Discovery.Fuzz;

namespace Mimi.Discovery.Tests.Fuzzing;

/// <summary>
/// Replays the fuzzing corpus (fuzz/corpus: seeds and every input that reached new coverage in a
/// campaign, and fuzz/findings: inputs that once crashed or hung) through the fuzz targets: each
/// parser must refuse bad bytes only in the way it documents.
/// </summary>
public sealed class CorpusReplayTests
{
    private static readonly string FuzzDirectory =
        typeof(CorpusReplayTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "FuzzDirectory").Value!;

    public static TheoryData<string> Targets => [.. FuzzTargets.All.Keys];

    [Theory]
    [MemberData(nameof(Targets))]
    public void EveryCorpusInput_IsParsedOrRefusedCleanly(string target)
    {
        var run = FuzzTargets.All[target];
        var inputs = new[] { "corpus", "findings" }
            .Select(folder => Path.Combine(FuzzDirectory, folder, target))
            .Where(Directory.Exists)
            .SelectMany(Directory.EnumerateFiles)
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.True(inputs.Count > 0, $"no corpus for fuzz target '{target}' (run: dotnet fuzz/.../Mimi.Discovery.Fuzz.dll seed fuzz/corpus tests/Mimi.Discovery.Tests/Vectors)");

        var failures = new List<string>();
        foreach (var input in inputs)
        {
            try
            {
                run(File.ReadAllBytes(input));
            }
            catch (Exception e)
            {
                failures.Add($"{Path.GetRelativePath(FuzzDirectory, input)}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public void EveryCorpusFolder_HasATarget()
    {
        var folders = Directory.EnumerateDirectories(Path.Combine(FuzzDirectory, "corpus")).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(FuzzTargets.All.Keys.Order(StringComparer.Ordinal), folders);
    }
}
