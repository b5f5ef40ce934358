using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

/// <summary>The platform team's reads and writes (issue 5), kept apart from the installation flow's.</summary>
public sealed partial class ClientStore : IPlatformClientStore
{
    private const string ReplaceSql =
        """
        UPDATE clients
           SET secret_hash = @SecretHash, secret_fingerprint = @SecretFingerprint, name = @Name, description = @Description,
               redirect_uris = @RedirectUris, grant_types = @GrantTypes, token_endpoint_auth_method = @TokenEndpointAuthMethod,
               kind = @Kind, redirect_policy = @RedirectPolicy, callback_path = @CallbackPath,
               child_rate_limit = @ChildRateLimit, child_endpoints = @ChildEndpoints, rate_limit = @RateLimit,
               endpoints = @Endpoints, revoked_at = @RevokedAt, disabled_at = @DisabledAt,
               previous_secret_hash = @PreviousSecretHash, previous_secret_expires_at = @PreviousSecretExpiresAt,
               version = version + 1
         WHERE client_id = @ClientId AND version = @ExpectedVersion
        """;

    public Task<Page<Client>> ListParentsAsync(string? after, int limit, CancellationToken cancellationToken = default) =>
        PageAsync("kind = @Kind", new DynamicParameters(new { Kind = ClientRow.KindName(ClientKind.Parent) }), after, limit, cancellationToken);

    public Task<Page<Client>> ListChildrenAsync(
        string parentClientId, string? ownerUserId, string? origin, string? after, int limit, CancellationToken cancellationToken = default)
    {
        var condition = "parent_client_id = @parentClientId AND kind = @Kind"
            + (ownerUserId is null ? "" : " AND owner_user_id = @ownerUserId")
            + (origin is null ? "" : " AND origin = @origin");
        return PageAsync(condition, new DynamicParameters(new { parentClientId, ownerUserId, origin, Kind = ClientRow.KindName(ClientKind.Child) }),
            after, limit, cancellationToken);
    }

    public Task<bool> ReplaceAsync(Client client, long expectedVersion, AuditEntry audit, CancellationToken cancellationToken = default) =>
        database.InTransactionAsync(async (connection, transaction) =>
        {
            var parameters = new DynamicParameters(ClientRow.From(client));
            parameters.Add("ExpectedVersion", expectedVersion);
            var rows = await connection.ExecuteAsync(new CommandDefinition(ReplaceSql, parameters, transaction, cancellationToken: cancellationToken));
            if (rows != 1)
            {
                return (false, false);
            }
            await AuditStore.InsertAsync(connection, transaction, audit, cancellationToken);
            return (true, true);
        }, cancellationToken);

    public Task<int?> DisableParentAsync(
        Client disabled, long expectedVersion, bool disableChildren, DateTimeOffset now, AuditEntry audit,
        CancellationToken cancellationToken = default) =>
        database.InTransactionAsync<int?>(async (connection, transaction) =>
        {
            var parameters = new DynamicParameters(ClientRow.From(disabled));
            parameters.Add("ExpectedVersion", expectedVersion);
            var rows = await connection.ExecuteAsync(new CommandDefinition(ReplaceSql, parameters, transaction, cancellationToken: cancellationToken));
            if (rows != 1)
            {
                return (null, false);
            }
            var ids = new { disabled.ClientId, Now = DbValues.Time(now), Purpose = Broker.Core.Authorization.TokenPurpose.Installation.ToString().ToLowerInvariant(), ChildKind = ClientRow.KindName(ClientKind.Child) };
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
            var rows = (await connection.QueryAsync<ClientRow>(new CommandDefinition(
                $"SELECT {Columns} FROM clients WHERE {condition} ORDER BY created_at DESC, client_id DESC {database.Dialect.LimitClause("@Take")}",
                parameters, cancellationToken: token))).ToList();
            var items = rows.Take(limit).Select(row => row.ToClient()).ToList();
            var next = rows.Count > limit ? PageCursor.Encode(DbValues.Time(items[^1].CreatedAt), items[^1].ClientId) : null;
            return new Page<Client>(items, next);
        }, cancellationToken);
    }
}
