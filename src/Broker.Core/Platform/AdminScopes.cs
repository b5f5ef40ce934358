namespace Broker.Core.Platform;

/// <summary>What an admin credential may do. API tokens carry them; Entra ID app roles map onto them.</summary>
public static class AdminScopes
{
    public const string ClientsRead = "clients:read";
    public const string ClientsWrite = "clients:write";
    public const string ParentsWrite = "parents:write";
    public const string TenantWrite = "tenant:write";
    public const string AuditRead = "audit:read";

    public static readonly IReadOnlyList<string> All = [ClientsRead, ClientsWrite, ParentsWrite, TenantWrite, AuditRead];

    /// <summary>
    /// Entra ID app role values for each scope. App role values are conventionally dotted
    /// PascalCase (<c>Clients.Read</c>); the scope names themselves are accepted too.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> EntraRoles = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Clients.Read"] = ClientsRead,
        ["Clients.Write"] = ClientsWrite,
        ["Parents.Write"] = ParentsWrite,
        ["Tenant.Write"] = TenantWrite,
        ["Audit.Read"] = AuditRead,
    };

    /// <summary>The scope an Entra ID app role grants, or null.</summary>
    public static string? FromEntraRole(string role) =>
        EntraRoles.TryGetValue(role, out var scope) ? scope : All.Contains(role, StringComparer.Ordinal) ? role : null;

    /// <summary>Why a list of requested scopes is not acceptable, or null.</summary>
    public static string? Problem(IReadOnlyCollection<string> scopes)
    {
        // Reject a token with no scope (it could do nothing) and unknown names (likely typos).
        if (scopes.Count == 0)
        {
            return $"name at least one scope: {string.Join(", ", All)}";
        }
        var unknown = scopes.FirstOrDefault(scope => !All.Contains(scope, StringComparer.Ordinal));
        return unknown is null ? null : $"unknown scope '{unknown}'; use {string.Join(", ", All)}";
    }
}

/// <summary>An admin API token. Its value is shown once at creation; only its SHA-256 is stored.</summary>
public sealed record AdminToken
{
    public required string TokenId { get; init; }

    public required string Name { get; init; }

    public required string TokenHash { get; init; }

    /// <summary>Last four characters of the token, to match a leaked one.</summary>
    public required string Fingerprint { get; init; }

    public required IReadOnlyList<string> Scopes { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Recorded off the request path, at most about once a minute.</summary>
    public DateTimeOffset? LastUsedAt { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }

    public const int MaxNameLength = 200;
}
