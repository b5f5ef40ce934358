using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

/// <summary>The platform team's reads and writes (issue 5), kept apart from the installation flow's.</summary>
public sealed partial class ClientStore : IPlatformClientStore
{
    public Task<Page<Client>> ListParentsAsync(string? after, int limit, CancellationToken cancellationToken = default) =>
        PageAsync("kind = @Kind", new DynamicParameters(new { Kind = ClientTable.KindName(ClientKind.Parent) }), after, limit, cancellationToken);

    public Task<Page<Client>> SearchParentsAsync(ParentSearch search, string? after, int limit, CancellationToken cancellationToken = default)
    {
        // Fixed fragments only: what a caller types is always a parameter.
        var condition = "kind = @Kind"
            + (search.Query is null ? "" : " AND (name LIKE @Prefix ESCAPE '\\' OR client_id = @Query)")
            + (search.OwnerUserId is null ? "" : " AND owner_user_id = @OwnerUserId");
        return PageAsync(condition, new DynamicParameters(new
        {
            Kind = ClientTable.KindName(ClientKind.Parent),
            search.Query,
            Prefix = EscapeLike(search.Query ?? "") + "%",
            search.OwnerUserId,
        }), after, limit, cancellationToken);
    }

    public Task<int> CountActiveChildrenAsync(string parentClientId, CancellationToken cancellationToken = default) =>
        database.ReadAsync((connection, token) => connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT COUNT(*) FROM clients WHERE parent_client_id = @parentClientId AND kind = @Kind AND disabled_at IS NULL AND revoked_at IS NULL",
            new { parentClientId, Kind = ClientTable.KindName(ClientKind.Child) }, cancellationToken: token)), cancellationToken);

    public Task<Page<Client>> ListChildrenAsync(
        string parentClientId, string? ownerUserId, string? origin, string? after, int limit, CancellationToken cancellationToken = default)
    {
        var condition = "parent_client_id = @parentClientId AND kind = @Kind"
            + (ownerUserId is null ? "" : " AND owner_user_id = @ownerUserId")
            + (origin is null ? "" : " AND origin = @origin");
        return PageAsync(condition, new DynamicParameters(new { parentClientId, ownerUserId, origin, Kind = ClientTable.KindName(ClientKind.Child) }),
            after, limit, cancellationToken);
    }

    public Task<int?> DisableParentAsync(
        Client disabled, long expectedVersion, bool disableChildren, DateTimeOffset now, AuditEntry audit,
        CancellationToken cancellationToken = default) =>
        database.InTransactionAsync<int?>(async (connection, transaction) =>
        {
            var rows = await connection.ExecuteAsync(ClientTable.Update(disabled, expectedVersion).Command(transaction, cancellationToken));
            if (rows != 1)
            {
                return (null, false);
            }
            var ids = new { disabled.ClientId, Now = DbValues.Time(now), Purpose = DbValues.Name(Broker.Core.Authorization.TokenPurpose.Installation), ChildKind = ClientTable.KindName(ClientKind.Child) };
            // The parent's unspent installation tokens die with its privileges (DESIGN.md security rules).
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE access_tokens SET revoked_at = @Now WHERE client_id = @ClientId AND purpose = @Purpose AND spent_at IS NULL AND revoked_at IS NULL",
                ids, transaction, cancellationToken: cancellationToken));
            var childrenDisabled = 0;
            if (disableChildren)
            {
                childrenDisabled = await connection.ExecuteAsync(new CommandDefinition(
                    """
                    UPDATE clients SET disabled_at = @Now, version = version + 1
                     WHERE parent_client_id = @ClientId AND kind = @ChildKind AND disabled_at IS NULL AND revoked_at IS NULL
                    """,
                    ids, transaction, cancellationToken: cancellationToken));
            }
            await AuditStore.InsertAsync(connection, transaction,
                audit with { Details = $"{audit.Details}; children disabled: {childrenDisabled}".TrimStart(';', ' ') }, cancellationToken);
            return (childrenDisabled, true);
        }, cancellationToken);

    // Only ever moves last_used_at forward to @At: a second run changes nothing, so it is retried as a whole.
    public Task RecordUseAsync(string clientId, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        database.ReadAsync((connection, token) => connection.ExecuteAsync(new CommandDefinition(
            "UPDATE clients SET last_used_at = @At WHERE client_id = @clientId AND (last_used_at IS NULL OR last_used_at < @At)",
            new { clientId, At = DbValues.Time(at) }, cancellationToken: token)), cancellationToken);

    // Keyset paging, newest first by (created_at, client_id): stable while rows are added.
    private async Task<Page<Client>> PageAsync(
        string condition, DynamicParameters parameters, string? after, int limit, CancellationToken cancellationToken)
    {
        if (PageCursor.TryDecode(after, out var afterCreatedAt, out var afterId))
        {
            condition += " AND (created_at < @AfterCreatedAt OR (created_at = @AfterCreatedAt AND client_id < @AfterId))";
            parameters.Add("AfterCreatedAt", afterCreatedAt);
            parameters.Add("AfterId", afterId);
        }
        parameters.Add("Take", limit + 1);
        return await database.ReadAsync<Page<Client>>(async (connection, token) =>
        {
            var rows = await ClientTable.QueryAsync(connection, new CommandDefinition(
                $"SELECT {Columns} FROM clients WHERE {condition} ORDER BY created_at DESC, client_id DESC {database.Dialect.LimitClause("@Take")}",
                parameters, cancellationToken: token));
            var items = rows.Take(limit).ToList();
            var next = rows.Count > limit ? PageCursor.Encode(DbValues.Time(items[^1].CreatedAt), items[^1].ClientId) : null;
            return new Page<Client>(items, next);
        }, cancellationToken);
    }
}
