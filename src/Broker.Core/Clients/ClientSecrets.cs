using Broker.Core.Security;

namespace Broker.Core.Clients;

/// <summary>Which secrets a client accepts: its current one, and after a rotation its previous one for the overlap.</summary>
public static class ClientSecrets
{
    /// <summary>Whether <paramref name="presented"/> is a secret of <paramref name="client"/> at <paramref name="now"/>.</summary>
    public static bool Accepts(Client client, string presented, DateTimeOffset now)
    {
        // Both comparisons always run (non-short-circuit |), so timing does not tell which secret matched.
        var current = Secret.Matches(presented, client.SecretHash);
        var previous = Secret.Matches(presented, client.PreviousSecretHash);
        return current | (previous && client.PreviousSecretExpiresAt is { } expires && now < expires);
    }

    /// <summary>The client after a rotation to <paramref name="newSecret"/>; the old secret works until <paramref name="overlapEnds"/>.</summary>
    public static Client Rotated(Client client, string newSecret, DateTimeOffset overlapEnds) => client with
    {
        SecretHash = Secret.Hash(newSecret),
        SecretFingerprint = Secret.Fingerprint(newSecret),
        // A second rotation inside an overlap ends the first one: only the latest old secret lingers.
        PreviousSecretHash = client.SecretHash,
        PreviousSecretExpiresAt = client.SecretHash is null ? null : overlapEnds,
    };
}

/// <summary>A child's own limits may narrow its parent's, never widen them.</summary>
public static class ChildLimits
{
    /// <summary>Why a child quota is not acceptable under <paramref name="parent"/>, or null.</summary>
    public static string? RateLimitProblem(ParentRole parent, int? rateLimit, int defaultChildRateLimit)
    {
        var parentLimit = parent.ChildRateLimit ?? defaultChildRateLimit;
        // Reject a quota below one request an hour, and one above the parent's child quota.
        if (rateLimit is < 1)
        {
            return "rate_limit must be at least 1 request per hour";
        }
        return rateLimit > parentLimit
            ? $"rate_limit {rateLimit} is above the parent's child quota of {parentLimit}; a child can only be narrowed"
            : null;
    }

    /// <summary>
    /// Why a child whitelist is not acceptable under <paramref name="parent"/>, or null. Every child
    /// pattern must be one of the parent's, or a concrete path one of the parent's patterns admits.
    /// </summary>
    public static string? EndpointsProblem(ParentRole parent, IReadOnlyList<string> endpoints)
    {
        var parentPatterns = (parent.ChildEndpoints is { Count: > 0 } list ? list : EndpointPattern.DefaultChildEndpoints)
            .Select(text => EndpointPattern.TryParse(text, out _))
            .OfType<EndpointPattern>()
            .ToList();
        foreach (var text in endpoints)
        {
            var pattern = EndpointPattern.TryParse(text, out _)!;
            var path = "/" + string.Join('/', pattern.Segments);
            var covered = parentPatterns.Any(parentPattern =>
                parentPattern.ToString() == pattern.ToString()
                || (!pattern.Segments.Contains("*") && parentPattern.Matches(pattern.Method, path) && parentPattern.Method == pattern.Method));
            // Reject any endpoint the parent does not allow its children.
            if (!covered)
            {
                return $"endpoint '{pattern}' is not in the parent's child whitelist; a child can only be narrowed";
            }
        }
        return null;
    }
}
