using Broker.Core.Accounts;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

public sealed class PasswordResetStore(Database database) : IPasswordResetStore
{
    private const string Columns = "token_hash, user_id, created_at, expires_at, used_at";

    private const string UserOfToken = "(SELECT user_id FROM password_resets WHERE token_hash = @tokenHash)";

    public Task CreateAsync(PasswordReset reset, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            [
                new Statement($"INSERT INTO password_resets ({Columns}) VALUES (@TokenHash, @UserId, @CreatedAt, @ExpiresAt, @UsedAt)")
                    .With("TokenHash", reset.TokenHash)
                    .With("UserId", reset.UserId)
                    .With("CreatedAt", DbValues.Time(reset.CreatedAt))
                    .With("ExpiresAt", DbValues.Time(reset.ExpiresAt))
                    .With("UsedAt", DbValues.Time(reset.UsedAt)),
            ],
            cancellationToken);

    public async Task<PasswordReset?> FindAsync(string tokenHash, CancellationToken cancellationToken = default) =>
        (await database.QuerySingleOrDefaultAsync<ResetRow>(
            $"SELECT {Columns} FROM password_resets WHERE token_hash = @tokenHash", new { tokenHash }, cancellationToken))?.ToReset();

    // Decided by the conditional UPDATE of the link, never by an earlier read: racing redemptions queue
    // on the row and only the first finds it unused.
    public Task<bool> RedeemAsync(string tokenHash, string newPasswordHash, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.InTransactionAsync(async (connection, transaction) =>
        {
            var parameters = new { tokenHash, newPasswordHash, Now = DbValues.Time(now) };
            var spent = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE password_resets SET used_at = @Now WHERE token_hash = @tokenHash AND used_at IS NULL AND expires_at > @Now",
                parameters, transaction, cancellationToken: cancellationToken));
            if (spent != 1)
            {
                return (false, false);
            }
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"UPDATE users SET password_hash = @newPasswordHash WHERE user_id = {UserOfToken} AND disabled_at IS NULL",
                parameters, transaction, cancellationToken: cancellationToken));
            if (changed != 1)
            {
                return (false, false);
            }
            // The account's other links die with the password they were sent to replace.
            await connection.ExecuteAsync(new CommandDefinition(
                $"UPDATE password_resets SET used_at = @Now WHERE user_id = {UserOfToken} AND used_at IS NULL",
                parameters, transaction, cancellationToken: cancellationToken));
            return (true, true);
        }, cancellationToken);

    public Task<int> PurgeExpiredAsync(DateTimeOffset before, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync((connection, token) => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM password_resets WHERE expires_at < @Before", new { Before = DbValues.Time(before) }, cancellationToken: token)),
            cancellationToken);

    private sealed class ResetRow
    {
        public string TokenHash { get; set; } = "";
        public string UserId { get; set; } = "";
        public long CreatedAt { get; set; }
        public long ExpiresAt { get; set; }
        public long? UsedAt { get; set; }

        public PasswordReset ToReset() => new()
        {
            TokenHash = TokenHash,
            UserId = UserId,
            CreatedAt = DbValues.Time(CreatedAt),
            ExpiresAt = DbValues.Time(ExpiresAt),
            UsedAt = DbValues.Time(UsedAt),
        };
    }
}
