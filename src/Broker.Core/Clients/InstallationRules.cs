using Broker.Core.Authorization;

namespace Broker.Core.Clients;

/// <summary>
/// The installation flow's rules in one place, asked by the token endpoint, <c>POST /clients</c> and the
/// gateway: who may start an installation, what the one-time installation token is good for, how long
/// it lives, and what spending it makes.
/// </summary>
public static class InstallationRules
{
    /// <summary>
    /// Whether <paramref name="client"/> may start installations, and so mint children with the tokens
    /// issued to it: an active parent. One revoked, disabled or gone since refuses its tokens too.
    /// </summary>
    public static bool MayInstall(Client? client) => client is { IsActive: true, Role: ParentRole };

    /// <summary>
    /// What a token issued to <paramref name="client"/> for a code is for: a parent's is the one-time
    /// installation token, every other client's an ordinary access token.
    /// </summary>
    public static TokenPurpose PurposeOfTokenFor(Client client) =>
        client.Role is ParentRole ? TokenPurpose.Installation : TokenPurpose.Access;

    /// <summary>The installation's origin a parent's token records (scheme, host and port of its redirect URI); null for others.</summary>
    public static string? OriginOfTokenFor(Client client, string redirectUri) =>
        client.Role is ParentRole ? RedirectUris.Origin(redirectUri) : null;

    /// <summary>
    /// How long a token lives: an installation token <paramref name="installationTokenLifetime"/>
    /// (<c>Installation:TokenLifetime</c>, null = until spent, as in the seed), any other
    /// <paramref name="accessTokenLifetime"/> (<c>Registration:AccessTokenLifetime</c>).
    /// </summary>
    public static TimeSpan? Lifetime(TokenPurpose purpose, TimeSpan? installationTokenLifetime, TimeSpan accessTokenLifetime) =>
        purpose == TokenPurpose.Installation ? installationTokenLifetime : accessTokenLifetime;

    /// <summary>
    /// Whether <paramref name="token"/> may create an application at <c>POST /clients</c>: only an
    /// installation token, and (being the only thing it may do) nothing else anywhere, the gateway included.
    /// </summary>
    public static bool MayCreateChild(AccessToken token) => token.Purpose == TokenPurpose.Installation;

    /// <summary>
    /// The child that spending <paramref name="token"/> (issued to <paramref name="parent"/>) mints. It has
    /// no secret (its <c>client_id</c> is its key), no grants, and no quota or whitelist of its own: it
    /// inherits its parent's live until an administrator narrows them.
    /// </summary>
    public static Client Child(string clientId, string name, string description, Client parent, AccessToken token, DateTimeOffset now) => new()
    {
        ClientId = clientId,
        Metadata = new ClientMetadata { ClientName = name, GrantTypes = [], TokenEndpointAuthMethod = ClientAuthMethod.None },
        Description = description,
        Role = new InstallationRole { ParentClientId = parent.ClientId, OwnerUserId = token.UserId!, Origin = token.Origin },
        Source = RegistrationSource.Installation,
        CreatedAt = now,
    };
}
