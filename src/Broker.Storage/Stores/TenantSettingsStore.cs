using System.Data.Common;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

public sealed class TenantSettingsStore(Database database) : ITenantSettingsStore
{
    public Task<string?> GetAsync(string name, CancellationToken cancellationToken = default) =>
        database.QuerySingleOrDefaultAsync<string>("SELECT value FROM tenant_settings WHERE name = @name", new { name }, cancellationToken);

    // Update, else insert; a racing insert of the same name loses on the key and updates instead.
    // (Portable across providers, which spell upsert differently.) Setting a value is idempotent (a
    // second run finds the row and sets the same value), so it is retried as a whole like a read.
    public Task SetAsync(string name, string value, CancellationToken cancellationToken = default) =>
        database.ReadAsync(async (connection, token) =>
        {
            for (var attempt = 0; attempt < 2; attempt++)
            {
                var updated = await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE tenant_settings SET value = @value WHERE name = @name", new { name, value }, cancellationToken: token));
                if (updated == 1)
                {
                    return true;
                }
                try
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        "INSERT INTO tenant_settings (name, value) VALUES (@name, @value)", new { name, value }, cancellationToken: token));
                    return true;
                }
                catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
                {
                    // Inserted by another caller meanwhile: update it on the next pass.
                }
            }
            return false;
        }, cancellationToken);
}
