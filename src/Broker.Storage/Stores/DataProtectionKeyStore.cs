using System.Data.Common;
using Dapper;

namespace Broker.Storage.Stores;

/// <summary>The Data Protection key ring's XML elements, one row per element, shared by every instance.</summary>
public sealed class DataProtectionKeyStore(Database database)
{
    public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<string>>(async (connection, token) =>
            (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT xml FROM data_protection_keys ORDER BY created_at, name", cancellationToken: token))).ToList(),
            cancellationToken);

    /// <summary>
    /// Adds an element under <paramref name="name"/>; elements are never changed, only added. A name
    /// already taken (friendly names are hints, not keys) gets a unique suffix instead.
    /// </summary>
    // A second run would add the element twice (under a suffix): never retried as a whole.
    public Task StoreAsync(string name, string xml, DateTimeOffset createdAt, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync(async (connection, token) =>
        {
            try
            {
                await InsertAsync(connection, name, xml, createdAt, token);
            }
            catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
            {
                await InsertAsync(connection, $"{name}-{Guid.NewGuid():N}", xml, createdAt, token);
            }
        }, cancellationToken);

    private static async Task InsertAsync(DbConnection connection, string name, string xml, DateTimeOffset createdAt, CancellationToken cancellationToken)
    {
        var rows = await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO data_protection_keys (name, xml, created_at) VALUES (@name, @xml, @CreatedAt)",
            new { name, xml, CreatedAt = DbValues.Time(createdAt) }, cancellationToken: cancellationToken));
        if (rows != 1)
        {
            throw new InvalidOperationException($"data protection key insert affected {rows} rows instead of 1");
        }
    }
}
