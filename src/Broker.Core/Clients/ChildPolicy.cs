namespace Broker.Core.Clients;

/// <summary>
/// What a child may call and how often, from its own settings and its parent's live ones. Children are
/// stored with no quota and no whitelist of their own so that a parent's change reaches every
/// installation at once; a per-child setting can only narrow what the parent grants, never widen it.
/// </summary>
public static class ChildPolicy
{
    /// <summary>The child's hourly quota: its override, the parent's child quota, or the default; never above the parent's.</summary>
    public static int EffectiveRateLimit(InstallationRole child, ParentRole parent, int defaultChildRateLimit)
    {
        var granted = parent.ChildRateLimit ?? defaultChildRateLimit;
        return child.RateLimit is { } own ? Math.Min(own, granted) : granted;
    }

    /// <summary>The child's whitelist: its own patterns, each request also checked against the parent's.</summary>
    public static EndpointWhitelist EffectiveEndpoints(InstallationRole child, ParentRole parent)
    {
        var granted = Parse(parent.ChildEndpoints ?? EndpointPattern.DefaultChildEndpoints);
        return child.Endpoints is { } own ? new EndpointWhitelist(Parse(own), granted) : new EndpointWhitelist(granted, null);
    }

    /// <summary>
    /// A registered (non-installation) client calling with a bearer access token: the whitelist an
    /// installation gets by default (its quota is <c>Installation:DefaultChildRateLimit</c>). Only
    /// installations have limits of their own.
    /// </summary>
    public static EndpointWhitelist RegisteredEndpoints() => new(Parse(EndpointPattern.DefaultChildEndpoints), null);

    // Stored patterns were validated when written; one that no longer parses grants nothing.
    private static EndpointPattern[] Parse(IEnumerable<string> patterns) =>
        patterns.Select(text => EndpointPattern.TryParse(text, out _)).OfType<EndpointPattern>().ToArray();
}

/// <summary>
/// The endpoints a child may call: a request must match one of <see cref="Allowed"/> and, when the
/// child narrows its parent's list, one of <see cref="Within"/> too (the intersection of the two).
/// </summary>
public sealed class EndpointWhitelist(IReadOnlyList<EndpointPattern> allowed, IReadOnlyList<EndpointPattern>? within)
{
    public IReadOnlyList<EndpointPattern> Allowed { get; } = allowed;

    public IReadOnlyList<EndpointPattern>? Within { get; } = within;

    public bool Permits(string method, string path) =>
        MatchesAny(Allowed, method, path) && (Within is null || MatchesAny(Within, method, path));

    private static bool MatchesAny(IReadOnlyList<EndpointPattern> patterns, string method, string path)
    {
        for (var i = 0; i < patterns.Count; i++)
        {
            if (patterns[i].Matches(method, path))
            {
                return true;
            }
        }
        return false;
    }
}
