namespace Broker.Core.Clients;

/// <summary>What a client is in the installation model: the name of its <see cref="ClientRole"/>.</summary>
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

/// <summary>
/// One OAuth client: the core every client has (identity, secrets, status, times, version), its RFC 7591
/// metadata once (<see cref="Metadata"/>), and what it is in the installation model (<see cref="Role"/>).
/// A metadata field is a property of <see cref="ClientMetadata"/>; storage and the documents follow it.
/// </summary>
public sealed record Client
{
    public required string ClientId { get; init; }

    /// <summary>The RFC 7591 metadata, as a caller set it (or the server, for installations).</summary>
    public required ClientMetadata Metadata { get; init; }

    /// <summary>A standard application, a parent with its policy, or an installation with its parent and owner.</summary>
    public ClientRole Role { get; init; } = StandardRole.Instance;

    /// <summary>SHA-256 hash of the secret; null for clients without one (children, public clients).</summary>
    public string? SecretHash { get; init; }

    /// <summary>Last four characters of the secret, for matching a leaked one.</summary>
    public string? SecretFingerprint { get; init; }

    /// <summary>After a rotation: the SHA-256 of the secret that keeps working until <see cref="PreviousSecretExpiresAt"/>.</summary>
    public string? PreviousSecretHash { get; init; }

    public DateTimeOffset? PreviousSecretExpiresAt { get; init; }

    /// <summary>An installation's own words about itself (<c>POST /clients</c>); empty for other clients.</summary>
    public string Description { get; init; } = "";

    /// <summary>How the client came to be; open-registered clients are third party and labelled so.</summary>
    public RegistrationSource Source { get; init; } = RegistrationSource.Admin;

    /// <summary>Open-registered clients: hash of the RFC 7592 registration access token.</summary>
    public string? RegistrationTokenHash { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Set when the owner or a replayed code revoked the client; permanent.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Set while an administrator has disabled the client; reversible.</summary>
    public DateTimeOffset? DisabledAt { get; init; }

    /// <summary>Soft-deleted clients are gone from every API; their row stays for the audit trail.</summary>
    public DateTimeOffset? DeletedAt { get; init; }

    /// <summary>When the client last authenticated; recorded off the request path, at most about once a minute.</summary>
    public DateTimeOffset? LastUsedAt { get; init; }

    /// <summary>Incremented by every change of the client; the ETag of optimistic concurrency.</summary>
    public long Version { get; init; } = 1;

    /// <summary>The trusted issuer whose software statement this client was registered with (RFC 7591 §2.3), or null.</summary>
    public string? SoftwareStatementIssuer { get; init; }

    /// <summary>That issuer's vendor name when the statement was verified: shown on the consent page instead of "Unverified".</summary>
    public string? SoftwareVendor { get; init; }

    /// <summary>The client's name (RFC 7591 <c>client_name</c>).</summary>
    public string Name => Metadata.ClientName;

    public bool IsActive => RevokedAt is null && DisabledAt is null;

    public bool IsPublic => Metadata.TokenEndpointAuthMethod == ClientAuthMethod.None;

    /// <summary>Any application may be given parent privileges, except an installation's own.</summary>
    public bool MayBecomeParent => Role is not InstallationRole;

    /// <summary>
    /// This client with the caller-settable metadata replaced (Okta PUT, RFC 7592 PUT). A parent keeps
    /// its grants: its keys are public, and the authorization code grant is all they may ever use.
    /// </summary>
    public Client WithMetadata(ClientMetadata metadata) => this with
    {
        Metadata = Role is ParentRole ? metadata with { GrantTypes = Metadata.GrantTypes } : metadata,
        // A vendor vouched for the metadata it signed, not for what replaces it.
        SoftwareStatementIssuer = null,
        SoftwareVendor = null,
    };

    /// <summary>
    /// This client as a parent under <paramref name="settings"/>, or null for an installation's own
    /// application, which can never become one. Parent keys are public: the authorization code grant is
    /// all they may ever use.
    /// </summary>
    public Client? AsParent(ParentRole settings) => !MayBecomeParent ? null : this with
    {
        Role = settings,
        Metadata = Metadata with { GrantTypes = [GrantType.AuthorizationCode] },
    };

    /// <summary>
    /// This client soft-deleted (Okta and RFC 7592 <c>DELETE</c>): its credentials stop at once, its
    /// registration token is gone, and its name is free again; the row stays for the audit trail.
    /// </summary>
    public Client Deleted(DateTimeOffset now) => this with
    {
        DeletedAt = now,
        RevokedAt = RevokedAt ?? now,
        RegistrationTokenHash = null,
    };
}

/// <summary>What a client is in the installation model; the rules of each role are pattern matches on it.</summary>
public abstract record ClientRole
{
    /// <summary>The role's name (admin API's <c>kind</c>, the <c>kind</c> column).</summary>
    public abstract ClientKind Kind { get; }
}

/// <summary>An ordinary application: admin-created, Okta-managed or open-registered.</summary>
public sealed record StandardRole : ClientRole
{
    public static readonly StandardRole Instance = new();

    public override ClientKind Kind => ClientKind.Standard;
}

/// <summary>A vendor's application: its public keys start installations, under this policy.</summary>
public sealed record ParentRole : ClientRole
{
    public override ClientKind Kind => ClientKind.Parent;

    public RedirectPolicy RedirectPolicy { get; init; } = RedirectPolicy.Installation;

    /// <summary>Under the installation policy: the path every installation's callback must have.</summary>
    public string? CallbackPath { get; init; }

    /// <summary>Hourly quota each child gets (null: <c>Installation:DefaultChildRateLimit</c>).</summary>
    public int? ChildRateLimit { get; init; }

    /// <summary>The endpoints each child may call, as <c>METHOD /path</c> patterns (null: the defaults).</summary>
    public IReadOnlyList<string>? ChildEndpoints { get; init; }

    /// <summary>
    /// The vendor: the user named owner of this parent, who sees its installations and usage in the
    /// console and may rotate its secret (null: the platform team alone). Stored in the column a
    /// child's owner uses; the row's kind tells them apart.
    /// </summary>
    public string? OwnerUserId { get; init; }
}

/// <summary>An installation's own application (a child), minted by <c>POST /clients</c>.</summary>
public sealed record InstallationRole : ClientRole
{
    public override ClientKind Kind => ClientKind.Child;

    /// <summary>The parent that minted it.</summary>
    public required string ParentClientId { get; init; }

    /// <summary>The site owner who approved the installation.</summary>
    public required string OwnerUserId { get; init; }

    /// <summary>The installation's origin (scheme, host, port) taken from its redirect URI.</summary>
    public string? Origin { get; init; }

    /// <summary>Its own hourly quota (null: the parent's); can only narrow the parent's.</summary>
    public int? RateLimit { get; init; }

    /// <summary>Its own whitelist (null: the parent's); can only narrow the parent's.</summary>
    public IReadOnlyList<string>? Endpoints { get; init; }
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
