using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

public sealed class GrantStore(Database database) : IGrantStore
{
    private const string CodeColumns =
        "code_hash, client_id, user_id, redirect_uri, scope, code_challenge, created_at, expires_at, redeemed_at";

    private const string TokenColumns =
        "token_hash, client_id, user_id, scope, purpose, code_hash, origin, created_at, expires_at, revoked_at, " +
        "spent_at, idempotency_key, request_fingerprint, child_client_id";

    private const string InsertTokenSql =
        $"INSERT INTO access_tokens ({TokenColumns}) VALUES (@TokenHash, @ClientId, @UserId, @Scope, @Purpose, @CodeHash, " +
        "@Origin, @CreatedAt, @ExpiresAt, @RevokedAt, @SpentAt, @IdempotencyKey, @RequestFingerprint, @ChildClientId)";

    // The writes of the installation flow go through Database.WriteAsync: on SQLite, writes arriving
    // together share one transaction (group commit) instead of queueing on the file's write lock, where
    // SQLite's busy handler sleeps in steps of 1 to 100 ms.
    public async Task CreateCodeAsync(AuthorizationCode code, CancellationToken cancellationToken = default) =>
        EnsureOneRow(await database.WriteAsync(
            [
                new Statement(
                    $"INSERT INTO authorization_codes ({CodeColumns}) VALUES (@CodeHash, @ClientId, @UserId, @RedirectUri, @Scope, @CodeChallenge, @CreatedAt, @ExpiresAt, @RedeemedAt)")
                    .With("CodeHash", code.CodeHash)
                    .With("ClientId", code.ClientId)
                    .With("UserId", code.UserId)
                    .With("RedirectUri", code.RedirectUri)
                    .With("Scope", code.Scope)
                    .With("CodeChallenge", code.CodeChallenge)
                    .With("CreatedAt", DbValues.Time(code.CreatedAt))
                    .With("ExpiresAt", DbValues.Time(code.ExpiresAt))
                    .With("RedeemedAt", DbValues.Time(code.RedeemedAt)),
            ],
            cancellationToken), "authorization code insert");

    public async Task<AuthorizationCode?> FindCodeAsync(string codeHash, CancellationToken cancellationToken = default) =>
        (await database.QuerySingleOrDefaultAsync<CodeRow>(
            $"SELECT {CodeColumns} FROM authorization_codes WHERE code_hash = @codeHash", new { codeHash }, cancellationToken))?.ToCode();

