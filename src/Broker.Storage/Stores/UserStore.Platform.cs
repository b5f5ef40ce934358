using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

public sealed partial class UserStore : IPlatformUserStore
{
    public async Task<Page<User>> ListAsync(string? after, int limit, CancellationToken cancellationToken = default)
    {
        var condition = "1 = 1";
        var parameters = new DynamicParameters(new { Take = limit + 1 });
        if (PageCursor.TryDecode(after, out var afterCreatedAt, out var afterId))
        {
            condition = "(created_at < @AfterCreatedAt OR (created_at = @AfterCreatedAt AND user_id < @AfterId))";
            parameters.Add("AfterCreatedAt", afterCreatedAt);
            parameters.Add("AfterId", afterId);
        }
        return await database.ReadAsync<Page<User>>(async (connection, token) =>
        {
            var rows = (await connection.QueryAsync<UserRow>(new CommandDefinition(
                $"SELECT {Columns} FROM users WHERE {condition} ORDER BY created_at DESC, user_id DESC {database.Dialect.LimitClause("@Take")}",
                parameters, cancellationToken: token))).ToList();
            var items = rows.Take(limit).Select(row => row.ToUser()).ToList();
            var next = rows.Count > limit ? PageCursor.Encode(DbValues.Time(items[^1].CreatedAt), items[^1].UserId) : null;
            return new Page<User>(items, next);
        }, cancellationToken);
    }

    public Task<int?> DisableAsync(string userId, DateTimeOffset now, AuditEntry audit, CancellationToken cancellationToken = default) =>
        database.InTransactionAsync<int?>(async (connection, transaction) =>
        {
            var parameters = new { userId, Now = DbValues.Time(now), ChildKind = ClientTable.KindName(ClientKind.Child) };
            var rows = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE users SET disabled_at = @Now WHERE user_id = @userId AND disabled_at IS NULL",
                parameters, transaction, cancellationToken: cancellationToken));
            if (rows != 1)
            {
                return (null, false);
            }
            // Their installations stop with them, whatever the gateway's cache rule reads.
            var children = await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE clients SET disabled_at = @Now, version = version + 1
                 WHERE owner_user_id = @userId AND kind = @ChildKind AND disabled_at IS NULL AND revoked_at IS NULL
                """,
                parameters, transaction, cancellationToken: cancellationToken));
            await AuditStore.InsertAsync(connection, transaction, audit with { Details = $"children disabled: {children}" }, cancellationToken);
            return (children, true);
        }, cancellationToken);
}
