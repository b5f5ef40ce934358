using System.Data.Common;
using Broker.Core.Accounts;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

public sealed partial class UserStore(Database database) : IUserStore
{
    private const string Columns = "user_id, email, normalized_email, password_hash, created_at, disabled_at";

    public Task<User?> FindByEmailAsync(string normalizedEmail, CancellationToken cancellationToken = default) =>
        FindWhereAsync("normalized_email = @value", normalizedEmail, cancellationToken);

    public Task<User?> FindAsync(string userId, CancellationToken cancellationToken = default) =>
        FindWhereAsync("user_id = @value", userId, cancellationToken);

    // An insert run twice would find its own row and answer "taken": never retried as a whole.
    public Task<bool> CreateAsync(User user, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync(async (connection, token) =>
        {
            try
            {
                var rows = await connection.ExecuteAsync(new CommandDefinition(
                    $"INSERT INTO users ({Columns}) VALUES (@UserId, @Email, @NormalizedEmail, @PasswordHash, @CreatedAt, @DisabledAt)",
                    new
                    {
                        user.UserId,
                        user.Email,
                        user.NormalizedEmail,
                        user.PasswordHash,
                        CreatedAt = DbValues.Time(user.CreatedAt),
                        DisabledAt = DbValues.Time(user.DisabledAt),
                    },
                    cancellationToken: token));
                return rows == 1;
            }
            catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
            {
                return false;
            }
        }, cancellationToken);

    private async Task<User?> FindWhereAsync(string condition, string value, CancellationToken cancellationToken)
    {
        var row = await database.QuerySingleOrDefaultAsync<UserRow>($"SELECT {Columns} FROM users WHERE {condition}", new { value }, cancellationToken);
        return row?.ToUser();
    }

    private sealed class UserRow
    {
        public string UserId { get; set; } = "";
        public string Email { get; set; } = "";
        public string NormalizedEmail { get; set; } = "";
        public string PasswordHash { get; set; } = "";
        public long CreatedAt { get; set; }
        public long? DisabledAt { get; set; }

        public User ToUser() => new()
        {
            UserId = UserId,
            Email = Email,
            NormalizedEmail = NormalizedEmail,
            PasswordHash = PasswordHash,
            CreatedAt = DbValues.Time(CreatedAt),
            DisabledAt = DbValues.Time(DisabledAt),
        };
    }
}
