using System.Data.Common;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

public sealed class TenantSettingsStore(Database database) : ITenantSettingsStore
{
    public Task<string?> GetAsync(string name, CancellationToken cancellationToken = default) =>
        database.QuerySingleOrDefaultAsync<string>("SELECT value FROM tenant_settings WHERE name = @name", new { name }, cancellationToken);

    // Update, else insert, with the audit entry, in one transaction. A racing first insert of the same
    // name makes this transaction fail on the key (PostgreSQL aborts it); the second pass finds the row
    // and updates it. (Portable across providers, which spell upsert differently.)
    public async Task SetAsync(string name, string value, AuditEntry? audit = null, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await database.InTransactionAsync<bool>(async (connection, transaction, token) =>
                {
                    var updated = await connection.ExecuteAsync(new CommandDefinition(
                        "UPDATE tenant_settings SET value = @value WHERE name = @name", new { name, value }, transaction, cancellationToken: token));
                    if (updated == 0)
                    {
                        await connection.ExecuteAsync(new CommandDefinition(
                            "INSERT INTO tenant_settings (name, value) VALUES (@name, @value)", new { name, value }, transaction, cancellationToken: token));
                    }
                    if (audit is not null)
                    {
                        await connection.ExecuteAsync(AuditStore.Insert(audit).Command(transaction, token));
                    }
                    return (true, true);
                }, cancellationToken);
                return;
            }
            catch (DbException exception) when (attempt == 0 && database.Dialect.IsUniqueViolation(exception))
            {
                // Inserted by another caller meanwhile: update it on the next pass.
            }
        }
    }
}
