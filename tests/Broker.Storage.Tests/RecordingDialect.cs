using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.SqlClient;

namespace Broker.Storage.Tests;

/// <summary>
/// A dialect that behaves as <paramref name="inner"/> in every SQL it produces but hands out connections
/// that reach no server: they record each command's text and answer with no rows, a scalar 0, and
/// <see cref="AffectedRows"/> for every non-query. Parameters are SqlClient's, so Dapper prepares
/// commands exactly as it would for SQL Server.
/// </summary>
internal sealed class RecordingDialect(ISqlDialect inner) : ISqlDialect
{
    public ConcurrentQueue<string> Commands { get; } = new();

    public int AffectedRows { get; set; } = 1;

    /// <summary>
    /// Commands never answer, whatever their cancellation token says: a frozen server behind a driver
    /// that does not honour cancellation (connections still open, as pooled ones do).
    /// </summary>
    public bool Frozen { get; set; }

    public string Name => inner.Name;

    public DbConnection CreateConnection(string connectionString) => new RecordingConnection(this);

    public string Bounded(string connectionString, TimeSpan budget) => inner.Bounded(connectionString, budget);

    public string WriteProbeSql => inner.WriteProbeSql;

    public Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken) => inner.OnOpenedAsync(connection, cancellationToken);

    public Task PrepareDatabaseAsync(DbConnection connection, CancellationToken cancellationToken) => inner.PrepareDatabaseAsync(connection, cancellationToken);

    public IsolationLevel WriteIsolation => inner.WriteIsolation;

    public string? MigrationLockSql => inner.MigrationLockSql;

    public string CreateMigrationsTableSql => inner.CreateMigrationsTableSql;

    public IReadOnlyList<string> SplitScript(string script) => inner.SplitScript(script);

    public string LimitClause(string parameter) => inner.LimitClause(parameter);

    public bool SingleWriter => inner.SingleWriter;

    public bool IsUniqueViolation(DbException exception) => inner.IsUniqueViolation(exception);

    public bool IsTransient(Exception exception) => inner.IsTransient(exception);

    private sealed class RecordingConnection(RecordingDialect dialect) : DbConnection
    {
        private ConnectionState state = ConnectionState.Closed;

        [AllowNull]
        public override string ConnectionString { get; set; } = "";

        public override string Database => "recording";

        public override string DataSource => "recording";

        public override string ServerVersion => "0";

        public override ConnectionState State => state;

        public override void ChangeDatabase(string databaseName) => throw new NotSupportedException();

        public override void Close() => state = ConnectionState.Closed;

        public override void Open() => state = ConnectionState.Open;

        protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => new RecordingTransaction(this, isolationLevel);

        protected override DbCommand CreateDbCommand() => new RecordingCommand(dialect) { Connection = this };
    }

    private sealed class RecordingTransaction(DbConnection connection, IsolationLevel isolationLevel) : DbTransaction
    {
        public override IsolationLevel IsolationLevel => isolationLevel;

        protected override DbConnection DbConnection => connection;

        public override void Commit()
        {
        }

        public override void Rollback()
        {
        }
    }

    private sealed class RecordingCommand(RecordingDialect dialect) : DbCommand
    {
        private readonly SqlParameterCollection parameters = new SqlCommand().Parameters;

        [AllowNull]
        public override string CommandText { get; set; } = "";

        public override int CommandTimeout { get; set; }

        public override CommandType CommandType { get; set; } = CommandType.Text;

        public override bool DesignTimeVisible { get; set; }

        public override UpdateRowSource UpdatedRowSource { get; set; }

        protected override DbConnection? DbConnection { get; set; }

        protected override DbParameterCollection DbParameterCollection => parameters;

        protected override DbTransaction? DbTransaction { get; set; }

        public override void Cancel()
        {
        }

        public override Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken) =>
            dialect.Frozen ? Never<int>() : base.ExecuteNonQueryAsync(cancellationToken);

        public override Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken) =>
            dialect.Frozen ? Never<object?>() : base.ExecuteScalarAsync(cancellationToken);

        protected override Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken) =>
            dialect.Frozen ? Never<DbDataReader>() : base.ExecuteDbDataReaderAsync(behavior, cancellationToken);

        private Task<T> Never<T>()
        {
            Record();
            return new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously).Task;
        }

        public override int ExecuteNonQuery()
        {
            Record();
            return dialect.AffectedRows;
        }

        public override object? ExecuteScalar()
        {
            Record();
            return 0L;
        }

        public override void Prepare()
        {
        }

        protected override DbParameter CreateDbParameter() => new SqlParameter();

        protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior)
        {
            Record();
            using var empty = new DataTable();
            return empty.CreateDataReader();
        }

        private void Record()
        {
            // A stored-procedure call is recorded as the EXEC it becomes, so that it is parsed too.
            dialect.Commands.Enqueue(CommandType == CommandType.Text ? CommandText : $"EXEC {CommandText}");
        }
    }
}
