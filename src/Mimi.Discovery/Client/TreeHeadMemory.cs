using System.Text.Json;
using Mimi.Discovery.Protocol;
using Mimi.Discovery.Transparency;

namespace Mimi.Discovery.Client;

/// <summary>
/// The last signed tree head a sender accepted from each DP, so the next answer must extend it
/// (a consistency proof) and a rolled-back or forked log is noticed. Kept in memory, or in a JSON
/// file (the CLI uses <c>trees.json</c> in the key folder).
/// </summary>
public sealed class TreeHeadMemory
{
    private readonly string? _path;
    private readonly Dictionary<string, TreeHeadWire> _heads;
    private readonly Lock _lock = new();

    /// <summary>Remembers heads in <paramref name="path"/> (created when missing), or only in memory when null.</summary>
    public TreeHeadMemory(string? path = null)
    {
        _path = path;
        _heads = path is not null && File.Exists(path)
            ? JsonSerializer.Deserialize(File.ReadAllText(path), ProtocolJson.Default.DictionaryStringTreeHeadWire) ?? []
            : [];
    }

    /// <summary>The last head accepted from <paramref name="dp"/>, if any.</summary>
    public SignedTreeHead? Get(Uri dp)
    {
        ArgumentNullException.ThrowIfNull(dp);
        lock (_lock)
        {
            return _heads.TryGetValue(dp.AbsoluteUri, out var wire) ? ProofWire.Head(wire) : null;
        }
    }

    /// <summary>Records a verified head from <paramref name="dp"/>, unless a larger one is held already (answers to concurrent lookups arrive in any order).</summary>
    public void Remember(Uri dp, SignedTreeHead head)
    {
        ArgumentNullException.ThrowIfNull(dp);
        ArgumentNullException.ThrowIfNull(head);
        lock (_lock)
        {
            if (_heads.TryGetValue(dp.AbsoluteUri, out var held) && held.Size >= head.Size)
            {
                return;
            }

            _heads[dp.AbsoluteUri] = ProofWire.ToWire(head);
            if (_path is not null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_path))!);
                File.WriteAllText(_path, JsonSerializer.Serialize(_heads, ProtocolJson.Default.DictionaryStringTreeHeadWire));
            }
        }
    }
}