    public Task<bool> RedeemCodeAsync(string codeHash, AccessToken token, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        // The code's conditional UPDATE decides: of racing redemptions one changes the row, and only its token is stored.
        database.WriteAsync(
            [
                new Statement("UPDATE authorization_codes SET redeemed_at = @Now WHERE code_hash = @CodeHash AND redeemed_at IS NULL")
                    .With("Now", DbValues.Time(now)).With("CodeHash", codeHash),
                InsertToken(token),
            ],
            cancellationToken);

    public Task RevokeIssuedForCodeAsync(string codeHash, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.InTransactionAsync(async (connection, transaction) =>
        {
            var parameters = new { codeHash, Now = DbValues.Time(now) };
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE clients SET revoked_at = @Now, version = version + 1
                 WHERE revoked_at IS NULL
                   AND client_id IN (SELECT child_client_id FROM access_tokens WHERE code_hash = @codeHash AND child_client_id IS NOT NULL)
                """,
                parameters, transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE access_tokens SET revoked_at = @Now WHERE code_hash = @codeHash AND revoked_at IS NULL",
                parameters, transaction, cancellationToken: cancellationToken));
            return (true, true);
        }, cancellationToken);

    public async Task<AccessToken?> FindTokenAsync(string tokenHash, CancellationToken cancellationToken = default) =>
        (await database.QuerySingleOrDefaultAsync<TokenRow>(
            $"SELECT {TokenColumns} FROM access_tokens WHERE token_hash = @tokenHash", new { tokenHash }, cancellationToken))?.ToToken();

    public async Task CreateTokenAsync(AccessToken token, CancellationToken cancellationToken = default) =>
        EnsureOneRow(await database.WriteAsync([InsertToken(token)], cancellationToken), "access token insert");

    public async Task<SpendOutcome> SpendInstallationTokenAsync(
        string tokenHash, string? idempotencyKey, string requestFingerprint, Client child, DateTimeOffset now,
        AuditEntry? audit = null, CancellationToken cancellationToken = default)
    {
        List<Statement> statements =
        [
            ClientTable.Insert(child),
            // Not spent by this write (spent, revoked or expired meanwhile): the whole write is undone, the
            // child with it, so that exactly one caller ever gets one.
            new Statement(
                """
                UPDATE access_tokens
                   SET spent_at = @Now, idempotency_key = @IdempotencyKey, request_fingerprint = @RequestFingerprint,
                       child_client_id = @ChildClientId
                 WHERE token_hash = @TokenHash AND purpose = @Purpose
                   AND spent_at IS NULL AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @Now)
                """)
                .With("Now", DbValues.Time(now))
                .With("IdempotencyKey", idempotencyKey)
                .With("RequestFingerprint", requestFingerprint)
                .With("ChildClientId", child.ClientId)
                .With("TokenHash", tokenHash)
                .With("Purpose", TokenRow.PurposeName(TokenPurpose.Installation)),
        ];
        if (audit is not null)
        {
            statements.Add(AuditStore.Insert(audit));
        }
        return await database.WriteAsync(statements, cancellationToken) ? SpendOutcome.Created : SpendOutcome.TokenNotUsable;
    }

    private static Statement InsertToken(AccessToken token)
    {
        var row = TokenRow.From(token);
        return new Statement(InsertTokenSql)
            .With("TokenHash", row.TokenHash)
            .With("ClientId", row.ClientId)
            .With("UserId", row.UserId)
            .With("Scope", row.Scope)
            .With("Purpose", row.Purpose)
            .With("CodeHash", row.CodeHash)
            .With("Origin", row.Origin)
            .With("CreatedAt", row.CreatedAt)
            .With("ExpiresAt", row.ExpiresAt)
            .With("RevokedAt", row.RevokedAt)
            .With("SpentAt", row.SpentAt)
            .With("IdempotencyKey", row.IdempotencyKey)
            .With("RequestFingerprint", row.RequestFingerprint)
            .With("ChildClientId", row.ChildClientId);
    }

    private static void EnsureOneRow(bool written, string what) => EnsureOneRow(written ? 1 : 0, what);

    private static void EnsureOneRow(int rows, string what)
    {
        if (rows != 1)
        {
            throw new InvalidOperationException($"{what} affected {rows} rows instead of 1");
        }
    }

    private sealed class CodeRow
    {
        public string CodeHash { get; set; } = "";
        public string ClientId { get; set; } = "";
        public string UserId { get; set; } = "";
        public string RedirectUri { get; set; } = "";
        public string Scope { get; set; } = "";
        public string? CodeChallenge { get; set; }
        public long CreatedAt { get; set; }
        public long ExpiresAt { get; set; }
        public long? RedeemedAt { get; set; }

        public AuthorizationCode ToCode() => new()
        {
            CodeHash = CodeHash,
            ClientId = ClientId,
            UserId = UserId,
            RedirectUri = RedirectUri,
            Scope = Scope,
            CodeChallenge = CodeChallenge,
            CreatedAt = DbValues.Time(CreatedAt),
            ExpiresAt = DbValues.Time(ExpiresAt),
            RedeemedAt = DbValues.Time(RedeemedAt),
        };
    }

    private sealed class TokenRow
    {
        public string TokenHash { get; set; } = "";
        public string ClientId { get; set; } = "";
        public string? UserId { get; set; }
        public string Scope { get; set; } = "";
        public string Purpose { get; set; } = "";
        public string? CodeHash { get; set; }
        public string? Origin { get; set; }
        public long CreatedAt { get; set; }
        public long? ExpiresAt { get; set; }
        public long? RevokedAt { get; set; }
        public long? SpentAt { get; set; }
        public string? IdempotencyKey { get; set; }
        public string? RequestFingerprint { get; set; }
        public string? ChildClientId { get; set; }

        public static string PurposeName(TokenPurpose purpose) => purpose.ToString().ToLowerInvariant();

        public static TokenRow From(AccessToken token) => new()
        {
            TokenHash = token.TokenHash,
            ClientId = token.ClientId,
            UserId = token.UserId,
            Scope = token.Scope,
            Purpose = PurposeName(token.Purpose),
            CodeHash = token.CodeHash,
            Origin = token.Origin,
            CreatedAt = DbValues.Time(token.CreatedAt),
            ExpiresAt = DbValues.Time(token.ExpiresAt),
            RevokedAt = DbValues.Time(token.RevokedAt),
            SpentAt = DbValues.Time(token.SpentAt),
            IdempotencyKey = token.IdempotencyKey,
            RequestFingerprint = token.RequestFingerprint,
            ChildClientId = token.ChildClientId,
        };

        public AccessToken ToToken() => new()
        {
            TokenHash = TokenHash,
            ClientId = ClientId,
            UserId = UserId,
            Scope = Scope,
            Purpose = Enum.Parse<TokenPurpose>(Purpose, ignoreCase: true),
            CodeHash = CodeHash,
            Origin = Origin,
            CreatedAt = DbValues.Time(CreatedAt),
            ExpiresAt = DbValues.Time(ExpiresAt),
            RevokedAt = DbValues.Time(RevokedAt),
            SpentAt = DbValues.Time(SpentAt),
            IdempotencyKey = IdempotencyKey,
            RequestFingerprint = RequestFingerprint,
            ChildClientId = ChildClientId,
        };
    }
}
