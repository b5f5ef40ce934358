using System.Data.Common;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

/// <summary>The hourly usage counts: one row per installation and hour, added to in batches.</summary>
public sealed class UsageStore(Database database) : IUsageStore
{
    // PostgreSQL sums BIGINT as NUMERIC: cast back, so every provider hands over the same type.
    private const string Sums =
        "CAST(SUM(admitted) AS BIGINT) AS admitted, CAST(SUM(not_whitelisted) AS BIGINT) AS not_whitelisted, " +
        "CAST(SUM(quota_spent) AS BIGINT) AS quota_spent, CAST(SUM(unavailable) AS BIGINT) AS unavailable";

    public async Task AddAsync(IReadOnlyList<UsageHour> counts, CancellationToken cancellationToken = default)
    {
        if (counts.Count == 0)
        {
            return;
        }
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await database.InTransactionAsync<bool>(async (connection, transaction, token) =>
                {
                    foreach (var count in counts)
                    {
                        var row = new
                        {
                            count.ClientId,
                            count.ParentClientId,
                            Hour = DbValues.Time(count.Hour),
                            count.Admitted,
                            count.NotWhitelisted,
                            count.QuotaSpent,
                            count.Unavailable,
                        };
                        var updated = await connection.ExecuteAsync(new CommandDefinition(
                            """
                            UPDATE usage_hours SET admitted = admitted + @Admitted, not_whitelisted = not_whitelisted + @NotWhitelisted,
                                   quota_spent = quota_spent + @QuotaSpent, unavailable = unavailable + @Unavailable
                             WHERE client_id = @ClientId AND hour_start = @Hour
                            """, row, transaction, cancellationToken: token));
                        if (updated == 0)
                        {
                            await connection.ExecuteAsync(new CommandDefinition(
                                """
                                INSERT INTO usage_hours (client_id, hour_start, parent_client_id, admitted, not_whitelisted, quota_spent, unavailable)
                                VALUES (@ClientId, @Hour, @ParentClientId, @Admitted, @NotWhitelisted, @QuotaSpent, @Unavailable)
                                """, row, transaction, cancellationToken: token));
                        }
                    }
                    return (true, true);
                }, cancellationToken);
                return;
            }
            catch (DbException exception) when (attempt == 0 && database.Dialect.IsUniqueViolation(exception))
            {
                // Another instance created one of the rows meanwhile: the whole batch was undone, and the
                // next pass finds the row and adds to it.
            }
        }
    }

    public Task<IReadOnlyList<UsageHour>> HoursAsync(UsageScope scope, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<UsageHour>>(async (connection, token) =>
        {
            var (column, id) = scope.ClientId is not null ? ("client_id", scope.ClientId) : ("parent_client_id", scope.ParentClientId!);
            var rows = await connection.QueryAsync<HourRow>(new CommandDefinition(
                $"SELECT hour_start AS hour, {Sums} FROM usage_hours WHERE {column} = @Id AND hour_start >= @From AND hour_start < @To GROUP BY hour_start ORDER BY hour_start",
                new { Id = id, From = DbValues.Time(from), To = DbValues.Time(to) }, cancellationToken: token));
            return [.. rows.Select(row => new UsageHour
            {
                ClientId = scope.ClientId ?? "",
                ParentClientId = scope.ParentClientId ?? "",
                Hour = DbValues.Time(row.Hour),
                Admitted = row.Admitted,
                NotWhitelisted = row.NotWhitelisted,
                QuotaSpent = row.QuotaSpent,
                Unavailable = row.Unavailable,
            })];
        }, cancellationToken);

    private sealed class HourRow
    {
        public long Hour { get; set; }
        public long Admitted { get; set; }
        public long NotWhitelisted { get; set; }
        public long QuotaSpent { get; set; }
        public long Unavailable { get; set; }
    }
}
