using System.Data.Common;
using System.Globalization;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

public sealed class AuditStore(Database database) : IAuditStore
{
    internal const string Columns = "id, at, actor, action, target, source_address, request_id, details";

    /// <summary>The INSERT of <paramref name="entry"/>, to run in another store's transaction.</summary>
    internal static Statement Insert(AuditEntry entry) =>
        new Statement(
            """
            INSERT INTO audit_log (at, actor, action, target, source_address, request_id, details)
            VALUES (@At, @Actor, @Action, @Target, @SourceAddress, @RequestId, @Details)
            """)
            .With("At", DbValues.Time(entry.At))
            .With("Actor", entry.Actor)
            .With("Action", entry.Action)
            .With("Target", entry.Target)
            .With("SourceAddress", entry.SourceAddress)
            .With("RequestId", entry.RequestId)
            .With("Details", entry.Details);

    /// <summary>Appends <paramref name="entry"/> inside another store's transaction.</summary>
    internal static async Task InsertAsync(DbConnection connection, DbTransaction? transaction, AuditEntry entry, CancellationToken cancellationToken)
    {
        var rows = await connection.ExecuteAsync(Insert(entry).Command(transaction, cancellationToken));
        if (rows != 1)
        {
            throw new InvalidOperationException($"audit insert affected {rows} rows instead of 1");
        }
    }

    // Each run appends a row: never retried as a whole.
    public Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync(async (connection, token) =>
        {
            await InsertAsync(connection, null, entry, token);
        }, cancellationToken);

    public async Task<Page<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        var conditions = new List<string>();
        if (query.From is not null) conditions.Add("at >= @From");
        if (query.To is not null) conditions.Add("at < @To");
        if (query.Actor is not null) conditions.Add("actor = @Actor");
        if (query.Action is not null) conditions.Add("action = @Action");
        if (query.Target is not null) conditions.Add("target = @Target");
        if (query.Before is not null) conditions.Add("id < @Before");
        var where = conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);
        return await database.ReadAsync<Page<AuditEntry>>(async (connection, token) =>
        {
            // One row more than asked tells whether another page follows.
            var rows = (await connection.QueryAsync<AuditRow>(new CommandDefinition(
                $"SELECT {Columns} FROM audit_log {where} ORDER BY id DESC {database.Dialect.LimitClause("@Take")}",
                new
                {
                    From = DbValues.Time(query.From),
                    To = DbValues.Time(query.To),
                    query.Actor,
                    query.Action,
                    query.Target,
                    query.Before,
                    Take = query.Limit + 1,
                },
                cancellationToken: token))).ToList();
            var items = rows.Take(query.Limit).Select(row => row.ToEntry()).ToList();
            var next = rows.Count > query.Limit ? items[^1].Id.ToString(CultureInfo.InvariantCulture) : null;
            return new Page<AuditEntry>(items, next);
        }, cancellationToken);
    }

    internal sealed class AuditRow
    {
        public long Id { get; set; }
        public long At { get; set; }
        public string Actor { get; set; } = "";
        public string Action { get; set; } = "";
        public string Target { get; set; } = "";
        public string? SourceAddress { get; set; }
        public string? RequestId { get; set; }
        public string? Details { get; set; }

        public AuditEntry ToEntry() => new()
        {
            Id = Id,
            At = DbValues.Time(At),
            Actor = Actor,
            Action = Action,
            Target = Target,
            SourceAddress = SourceAddress,
            RequestId = RequestId,
            Details = Details,
        };
    }
}
