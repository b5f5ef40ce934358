using System.Data.Common;
using System.Reflection;
using System.Text.RegularExpressions;
using Dapper;

namespace Broker.Storage;

/// <summary>Applies the embedded <c>V00N_name.sql</c> scripts of the dialect, each once and in order.</summary>
public sealed partial class MigrationRunner(Database database)
{
    public sealed record Migration(int Version, string Name, string Sql);

    /// <summary>The dialect's migrations, ordered by version.</summary>
    public IReadOnlyList<Migration> Migrations()
    {
        var assembly = typeof(MigrationRunner).Assembly;
        var prefix = $"{typeof(MigrationRunner).Namespace}.Migrations.{database.Dialect.Name}.";
        return assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal))
            .Select(name => (name, match: MigrationName().Match(name[prefix.Length..])))
            .Where(item => item.match.Success)
            .Select(item => new Migration(
                int.Parse(item.match.Groups["version"].Value, System.Globalization.CultureInfo.InvariantCulture),
                item.match.Groups["name"].Value,
                Read(assembly, item.name)))
            .OrderBy(migration => migration.Version)
            .ToList();
    }

    /// <summary>Applies what is missing; returns the names of the migrations it applied.</summary>
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var dialect = database.Dialect;
        // Idempotent (SQLite: journal_mode = WAL), so retried as a whole like a read.
        await database.ReadAsync(async (connection, token) =>
        {
            await dialect.PrepareDatabaseAsync(connection, token);
            return true;
        }, cancellationToken);
        // Under the lock too: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin.
        await database.InTransactionAsync(async (connection, transaction) =>
        {
            await LockAsync(connection, transaction, cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(dialect.CreateMigrationsTableSql, transaction: transaction, cancellationToken: cancellationToken));
            return (true, true);
        }, cancellationToken);
        var applied = new List<string>();
        foreach (var migration in Migrations())
        {
            // Each migration in its own transaction, re-checked under the lock: instances starting together apply it once.
            var didApply = await database.InTransactionAsync(async (connection, transaction) =>
            {
                await LockAsync(connection, transaction, cancellationToken);
                var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT COUNT(*) FROM schema_migrations WHERE version = @Version",
                    new { migration.Version }, transaction, cancellationToken: cancellationToken));
                if (exists > 0)
                {
                    return (false, false);
                }
                foreach (var batch in dialect.SplitScript(migration.Sql))
                {
                    await connection.ExecuteAsync(new CommandDefinition(batch, transaction: transaction, cancellationToken: cancellationToken));
                }
                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@Version, @Name, @AppliedAt)",
                    new { migration.Version, migration.Name, AppliedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() },
                    transaction, cancellationToken: cancellationToken));
                return (true, true);
            }, cancellationToken);
            if (didApply)
            {
                applied.Add($"V{migration.Version:000}_{migration.Name}");
            }
        }
        return applied;
    }

    private Task LockAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        database.Dialect.MigrationLockSql is { } sql
            ? connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, cancellationToken: cancellationToken))
            : Task.CompletedTask;

    private static string Read(Assembly assembly, string resourceName)
    {
        using var stream = assembly.GetManifestResourceStream(resourceName)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"^V(?<version>\d+)_(?<name>[A-Za-z0-9_]+)\.sql$")]
    private static partial Regex MigrationName();
}
