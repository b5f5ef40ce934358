namespace Broker.Core.Clients;

/// <summary>What a client is in the installation model.</summary>
public enum ClientKind
{
    /// <summary>An ordinary application (admin-created or registered).</summary>
    Standard,

    /// <summary>A vendor's application whose public keys may only run the installation flow.</summary>
    Parent,

    /// <summary>An installation's own application, minted by <c>POST /clients</c>.</summary>
    Child,
}

/// <summary>How the authorization endpoint matches a requested <c>redirect_uri</c>.</summary>
public enum RedirectPolicy
{
    /// <summary>Exact string match against the registered list (RFC 9700); loopback on any port (RFC 8252).</summary>
    Exact,

    /// <summary>Any https URI (http only on loopback) whose path is the parent's callback path.</summary>
    Installation,
}

/// <summary>One OAuth client. Parents, children and standard applications share this model.</summary>
public sealed record Client
{
    public required string ClientId { get; init; }

    /// <summary>SHA-256 hash of the secret; null for clients without one (children, public clients).</summary>
    public string? SecretHash { get; init; }

    /// <summary>Last four characters of the secret, for matching a leaked one.</summary>
    public string? SecretFingerprint { get; init; }

    public required string Name { get; init; }

    public string Description { get; init; } = "";

    public IReadOnlyList<string> RedirectUris { get; init; } = [];

    public IReadOnlyList<string> GrantTypes { get; init; } = [GrantType.AuthorizationCode];

    public string TokenEndpointAuthMethod { get; init; } = ClientAuthMethod.ClientSecretPost;

    public ClientKind Kind { get; init; } = ClientKind.Standard;

    public RedirectPolicy RedirectPolicy { get; init; } = RedirectPolicy.Exact;

    /// <summary>Parents under the installation policy: the path every installation's callback must have.</summary>
    public string? CallbackPath { get; init; }

    /// <summary>Parents: hourly quota each child gets.</summary>
    public int? ChildRateLimit { get; init; }

    /// <summary>Parents: the endpoints each child may call, as <c>METHOD /path</c> patterns.</summary>
    public IReadOnlyList<string>? ChildEndpoints { get; init; }

    /// <summary>Children: the parent that minted them.</summary>
    public string? ParentClientId { get; init; }

    /// <summary>Children: the site owner who approved the installation.</summary>
    public string? OwnerUserId { get; init; }

    /// <summary>Children: the installation's origin (scheme, host, port) taken from its redirect URI.</summary>
    public string? Origin { get; init; }

    /// <summary>Children: hourly quota.</summary>
    public int? RateLimit { get; init; }

    /// <summary>Children: whitelisted endpoints.</summary>
    public IReadOnlyList<string>? Endpoints { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Set when the owner or a replayed code revoked the client; permanent.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Set while an administrator has disabled the client; reversible.</summary>
    public DateTimeOffset? DisabledAt { get; init; }

    /// <summary>After a rotation: the SHA-256 of the secret that keeps working until <see cref="PreviousSecretExpiresAt"/>.</summary>
    public string? PreviousSecretHash { get; init; }

    public DateTimeOffset? PreviousSecretExpiresAt { get; init; }

    /// <summary>When the client last authenticated; recorded off the request path, at most about once a minute.</summary>
    public DateTimeOffset? LastUsedAt { get; init; }

    /// <summary>Incremented by every administrative change; the ETag of optimistic concurrency.</summary>
    public long Version { get; init; } = 1;

    public bool IsActive => RevokedAt is null && DisabledAt is null;

    public bool IsParent => Kind == ClientKind.Parent;

    public bool IsPublic => TokenEndpointAuthMethod == ClientAuthMethod.None;
}

public static class GrantType
{
    public const string AuthorizationCode = "authorization_code";
    public const string ClientCredentials = "client_credentials";
    public const string RefreshToken = "refresh_token";
}

public static class ClientAuthMethod
{
    public const string ClientSecretPost = "client_secret_post";
    public const string ClientSecretBasic = "client_secret_basic";
    public const string None = "none";
}
