using System.Data.Common;
using Dapper;

namespace Broker.Storage;

/// <summary>Opens connections and runs transactions for the stores, in the configured dialect.</summary>
public sealed class Database(ISqlDialect dialect, string connectionString)
{
    // Columns are snake_case, row classes PascalCase.
    static Database() => Dapper.DefaultTypeMap.MatchNamesWithUnderscores = true;

    public ISqlDialect Dialect { get; } = dialect;

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        var connection = Dialect.CreateConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await Dialect.OnOpenedAsync(connection, cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>The readiness probe's query, valid on every provider.</summary>
    public const string PingSql = "SELECT 1";

    /// <summary>Opens a connection and runs a trivial query; throws when the database does not answer.</summary>
    public async Task PingAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await connection.ExecuteScalarAsync<long>(new CommandDefinition(PingSql, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction at the dialect's write isolation, committed when it
    /// returns normally. On SQLite this is BEGIN IMMEDIATE, so racing writers queue instead of failing on
    /// upgrade; on PostgreSQL and SQL Server it is READ COMMITTED, where row locks queue them.
    /// </summary>
    public async Task<T> InTransactionAsync<T>(
        Func<DbConnection, DbTransaction, Task<(T Result, bool Commit)>> work, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(Dialect.WriteIsolation, cancellationToken);
        var (result, commit) = await work(connection, transaction);
        if (commit)
        {
            await transaction.CommitAsync(cancellationToken);
        }
        else
        {
            await transaction.RollbackAsync(cancellationToken);
        }
        return result;
    }
}
