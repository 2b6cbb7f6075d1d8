using System.Text.Json;
using Mimi.Discovery.Identifiers;

namespace Mimi.Discovery.Statements;

/// <summary>Converts between the public statement model and its JSON payload.</summary>
internal static class PayloadCodec
{
    public static JsonElement EncodeAudience(Audience audience)
    {
        var json = audience.Kind switch
        {
            AudienceKind.Any => "\"any\"",
            AudienceKind.SameService => "\"same-service\"",
            _ => JsonSerializer.Serialize(audience.Services.ToArray(), AudienceJson.Default.StringArray),
        };
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    public static bool TryDecodeAudience(JsonElement element, out Audience audience, out string reason)
    {
        audience = Audience.Any;
        reason = string.Empty;
        switch (element.ValueKind)
        {
            case JsonValueKind.String when element.ValueEquals("any"):
                return true;
            case JsonValueKind.String when element.ValueEquals("same-service"):
                audience = Audience.SameService;
                return true;
            case JsonValueKind.Array when element.GetArrayLength() <= Audience.MaxServices
                                          && element.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String):
                var services = element.EnumerateArray().Select(e => e.GetString()!).ToList();
                if (!Audience.TryOnly(services, out audience, out reason))
                {
                    return false;
                }

                // The signed list must already be canonical, so one audience has one encoding.
                if (!audience.Services.SequenceEqual(services, StringComparer.Ordinal))
                {
                    reason = "the audience's services must be sorted and distinct";
                    return false;
                }

                return true;
            default:
                reason = "the audience must be \"any\", \"same-service\" or an array of service ids";
                return false;
        }
    }

    public static EntryPayload EncodeEntry(MspEntry entry) => new()
    {
        Service = entry.Service,
        Endpoint = entry.Endpoint?.OriginalString,
        Account = entry.Account,
        Priority = entry.Priority,
        Tags = entry.Tags,
        ProtocolVersion = entry.ProtocolVersion,
        Audience = entry.Audience is null ? null : EncodeAudience(entry.Audience),
    };

    public static bool TryDecodeEntries(IReadOnlyList<EntryPayload> payloads, out IReadOnlyList<MspEntry> entries, out string reason)
    {
        entries = [];
        if (payloads.Count > MappingDraft.MaxEntries)
        {
            reason = $"a statement carries at most {MappingDraft.MaxEntries} entries";
            return false;
        }

        var list = new List<MspEntry>(payloads.Count);
        foreach (var p in payloads)
        {
            Uri? endpoint = null;
            if (p.Endpoint is not null && !Uri.TryCreate(p.Endpoint, UriKind.Absolute, out endpoint))
            {
                reason = $"the endpoint of '{p.Service}' is not an absolute URI";
                return false;
            }

            Audience? entryAudience = null;
            if (p.Audience is { } audienceJson)
            {
                if (!TryDecodeAudience(audienceJson, out var decoded, out reason))
                {
                    reason = $"the audience of '{p.Service}': {reason}";
                    return false;
                }

                entryAudience = decoded;
            }

            var entry = new MspEntry(p.Service)
            {
                Audience = entryAudience,
                Endpoint = endpoint,
                Account = p.Account,
                Priority = p.Priority,
                Tags = p.Tags,
                ProtocolVersion = p.ProtocolVersion,
            };
            list.Add(entry);
        }

        if (ValidateEntries(list) is { } problem)
        {
            reason = problem;
            return false;
        }

        entries = list;
        reason = string.Empty;
        return true;
    }

    /// <summary>Checks a whole entry list; returns a reason or <see langword="null"/>.</summary>
    public static string? ValidateEntries(IReadOnlyList<MspEntry> entries)
    {
        if (entries.Count > MappingDraft.MaxEntries)
        {
            return $"a statement carries at most {MappingDraft.MaxEntries} entries";
        }

        foreach (var entry in entries)
        {
            if (entry is null)
            {
                return "an entry is missing";
            }

            if (entry.Validate() is { } reason)
            {
                return reason;
            }
        }

        if (entries.Count(e => e.IsDefault) > 1)
        {
            return "at most one entry may carry the 'default' tag";
        }

        if (entries.Select(e => (e.Service, e.Account)).Distinct().Count() != entries.Count)
        {
            return "the same service and account appear twice";
        }

        return null;
    }

    /// <summary>Per-entry audiences narrow a statement visible to every service; returns a reason or <see langword="null"/>.</summary>
    public static string? ValidateEntryAudiences(Audience statementAudience, IReadOnlyList<MspEntry> entries) =>
        statementAudience.Kind != AudienceKind.Any && entries.Any(e => e.Audience is not null)
            ? $"an entry has an audience of its own, so the statement's audience must be 'any', not '{statementAudience}'"
            : null;

    /// <summary>
    /// The content of a mapping statement this key folder signed and published itself (so not verified
    /// again: its credential may have expired since), for a renewal; null when it does not decode.
    /// </summary>
    public static (Csi Csi, Audience Audience, IReadOnlyList<MspEntry> Entries, IReadOnlyList<string>? SealedBoxes)? TryReadOwnMapping(string jws)
    {
        try
        {
            var parts = jws.Split('.');
            if (parts.Length != 3)
            {
                return null;
            }

            var payload = System.Text.Json.JsonSerializer.Deserialize(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]), WireJson.Default.MappingPayload)!;
            return TryParseCanonicalCsi(payload.Csi, out var csi) && TryDecodeAudience(payload.Audience, out var audience, out _) && TryDecodeEntries(payload.Entries, out var entries, out _)
                ? (csi, audience, entries, payload.Sealed)
                : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException)
        {
            return null;
        }
    }

    public static bool TryParseCanonicalCsi(string text, out Csi csi)
    {
        var parsed = CsiParser.Parse(text);
        csi = parsed.Csi!;
        return parsed.Success && string.Equals(parsed.Csi.Uri, text, StringComparison.Ordinal);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string[]), TypeInfoPropertyName = "StringArray")]
internal sealed partial class AudienceJson : System.Text.Json.Serialization.JsonSerializerContext;
