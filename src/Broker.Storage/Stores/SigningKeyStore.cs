using System.Data.Common;
using Broker.Core.Stores;
using Broker.Core.Tokens;
using Dapper;

namespace Broker.Storage.Stores;

public sealed class SigningKeyStore(Database database) : ISigningKeyStore
{
    private const string Columns = "generation, key_id, algorithm, public_jwk, protected_private_key, created_at, signs_from";

    public async Task<IReadOnlyList<SigningKey>> ListAsync(CancellationToken cancellationToken = default) =>
        (await database.ReadAsync<IReadOnlyList<KeyRow>>(async (connection, token) =>
            (await connection.QueryAsync<KeyRow>(new CommandDefinition(
                $"SELECT {Columns} FROM signing_keys ORDER BY generation", cancellationToken: token))).ToList(),
            cancellationToken)).Select(row => row.ToKey()).ToList();

    // The generation is the primary key: of racing inserts of one generation the database keeps one.
    public async Task<bool> AddAsync(SigningKey key, CancellationToken cancellationToken = default)
    {
        try
        {
            return await database.WriteAsync(
                [
                    new Statement($"INSERT INTO signing_keys ({Columns}) VALUES (@Generation, @KeyId, @Algorithm, @PublicJwk, @ProtectedPrivateKey, @CreatedAt, @SignsFrom)")
                        .With("Generation", key.Generation)
                        .With("KeyId", key.KeyId)
                        .With("Algorithm", key.Algorithm)
                        .With("PublicJwk", key.PublicJwk)
                        .With("ProtectedPrivateKey", key.ProtectedPrivateKey)
                        .With("CreatedAt", DbValues.Time(key.CreatedAt))
                        .With("SignsFrom", DbValues.Time(key.SignsFrom)),
                ],
                cancellationToken);
        }
        catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
        {
            return false;
        }
    }

    public Task<int> DeleteThroughAsync(long generation, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync((connection, token) => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM signing_keys WHERE generation <= @generation", new { generation }, cancellationToken: token)),
            cancellationToken);

    private sealed class KeyRow
    {
        public long Generation { get; set; }
        public string KeyId { get; set; } = "";
        public string Algorithm { get; set; } = "";
        public string PublicJwk { get; set; } = "";
        public string ProtectedPrivateKey { get; set; } = "";
        public long CreatedAt { get; set; }
        public long SignsFrom { get; set; }

        public SigningKey ToKey() => new()
        {
            Generation = Generation,
            KeyId = KeyId,
            Algorithm = Algorithm,
            PublicJwk = PublicJwk,
            ProtectedPrivateKey = ProtectedPrivateKey,
            CreatedAt = DbValues.Time(CreatedAt),
            SignsFrom = DbValues.Time(SignsFrom),
        };
    }
}
