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

    public Task CreateCodeAsync(AuthorizationCode code, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync(async (connection, token) =>
        {
            var rows = await connection.ExecuteAsync(new CommandDefinition(
                $"INSERT INTO authorization_codes ({CodeColumns}) VALUES (@CodeHash, @ClientId, @UserId, @RedirectUri, @Scope, @CodeChallenge, @CreatedAt, @ExpiresAt, @RedeemedAt)",
                new
                {
                    code.CodeHash,
                    code.ClientId,
                    code.UserId,
                    code.RedirectUri,
                    code.Scope,
                    code.CodeChallenge,
                    CreatedAt = DbValues.Time(code.CreatedAt),
                    ExpiresAt = DbValues.Time(code.ExpiresAt),
                    RedeemedAt = DbValues.Time(code.RedeemedAt),
                },
                cancellationToken: token));
            EnsureOneRow(rows, "authorization code insert");
        }, cancellationToken);

    public async Task<AuthorizationCode?> FindCodeAsync(string codeHash, CancellationToken cancellationToken = default) =>
        (await database.QuerySingleOrDefaultAsync<CodeRow>(
            $"SELECT {CodeColumns} FROM authorization_codes WHERE code_hash = @codeHash", new { codeHash }, cancellationToken))?.ToCode();

    public Task<bool> RedeemCodeAsync(string codeHash, AccessToken token, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.InTransactionAsync(async (connection, transaction) =>
        {
            var redeemed = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE authorization_codes SET redeemed_at = @Now WHERE code_hash = @codeHash AND redeemed_at IS NULL",
                new { codeHash, Now = DbValues.Time(now) }, transaction, cancellationToken: cancellationToken));
            if (redeemed != 1)
            {
                return (false, false);
            }
            var inserted = await connection.ExecuteAsync(new CommandDefinition(
                InsertTokenSql, TokenRow.From(token), transaction, cancellationToken: cancellationToken));
            EnsureOneRow(inserted, "access token insert");
            return (true, true);
        }, cancellationToken);

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

    public Task CreateTokenAsync(AccessToken token, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync(async (connection, budget) =>
            EnsureOneRow(await connection.ExecuteAsync(new CommandDefinition(InsertTokenSql, TokenRow.From(token), cancellationToken: budget)), "access token insert"),
            cancellationToken);

    public Task<SpendOutcome> SpendInstallationTokenAsync(
        string tokenHash, string? idempotencyKey, string requestFingerprint, Client child, DateTimeOffset now,
        AuditEntry? audit = null, CancellationToken cancellationToken = default) =>
        database.InTransactionAsync(async (connection, transaction) =>
        {
            var inserted = await connection.ExecuteAsync(ClientTable.Insert(child).Command(transaction, cancellationToken));
            EnsureOneRow(inserted, "child client insert");
            var spent = await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE access_tokens
                   SET spent_at = @Now, idempotency_key = @idempotencyKey, request_fingerprint = @requestFingerprint,
                       child_client_id = @ChildClientId
                 WHERE token_hash = @tokenHash AND purpose = @Purpose
                   AND spent_at IS NULL AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @Now)
                """,
                new
                {
                    tokenHash,
                    idempotencyKey,
                    requestFingerprint,
                    ChildClientId = child.ClientId,
                    Purpose = TokenRow.PurposeName(TokenPurpose.Installation),
                    Now = DbValues.Time(now),
                },
                transaction, cancellationToken: cancellationToken));
            // Not spent by us: roll the child back, so that exactly one caller ever gets one.
            if (spent != 1)
            {
                return (SpendOutcome.TokenNotUsable, false);
            }
            if (audit is not null)
            {
                await AuditStore.InsertAsync(connection, transaction, audit, cancellationToken);
            }
            return (SpendOutcome.Created, true);
        }, cancellationToken);

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
