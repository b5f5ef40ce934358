using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Core.Platform;

namespace Broker.Core.Stores;

/// <summary>
/// The platform team's writes on clients. Each write checks the version it was computed from
/// (optimistic concurrency) and appends its audit entry in the same transaction: a change is never
/// stored without its entry, nor an entry without its change.
/// </summary>
public interface IPlatformClientStore
{
    /// <summary>Parents, newest first.</summary>
    Task<Page<Client>> ListParentsAsync(string? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>Parents matching <paramref name="search"/>, newest first.</summary>
    Task<Page<Client>> SearchParentsAsync(ParentSearch search, string? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>How many of a parent's children are active (neither disabled nor revoked): what the kill switch would stop.</summary>
    Task<int> CountActiveChildrenAsync(string parentClientId, CancellationToken cancellationToken = default);

    /// <summary>A parent's children, newest first, optionally only those of one owner or one origin.</summary>
    Task<Page<Client>> ListChildrenAsync(
        string parentClientId, string? ownerUserId, string? origin, string? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="IClientStore.SaveAsync"/> for a parent being disabled, plus in the same transaction: its
    /// unspent installation tokens are revoked, and with <paramref name="disableChildren"/> every
    /// active child is disabled. Null when the version moved on; else the number of children disabled.
    /// </summary>
    Task<int?> DisableParentAsync(
        Client disabled, long expectedVersion, bool disableChildren, DateTimeOffset now, AuditEntry audit,
        CancellationToken cancellationToken = default);

    /// <summary>Records use (off the request path); never moves <c>last_used_at</c> backwards, never changes the version.</summary>
    Task RecordUseAsync(string clientId, DateTimeOffset at, CancellationToken cancellationToken = default);
}

public interface IPlatformUserStore
{
    /// <summary>Users, newest first.</summary>
    Task<Page<User>> ListAsync(string? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Disables an enabled user and, in the same transaction, every active child the user owns.
    /// Null when there is no enabled user with that id; else the number of children disabled.
    /// </summary>
    Task<int?> DisableAsync(string userId, DateTimeOffset now, AuditEntry audit, CancellationToken cancellationToken = default);
}

public interface IAdminTokenStore
{
    Task CreateAsync(AdminToken token, AuditEntry audit, CancellationToken cancellationToken = default);

    Task<AdminToken?> FindByHashAsync(string tokenHash, CancellationToken cancellationToken = default);

    /// <summary>Every token, revoked ones included, newest first.</summary>
    Task<IReadOnlyList<AdminToken>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>False when there is no unrevoked token with that id.</summary>
    Task<bool> RevokeAsync(string tokenId, DateTimeOffset now, AuditEntry audit, CancellationToken cancellationToken = default);

    Task RecordUseAsync(string tokenId, DateTimeOffset at, CancellationToken cancellationToken = default);
}

/// <summary>The append-only audit log. There is deliberately no way to change or remove an entry.</summary>
public interface IAuditStore
{
    /// <summary>For changes whose store has no transaction of its own to put the entry in.</summary>
    Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Matching entries, newest first; <see cref="Page{T}.Next"/> is the id to pass as <see cref="AuditQuery.Before"/>.</summary>
    Task<Page<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default);
}

/// <summary>The issuers of software statements the platform team trusts; each change with its audit entry.</summary>
public interface ITrustedIssuerStore
{
    /// <summary>False when an issuer of that name is already trusted.</summary>
    Task<bool> CreateAsync(Clients.TrustedIssuer issuer, AuditEntry audit, CancellationToken cancellationToken = default);

    Task<Clients.TrustedIssuer?> FindAsync(string issuer, CancellationToken cancellationToken = default);

    /// <summary>Every trusted issuer, by name.</summary>
    Task<IReadOnlyList<Clients.TrustedIssuer>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>False when no issuer of that name was trusted.</summary>
    Task<bool> DeleteAsync(string issuer, AuditEntry audit, CancellationToken cancellationToken = default);
}
/// <summary>The hourly usage counts the gateway keeps (one row per installation and hour).</summary>
public interface IUsageStore
{
    /// <summary>Adds the counts to their rows, creating rows that do not exist yet; all or none.</summary>
    Task AddAsync(IReadOnlyList<UsageHour> counts, CancellationToken cancellationToken = default);

    /// <summary>The scope's counts per hour in [<paramref name="from"/>, <paramref name="to"/>), summed over its installations, oldest first; hours without calls are left out.</summary>
    Task<IReadOnlyList<UsageHour>> HoursAsync(UsageScope scope, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default);
}

/// <summary>A search among parents: a name prefix or exact client id, and only one vendor's when <see cref="OwnerUserId"/> is set.</summary>
public sealed record ParentSearch(string? Query = null, string? OwnerUserId = null);
