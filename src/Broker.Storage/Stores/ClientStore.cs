using System.Data.Common;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

public sealed partial class ClientStore(Database database) : IClientStore
{
    private static readonly string Columns = ClientTable.SelectList;

    // A lost race for a child: re-read and decide again, as often as this, before answering no.
    private const int RevokeAttempts = 3;

    public Task<Client?> FindAsync(string clientId, CancellationToken cancellationToken = default) =>
        database.ReadAsync(async (connection, token) => (await ClientTable.QueryAsync(connection, new CommandDefinition(
            $"SELECT {Columns} FROM clients WHERE client_id = @clientId", new { clientId }, cancellationToken: token))).SingleOrDefault(),
            cancellationToken);

    // SQL Server takes at most 2,100 parameters in a command: a few hundred ids a query stays well below.
    private const int IdsPerQuery = 500;

    public Task<IReadOnlyList<Client>> FindManyAsync(IReadOnlyList<string> clientIds, CancellationToken cancellationToken = default) =>
        clientIds.Count == 0
            ? Task.FromResult<IReadOnlyList<Client>>([])
            : database.ReadAsync<IReadOnlyList<Client>>(async (connection, token) =>
            {
                var found = new List<Client>(clientIds.Count);
                foreach (var (list, parameters) in IdLists(clientIds))
                {
                    found.AddRange(await ClientTable.QueryAsync(connection, new CommandDefinition(
                        $"SELECT {Columns} FROM clients WHERE client_id IN ({list})", parameters, cancellationToken: token)));
                }
                return found;
            }, cancellationToken);

    public Task<IReadOnlyDictionary<string, long>> FindVersionsAsync(IReadOnlyList<string> clientIds, CancellationToken cancellationToken = default) =>
        clientIds.Count == 0
            ? Task.FromResult<IReadOnlyDictionary<string, long>>(new Dictionary<string, long>())
            : database.ReadAsync<IReadOnlyDictionary<string, long>>(async (connection, token) =>
            {
                var versions = new Dictionary<string, long>(clientIds.Count, StringComparer.Ordinal);
                foreach (var (list, parameters) in IdLists(clientIds))
                {
                    foreach (var row in await connection.QueryAsync<(string ClientId, long Version)>(new CommandDefinition(
                        $"SELECT client_id, version FROM clients WHERE client_id IN ({list})", parameters, cancellationToken: token)))
                    {
                        versions[row.ClientId] = row.Version;
                    }
                }
                return versions;
            }, cancellationToken);

    // The ids a few hundred at a time, each as an IN list of named parameters written out: Dapper would
    // expand "IN @ids" on SQLite and SQL Server but hand Npgsql one array parameter, which IN cannot take.
    private static IEnumerable<(string List, DynamicParameters Parameters)> IdLists(IReadOnlyList<string> clientIds)
    {
        foreach (var ids in clientIds.Chunk(IdsPerQuery))
        {
            var parameters = new DynamicParameters();
            for (var i = 0; i < ids.Length; i++)
            {
                parameters.Add($"id{i}", ids[i]);
            }
            yield return (string.Join(", ", Enumerable.Range(0, ids.Length).Select(i => $"@id{i}")), parameters);
        }
    }

    // An insert run twice would find its own row and answer "taken": never retried as a whole.
    public Task<bool> CreateAsync(Client client, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync(async (connection, token) =>
        {
            try
            {
                var rows = await connection.ExecuteAsync(ClientTable.Insert(client).Command(null, token));
                return rows == 1;
            }
            catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
            {
                return false;
            }
        }, cancellationToken);

    // Open registration's write: many arrive at once, so on SQLite they share commits (Database.WriteAsync).
    public async Task<bool> CreateAsync(Client client, AuditEntry audit, CancellationToken cancellationToken = default)
    {
        try
        {
            return await database.WriteAsync([ClientTable.Insert(client), AuditStore.Insert(audit)], cancellationToken);
        }
        catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
        {
            return false;
        }
    }

    // The one write of a changed client. version + 1: a second run would find the version moved, so it is never retried as a whole.
    public async Task<WriteOutcome> SaveAsync(Client changed, long expectedVersion, AuditEntry? audit = null, CancellationToken cancellationToken = default)
    {
        try
        {
            Statement[] statements = audit is null
                ? [ClientTable.Update(changed, expectedVersion)]
                : [ClientTable.Update(changed, expectedVersion), AuditStore.Insert(audit)];
            return await database.WriteAsync(statements, cancellationToken) ? WriteOutcome.Done : WriteOutcome.NotFound;
        }
        catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
        {
            return WriteOutcome.Conflict;
        }
    }

    public Task<IReadOnlyList<Client>> ListChildrenOwnedByAsync(string userId, CancellationToken cancellationToken = default) =>
        database.ReadAsync((connection, token) => ClientTable.QueryAsync(connection, new CommandDefinition(
            $"SELECT {Columns} FROM clients WHERE owner_user_id = @userId AND kind = @Kind ORDER BY created_at DESC, client_id",
            new { userId, Kind = ClientTable.KindName(ClientKind.Child) }, cancellationToken: token)), cancellationToken);

    public async Task<bool> RevokeOwnedChildAsync(
        string userId, string clientId, DateTimeOffset now, AuditEntry? audit = null, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < RevokeAttempts; attempt++)
        {
            var child = await FindAsync(clientId, cancellationToken);
            if (child is not { Role: InstallationRole installation, RevokedAt: null } || installation.OwnerUserId != userId)
            {
                return false;
            }
            if (await SaveAsync(child with { RevokedAt = now }, child.Version, audit, cancellationToken) == WriteOutcome.Done)
            {
                return true;
            }
        }
        return false;
    }

