using System.Collections.Concurrent;

namespace Broker.Installation;

/// <summary>
/// Installation tokens whose spending is under way, for the 409 of the IETF idempotency draft. The
/// default, <see cref="InProcessInFlightSpends"/>, knows this instance's; a store shared by every
/// instance would know them all.
/// </summary>
public interface IInFlightSpends
{
    /// <summary>Marks the token as being spent; false when it already is.</summary>
    ValueTask<bool> TryBeginAsync(string tokenHash, CancellationToken cancellationToken);

    /// <summary>Ends what <see cref="TryBeginAsync"/> began, whatever became of the request.</summary>
    ValueTask EndAsync(string tokenHash);
}

/// <summary>The spends under way in this instance.</summary>
public sealed class InProcessInFlightSpends : IInFlightSpends
{
    private readonly ConcurrentDictionary<string, byte> spending = new(StringComparer.Ordinal);

    public ValueTask<bool> TryBeginAsync(string tokenHash, CancellationToken cancellationToken) =>
        ValueTask.FromResult(spending.TryAdd(tokenHash, 0));

    public ValueTask EndAsync(string tokenHash)
    {
        spending.TryRemove(tokenHash, out _);
        return ValueTask.CompletedTask;
    }
}
