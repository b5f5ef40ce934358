using Broker.Core.Stores;
using Broker.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Registration;

/// <summary>
/// The cap on open-registered clients counted once for every instance: Redis holds the tenant's count,
/// read from the database at most once per <see cref="OpenRegistrationCap.RefreshInterval"/> (the key's
/// lifetime) and raised by each registration in between, and a registration takes its place under the
/// cap in the same script that checks it, so instances asking together never pass the cap between them.
/// A registration that then fails (its name taken) holds its place until the next read. The cap can be
/// overshot only by registrations under way at the moment the count is read again (a read sees those
/// already committed; one committed after it is missed until the next).
/// While Redis cannot answer, the in-process cap decides (<see cref="RedisLimitCalls"/>).
/// </summary>
public sealed class RedisOpenRegistrationCap(
    RedisLimitCalls calls, IClientStore clients, IOptions<RegistrationOptions> options, OpenRegistrationCap local) : IOpenRegistrationCap
{
    // KEYS[1] the count; ARGV[1] the cap. 1: counted one more; 0: full; -1: no count (read it again).
    private const string Script = """
        local count = redis.call('GET', KEYS[1])
        if not count then return -1 end
        if tonumber(count) >= tonumber(ARGV[1]) then return 0 end
        redis.call('INCR', KEYS[1])
        return 1
        """;

    private readonly RedisKey key = calls.Key("open-registered-clients", "tenant");

    public async Task<bool> HasRoomAsync(CancellationToken cancellationToken)
    {
        RedisKey[] keys = [key];
        RedisValue[] arguments = [options.Value.MaxOpenClients];
        var answer = await calls.RunAsync(database => database.ScriptEvaluateAsync(Script, keys, arguments), cancellationToken);
        if (answer.Answered && (long)answer.Value < 0)
        {
            // The count lapsed: read it again; an instance that set it meanwhile keeps its own (NX).
            var count = await clients.CountOpenRegisteredAsync(cancellationToken);
            var set = await calls.RunAsync(
                database => database.StringSetAsync(key, count, OpenRegistrationCap.RefreshInterval, When.NotExists), cancellationToken);
            answer = set.Answered
                ? await calls.RunAsync(database => database.ScriptEvaluateAsync(Script, keys, arguments), cancellationToken)
                : default;
        }
        return answer.Answered && (long)answer.Value >= 0
            ? (long)answer.Value == 1
            : await local.HasRoomAsync(cancellationToken);
    }

    // Redis counted it when it made room; the in-process cap counts it too, for when Redis is away.
    public void Registered() => local.Registered();
}
