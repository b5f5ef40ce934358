using Broker.Core.Platform;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

public sealed class AdminTokenStore(Database database) : IAdminTokenStore
{
    private const string Columns = "token_id, name, token_hash, fingerprint, scopes, created_at, last_used_at, revoked_at";

    public Task CreateAsync(AdminToken token, AuditEntry audit, CancellationToken cancellationToken = default) =>
        database.InTransactionAsync(async (connection, transaction) =>
        {
            var rows = await connection.ExecuteAsync(new CommandDefinition(
                $"INSERT INTO admin_tokens ({Columns}) VALUES (@TokenId, @Name, @TokenHash, @Fingerprint, @Scopes, @CreatedAt, @LastUsedAt, @RevokedAt)",
                new
                {
                    token.TokenId,
                    token.Name,
                    token.TokenHash,
                    token.Fingerprint,
                    Scopes = DbValues.List(token.Scopes),
                    CreatedAt = DbValues.Time(token.CreatedAt),
                    LastUsedAt = DbValues.Time(token.LastUsedAt),
                    RevokedAt = DbValues.Time(token.RevokedAt),
                },
                transaction, cancellationToken: cancellationToken));
            if (rows != 1)
            {
                throw new InvalidOperationException($"admin token insert affected {rows} rows instead of 1");
            }
            await AuditStore.InsertAsync(connection, transaction, audit, cancellationToken);
            return (true, true);
        }, cancellationToken);

    public async Task<AdminToken?> FindByHashAsync(string tokenHash, CancellationToken cancellationToken = default) =>
        (await database.QuerySingleOrDefaultAsync<TokenRow>(
            $"SELECT {Columns} FROM admin_tokens WHERE token_hash = @tokenHash", new { tokenHash }, cancellationToken))?.ToToken();

    public Task<IReadOnlyList<AdminToken>> ListAsync(CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<AdminToken>>(async (connection, token) =>
        {
            var rows = await connection.QueryAsync<TokenRow>(new CommandDefinition(
                $"SELECT {Columns} FROM admin_tokens ORDER BY created_at DESC, token_id DESC", cancellationToken: token));
            return rows.Select(row => row.ToToken()).ToList();
        }, cancellationToken);

    public Task<bool> RevokeAsync(string tokenId, DateTimeOffset now, AuditEntry audit, CancellationToken cancellationToken = default) =>
        database.InTransactionAsync(async (connection, transaction) =>
        {
            var rows = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE admin_tokens SET revoked_at = @Now WHERE token_id = @tokenId AND revoked_at IS NULL",
                new { tokenId, Now = DbValues.Time(now) }, transaction, cancellationToken: cancellationToken));
            if (rows != 1)
            {
                return (false, false);
            }
            await AuditStore.InsertAsync(connection, transaction, audit, cancellationToken);
            return (true, true);
        }, cancellationToken);

    // Only ever moves last_used_at forward to @At: a second run changes nothing, so it is retried as a whole.
    public Task RecordUseAsync(string tokenId, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        database.ReadAsync((connection, token) => connection.ExecuteAsync(new CommandDefinition(
            "UPDATE admin_tokens SET last_used_at = @At WHERE token_id = @tokenId AND (last_used_at IS NULL OR last_used_at < @At)",
            new { tokenId, At = DbValues.Time(at) }, cancellationToken: token)), cancellationToken);

    private sealed class TokenRow
    {
        public string TokenId { get; set; } = "";
        public string Name { get; set; } = "";
        public string TokenHash { get; set; } = "";
        public string Fingerprint { get; set; } = "";
        public string Scopes { get; set; } = "[]";
        public long CreatedAt { get; set; }
        public long? LastUsedAt { get; set; }
        public long? RevokedAt { get; set; }

        public AdminToken ToToken() => new()
        {
            TokenId = TokenId,
            Name = Name,
            TokenHash = TokenHash,
            Fingerprint = Fingerprint,
            Scopes = DbValues.List(Scopes),
            CreatedAt = DbValues.Time(CreatedAt),
            LastUsedAt = DbValues.Time(LastUsedAt),
            RevokedAt = DbValues.Time(RevokedAt),
        };
    }
}
