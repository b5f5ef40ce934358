using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

public sealed class TrustedIssuerStore(Database database) : ITrustedIssuerStore
{
    private const string Columns = "issuer, vendor_name, jwks, created_at";

    // The primary key decides a race between two adds of one issuer: the loser writes nothing, its audit entry included.
    public async Task<bool> CreateAsync(TrustedIssuer issuer, AuditEntry audit, CancellationToken cancellationToken = default)
    {
        try
        {
            return await database.WriteAsync(
            [
                new Statement($"INSERT INTO trusted_issuers ({Columns}) VALUES (@Issuer, @VendorName, @Jwks, @CreatedAt)")
                    .With("Issuer", issuer.Issuer).With("VendorName", issuer.VendorName).With("Jwks", issuer.Jwks)
                    .With("CreatedAt", DbValues.Time(issuer.CreatedAt)),
                AuditStore.Insert(audit),
            ], cancellationToken);
        }
        catch (System.Data.Common.DbException exception) when (database.Dialect.IsUniqueViolation(exception))
        {
            return false;
        }
    }

    public async Task<TrustedIssuer?> FindAsync(string issuer, CancellationToken cancellationToken = default) =>
        (await database.QuerySingleOrDefaultAsync<IssuerRow>(
            $"SELECT {Columns} FROM trusted_issuers WHERE issuer = @issuer", new { issuer }, cancellationToken))?.ToIssuer();

    public Task<IReadOnlyList<TrustedIssuer>> ListAsync(CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<TrustedIssuer>>(async (connection, token) =>
        {
            var rows = await connection.QueryAsync<IssuerRow>(new CommandDefinition(
                $"SELECT {Columns} FROM trusted_issuers ORDER BY issuer", cancellationToken: token));
            return rows.Select(row => row.ToIssuer()).ToList();
        }, cancellationToken);

    // Deleting nothing (already removed) stops the write before its audit entry.
    public Task<bool> DeleteAsync(string issuer, AuditEntry audit, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
        [
            new Statement("DELETE FROM trusted_issuers WHERE issuer = @Issuer").With("Issuer", issuer),
            AuditStore.Insert(audit),
        ], cancellationToken);

    private sealed class IssuerRow
    {
        public string Issuer { get; set; } = "";
        public string VendorName { get; set; } = "";
        public string Jwks { get; set; } = "{}";
        public long CreatedAt { get; set; }

        public TrustedIssuer ToIssuer() => new() { Issuer = Issuer, VendorName = VendorName, Jwks = Jwks, CreatedAt = DbValues.Time(CreatedAt) };
    }
}
