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

    /// <summary>RFC 7591 <c>application_type</c> (Okta's web, native, browser or service).</summary>
    public string ApplicationType { get; init; } = ApplicationTypes.Web;

    public IReadOnlyList<string> ResponseTypes { get; init; } = ["code"];

    public IReadOnlyList<string> PostLogoutRedirectUris { get; init; } = [];

    public string? ClientUri { get; init; }

    public string? LogoUri { get; init; }

    public string? TosUri { get; init; }

    public string? PolicyUri { get; init; }

    public string? InitiateLoginUri { get; init; }

    public IReadOnlyList<string> Contacts { get; init; } = [];

    /// <summary>How the client came to be; open-registered clients are third party and labelled so.</summary>
    public RegistrationSource Source { get; init; } = RegistrationSource.Admin;

    /// <summary>Open-registered clients: hash of the RFC 7592 registration access token.</summary>
    public string? RegistrationTokenHash { get; init; }

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

    /// <summary>Soft-deleted clients are gone from every API; their row stays for the audit trail.</summary>
    public DateTimeOffset? DeletedAt { get; init; }

    /// <summary>This client with the caller-settable metadata replaced (Okta PUT, RFC 7592 PUT).</summary>
    public Client WithMetadata(ClientMetadata metadata) => this with
    {
        Name = metadata.ClientName,
        ApplicationType = metadata.ApplicationType,
        RedirectUris = metadata.RedirectUris,
        PostLogoutRedirectUris = metadata.PostLogoutRedirectUris,
        ResponseTypes = metadata.ResponseTypes,
        GrantTypes = IsParent ? GrantTypes : metadata.GrantTypes,
        TokenEndpointAuthMethod = metadata.TokenEndpointAuthMethod,
        ClientUri = metadata.ClientUri,
        LogoUri = metadata.LogoUri,
        TosUri = metadata.TosUri,
        PolicyUri = metadata.PolicyUri,
        InitiateLoginUri = metadata.InitiateLoginUri,
        Contacts = metadata.Contacts,
    };
}

/// <summary>How a client was created.</summary>
public enum RegistrationSource
{
    /// <summary>By the platform team (command line, admin or Okta management API): first party.</summary>
    Admin,

    /// <summary>By anyone through open dynamic registration (Auth0): third party, unverified.</summary>
    Open,

    /// <summary>By an installation through <c>POST /clients</c>.</summary>
    Installation,
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
