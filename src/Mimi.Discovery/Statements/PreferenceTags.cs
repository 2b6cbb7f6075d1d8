// Preference tags as people write them (requirements draft R2: "Business", "Personal",
// "Basketball Friends"; appendix B journey 7). docs/protocol.md §2, "Tags".
using System.Globalization;
using System.Text;

namespace Mimi.Discovery.Statements;

/// <summary>
/// The rules for an MSP entry's preference tags (R2): case-preserving Unicode strings in NFC
/// (Unicode normalization form C), 1–<see cref="MaxCharacters"/> characters (Unicode scalar values)
/// and at most <see cref="MaxBytes"/> UTF-8 bytes, no control, format, private-use, unassigned or
/// line/paragraph separator characters, no leading or trailing white space. Tags match
/// case-insensitively by <see cref="Comparer"/>; <c>default</c> is reserved and written in lower case.
/// </summary>
public static class PreferenceTags
{
    /// <summary>Most characters (Unicode scalar values) in one tag.</summary>
    public const int MaxCharacters = 64;

    /// <summary>Most UTF-8 bytes in one tag.</summary>
    public const int MaxBytes = 128;

    /// <summary>
    /// How tags match: ordinal comparison after Unicode simple case mapping (<see cref="StringComparer.OrdinalIgnoreCase"/>,
    /// the one-to-one mappings of UnicodeData.txt), over NFC strings. <c>Business</c> = <c>BUSINESS</c>;
    /// <c>straße</c> ≠ <c>STRASSE</c> (full case folding is not applied), so a tag matches the same way in every runtime.
    /// </summary>
    public static StringComparer Comparer => StringComparer.OrdinalIgnoreCase;

    /// <summary>Whether two tags are the same tag (<see cref="Comparer"/>).</summary>
    public static bool Matches(string? a, string? b) => a is not null && b is not null && Comparer.Equals(a, b);

    /// <summary>
    /// The form a signer writes: <paramref name="tag"/> in NFC. A string that cannot be normalized
    /// (a lone surrogate) is returned as given, for <see cref="Validate"/> to refuse.
    /// </summary>
    public static string Normalize(string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        try
        {
            return tag.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            return tag;
        }
    }

    /// <summary>Returns why <paramref name="tag"/> is not a valid tag as signed, or <see langword="null"/> when it is.</summary>
    public static string? Validate(string? tag)
    {
        if (string.IsNullOrEmpty(tag))
        {
            return "a tag is empty";
        }

        var characters = 0;
        for (var rest = tag.AsSpan(); !rest.IsEmpty; characters++)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var used) != System.Buffers.OperationStatus.Done)
            {
                return "a tag holds a lone surrogate (not Unicode text)";
            }

            switch (Rune.GetUnicodeCategory(rune))
            {
                case UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned
                    or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator:
                    return FormattableString.Invariant($"a tag holds U+{rune.Value:X4}, a control, format, private-use, unassigned or separator character");
            }

            rest = rest[used..];
        }

        if (characters > MaxCharacters || Encoding.UTF8.GetByteCount(tag) > MaxBytes)
        {
            return FormattableString.Invariant($"a tag is at most {MaxCharacters} characters and {MaxBytes} UTF-8 bytes");
        }

        if (char.IsWhiteSpace(tag[0]) || char.IsWhiteSpace(tag[^1]))
        {
            return "a tag may not start or end with white space";
        }

        if (!tag.IsNormalized(NormalizationForm.FormC))
        {
            return "a tag must be in Unicode normalization form C (NFC)";
        }

        if (Matches(tag, MspEntry.DefaultTag) && !string.Equals(tag, MspEntry.DefaultTag, StringComparison.Ordinal))
        {
            return "the reserved tag is written 'default', in lower case";
        }

        return null;
    }
}
