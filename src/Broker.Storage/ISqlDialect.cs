using System.Data.Common;

namespace Broker.Storage;

/// <summary>What differs between database providers; the stores' SQL is otherwise portable.</summary>
public interface ISqlDialect
{
    /// <summary>The provider name, as in <c>Storage:Provider</c> and the migrations folder.</summary>
    string Name { get; }

    DbConnection CreateConnection(string connectionString);

    /// <summary>Per-connection settings run after every open.</summary>
    Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Once per process, before migrations: database-wide settings that cannot run in a transaction.</summary>
    Task PrepareDatabaseAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Creates the table that records applied migrations, if missing.</summary>
    string CreateMigrationsTableSql { get; }

    /// <summary>Whether the exception is a unique or primary key violation.</summary>
    bool IsUniqueViolation(DbException exception);
}
