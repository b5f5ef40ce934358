using System.Text.Json;
using Broker.Core.Security;

namespace Broker.Core.Authorization;

/// <summary>What a request that presents an already spent installation token gets back.</summary>
public enum ReplayDecision
{
    /// <summary>The same key and the same body: the first response again.</summary>
    Replay,

    /// <summary>No key, or another key than the one that spent the token: the token was used.</summary>
    AlreadyUsed,

    /// <summary>The same key with another body: 422, as the draft says.</summary>
    DifferentBody,
}

/// <summary>
/// The <c>Idempotency-Key</c> rules of <c>POST /clients</c> (IETF draft "The Idempotency-Key HTTP
/// Header Field"): which header values are keys, what makes two bodies the same request, and what a
/// retry of a request that already spent its token gets.
/// </summary>
public static class IdempotencyRules
{
    public const int MaxKeyLength = 255;

    /// <summary>
    /// The key in the header's values: a structured-field string (<c>"key"</c>) as the draft has it,
    /// or a bare token. Null with no header; a problem for an empty, repeated, over-long or
    /// non-printable one.
    /// </summary>
    public static (string? Key, string? Problem) ParseKey(IReadOnlyList<string?> headerValues)
    {
        if (headerValues.Count == 0)
        {
            return (null, null);
        }
        var key = headerValues.Count == 1 ? headerValues[0]?.Trim() ?? "" : "";
        if (key.Length >= 2 && key[0] == '"' && key[^1] == '"')
        {
            key = key[1..^1];
        }
        // Reject empty, repeated, over-long or non-printable keys.
        if (key.Length is 0 or > MaxKeyLength || key.Any(c => c < ' ' || c > '~'))
        {
            return (null, $"Idempotency-Key must be one printable ASCII string of 1 to {MaxKeyLength} characters");
        }
        return (key, null);
    }

    /// <summary>The identity of a request body for the idempotency check: the same fields give the same fingerprint.</summary>
    public static string Fingerprint(params string[] fields) => Secret.Hash(JsonSerializer.Serialize(fields));

    /// <summary>
    /// The answer to a request presenting a token already spent with <paramref name="spentWithKey"/>
    /// and <paramref name="spentBodyFingerprint"/>; <paramref name="bodyFingerprint"/> is null for a
    /// body that is not a valid request.
    /// </summary>
    public static ReplayDecision Decide(string? presentedKey, string? bodyFingerprint, string? spentWithKey, string? spentBodyFingerprint)
    {
        // Reject reuse of a spent token without the key that spent it.
        if (presentedKey is null || !string.Equals(presentedKey, spentWithKey, StringComparison.Ordinal))
        {
            return ReplayDecision.AlreadyUsed;
        }
        // Reject the same key with another body.
        return bodyFingerprint is not null && string.Equals(bodyFingerprint, spentBodyFingerprint, StringComparison.Ordinal)
            ? ReplayDecision.Replay
            : ReplayDecision.DifferentBody;
    }
}
