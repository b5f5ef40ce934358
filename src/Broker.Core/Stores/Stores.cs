using Broker.Core.Accounts;
using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Platform;

namespace Broker.Core.Stores;

/// <summary>Clients: parents, children and standard applications.</summary>
public interface IClientStore
{
    Task<Client?> FindAsync(string clientId, CancellationToken cancellationToken = default);

    /// <summary>The clients of these ids that exist, in no particular order, read in one query per few hundred ids.</summary>
    Task<IReadOnlyList<Client>> FindManyAsync(IReadOnlyList<string> clientIds, CancellationToken cancellationToken = default);

    /// <summary>
    /// The version of each of these clients that exists, read like <see cref="FindManyAsync"/>: every write
    /// of a client moves its version (the last-use time alone does not), so an unmoved version is an unchanged client.
    /// </summary>
    Task<IReadOnlyDictionary<string, long>> FindVersionsAsync(IReadOnlyList<string> clientIds, CancellationToken cancellationToken = default);

    /// <summary>Inserts a client; false when a client with that id exists.</summary>
    Task<bool> CreateAsync(Client client, CancellationToken cancellationToken = default);

    /// <summary>Inserts a client and its audit entry in one transaction; false (nothing written) on a uniqueness conflict.</summary>
    Task<bool> CreateAsync(Client client, AuditEntry audit, CancellationToken cancellationToken = default);

    /// <summary>
    /// The one write of a changed client, whichever API asks: <paramref name="changed"/> replaces the stored
    /// client if it is still at <paramref name="expectedVersion"/> (compare-and-set), one version further, with
    /// <paramref name="audit"/> in the same transaction. NotFound (nothing written) when the client moved on or
    /// does not exist; Conflict when its name is taken.
    /// </summary>
    Task<WriteOutcome> SaveAsync(Client changed, long expectedVersion, AuditEntry? audit = null, CancellationToken cancellationToken = default);

    /// <summary>The children a user owns, newest first.</summary>
    Task<IReadOnlyList<Client>> ListChildrenOwnedByAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>Revokes a child its owner names (with its audit entry); false when the user owns no such active child.</summary>
    Task<bool> RevokeOwnedChildAsync(
        string userId, string clientId, DateTimeOffset now, AuditEntry? audit = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// The clients the management APIs show (not children, not deleted): names starting with
    /// <paramref name="nameStartsWith"/> (exact matches first), after the client <paramref name="afterClientId"/>.
    /// </summary>
    Task<IReadOnlyList<Client>> ListManagedAsync(string? nameStartsWith, int limit, string? afterClientId, CancellationToken cancellationToken = default);

    /// <summary>Open-registered clients not deleted (the tenant cap counts these).</summary>
    Task<long> CountOpenRegisteredAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Soft-deletes open-registered clients never used and created before <paramref name="createdBefore"/>, and when
    /// there were any, writes the <paramref name="audit"/> entry for their number in the same transaction; how many.
    /// </summary>
    Task<int> DeleteUnusedOpenRegisteredAsync(
        DateTimeOffset createdBefore, DateTimeOffset now, Func<int, AuditEntry> audit, CancellationToken cancellationToken = default);
}

/// <summary>How a write that can collide went.</summary>
public enum WriteOutcome
{
    Done,
    NotFound,

    /// <summary>A uniqueness rule refused it (for clients: the name).</summary>
    Conflict,
}

/// <summary>Tenant-wide settings, such as Auth0's <c>enable_dynamic_client_registration</c> flag.</summary>
public interface ITenantSettingsStore
{
    Task<string?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Sets the setting, with <paramref name="audit"/> (when given) in the same transaction.</summary>
    Task SetAsync(string name, string value, AuditEntry? audit = null, CancellationToken cancellationToken = default);
}

public interface IUserStore
{
    Task<User?> FindByEmailAsync(string normalizedEmail, CancellationToken cancellationToken = default);

    Task<User?> FindAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>Inserts a user; false when the e-mail address is taken.</summary>
    Task<bool> CreateAsync(User user, CancellationToken cancellationToken = default);
}

/// <summary>Authorization codes and access tokens, and the one-time transitions between them.</summary>
public interface IGrantStore
{
    Task CreateCodeAsync(AuthorizationCode code, CancellationToken cancellationToken = default);

    Task<AuthorizationCode?> FindCodeAsync(string codeHash, CancellationToken cancellationToken = default);

    /// <summary>
    /// In one transaction: marks the code redeemed if it is not yet, and stores the token issued for it.
    /// False (nothing written) when the code was already redeemed.
    /// </summary>
    Task<bool> RedeemCodeAsync(string codeHash, AccessToken token, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>A replayed code: revokes the tokens issued for it and the children they minted.</summary>
    Task RevokeIssuedForCodeAsync(string codeHash, DateTimeOffset now, CancellationToken cancellationToken = default);

    Task<AccessToken?> FindTokenAsync(string tokenHash, CancellationToken cancellationToken = default);

    /// <summary>Stores a token issued without a code (client_credentials).</summary>
    Task CreateTokenAsync(AccessToken token, CancellationToken cancellationToken = default);

    /// <summary>
    /// In one transaction: spends a usable installation token and creates the child. Exactly one of
    /// any number of concurrent calls for one token gets <see cref="SpendOutcome.Created"/>.
    /// </summary>
    Task<SpendOutcome> SpendInstallationTokenAsync(
        string tokenHash, string? idempotencyKey, string requestFingerprint, Client child, DateTimeOffset now,
        AuditEntry? audit = null, CancellationToken cancellationToken = default);
}
