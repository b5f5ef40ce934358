using System.Collections.Concurrent;
using Broker.Hosting;
using StackExchange.Redis;

namespace Broker.Installation;

/// <summary>
/// The spends under way on every instance, in Redis: a spend marks its token with <c>SET NX</c> and a
/// value of its own, and removes the mark only while it is still its own. An instance that dies
/// mid-spend leaves a mark that lapses after <see cref="MarkLifetime"/>. While Redis cannot answer, a
/// spend is marked in this instance only: the spending itself stays once (the database's conditional
/// update decides it); only a concurrent retry's 409 becomes a wait for the other's outcome.
/// </summary>
public sealed class RedisInFlightSpends(RedisLimitCalls calls) : IInFlightSpends
{
    /// <summary>Longer than a spend can take: the store's operations are bounded by <c>Storage:Timeout</c> (15 s by default).</summary>
    public static readonly TimeSpan MarkLifetime = TimeSpan.FromMinutes(1);

    // KEYS[1] the mark; ARGV[1] the value the spend set.
    private const string RemoveOwnMark = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private readonly InProcessInFlightSpends local = new();

    // The value of each mark this instance set in Redis, by token hash.
    private readonly ConcurrentDictionary<string, string> marks = new(StringComparer.Ordinal);

    public async ValueTask<bool> TryBeginAsync(string tokenHash, CancellationToken cancellationToken)
    {
        var value = Guid.NewGuid().ToString("N");
        var key = calls.Key("spending", tokenHash);
        var answer = await calls.RunAsync(database => database.StringSetAsync(key, value, MarkLifetime, When.NotExists), cancellationToken);
        if (!answer.Answered)
        {
            return await local.TryBeginAsync(tokenHash, cancellationToken);
        }
        if (!answer.Value)
        {
            return false;
        }
        // Two spends of one token on this instance: Redis refused the second, so this is the first.
        marks[tokenHash] = value;
        return true;
    }

    public async ValueTask EndAsync(string tokenHash)
    {
        if (!marks.TryRemove(tokenHash, out var value))
        {
            await local.EndAsync(tokenHash);
            return;
        }
        RedisKey[] keys = [calls.Key("spending", tokenHash)];
        RedisValue[] arguments = [value];
        // Unanswered: the mark lapses by itself.
        await calls.RunAsync(database => database.ScriptEvaluateAsync(RemoveOwnMark, keys, arguments), CancellationToken.None);
    }
}