    public Task<IReadOnlyList<Client>> ListManagedAsync(
        string? nameStartsWith, int limit, string? afterClientId, CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<Client>>(async (connection, token) =>
        {
            // Exact name matches first, then by name and id; the cursor is the last client's position in that order.
            // The SQL is assembled from fixed fragments (never from input) so no parameter is ever an untyped NULL.
            // Without a query every client ranks alike, so the rank drops out (a bare "1" in ORDER BY would
            // mean "the first column").
            var rank = nameStartsWith is null ? "0" : "CASE WHEN name = @Query THEN 0 ELSE 1 END";
            var order = nameStartsWith is null ? "name, client_id" : $"{rank}, name, client_id";
            var cursor = afterClientId is null
                ? null
                : await connection.QuerySingleOrDefaultAsync<CursorRow>(new CommandDefinition(
                    $"SELECT {rank} AS rank_value, name, client_id FROM clients WHERE client_id = @afterClientId AND name_key IS NOT NULL",
                    new { afterClientId, Query = nameStartsWith ?? "" }, cancellationToken: token));
            if (afterClientId is not null && cursor is null)
            {
                return [];
            }
            var filter = nameStartsWith is null ? "" : "AND name LIKE @Prefix ESCAPE '\\'";
            var after = cursor is null
                ? ""
                : $"AND ({rank} > @CursorRank OR ({rank} = @CursorRank AND (name > @CursorName OR (name = @CursorName AND client_id > @CursorId))))";
            return await ClientTable.QueryAsync(connection, new CommandDefinition(
                $"SELECT {Columns} FROM clients WHERE name_key IS NOT NULL {filter} {after} ORDER BY {order} {database.Dialect.LimitClause("@Limit")}",
                new
                {
                    Query = nameStartsWith ?? "",
                    Prefix = EscapeLike(nameStartsWith ?? "") + "%",
                    CursorId = cursor?.ClientId ?? "",
                    CursorRank = cursor?.RankValue ?? 0,
                    CursorName = cursor?.Name ?? "",
                    Limit = limit,
                },
                cancellationToken: token));
        }, cancellationToken);

    public Task<long> CountOpenRegisteredAsync(CancellationToken cancellationToken = default) =>
        database.ReadAsync(async (connection, token) =>
        {
            return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM clients WHERE registration_source = @Source AND deleted_at IS NULL",
                new { Source = DbValues.Name(RegistrationSource.Open) }, cancellationToken: token));
        }, cancellationToken);

    // A second run would count none of the rows the first deleted: never retried as a whole.
    public Task<int> DeleteUnusedOpenRegisteredAsync(
        DateTimeOffset createdBefore, DateTimeOffset now, Func<int, AuditEntry> audit, CancellationToken cancellationToken = default) =>
        database.InTransactionAsync(async (connection, transaction) =>
        {
            var deleted = await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE clients SET deleted_at = @Now, revoked_at = COALESCE(revoked_at, @Now), name_key = NULL,
                                   registration_token_hash = NULL, version = version + 1
                 WHERE registration_source = @Source AND deleted_at IS NULL AND last_used_at IS NULL AND created_at < @CreatedBefore
                """,
                new { Source = DbValues.Name(RegistrationSource.Open), Now = DbValues.Time(now), CreatedBefore = DbValues.Time(createdBefore) },
                transaction, cancellationToken: cancellationToken));
            if (deleted > 0)
            {
                await AuditStore.InsertAsync(connection, transaction, audit(deleted), cancellationToken);
            }
            return (deleted, true);
        }, cancellationToken);

    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    private sealed class CursorRow
    {
        public long RankValue { get; set; }
        public string Name { get; set; } = "";
        public string ClientId { get; set; } = "";
    }
}
