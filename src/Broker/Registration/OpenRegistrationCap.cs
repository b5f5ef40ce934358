using Broker.Core.Stores;
using Microsoft.Extensions.Options;

namespace Broker.Registration;

/// <summary>
/// The tenant cap on open-registered clients without a COUNT over the clients table on every
/// registration: the count is read from the store at most once per <see cref="RefreshInterval"/>
/// and advanced locally for each registration this instance makes in between. Across instances the
/// cap can therefore be overshot by what the others register within one interval.
/// </summary>
public sealed class OpenRegistrationCap(IClientStore clients, IOptions<RegistrationOptions> options, TimeProvider time) : IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim refresh = new(1, 1);
    private long count;
    private DateTimeOffset readAt = DateTimeOffset.MinValue;

    /// <summary>Whether one more open registration fits under the cap.</summary>
    public async Task<bool> HasRoomAsync(CancellationToken cancellationToken)
    {
        if (time.GetUtcNow() - readAt >= RefreshInterval)
        {
            await refresh.WaitAsync(cancellationToken);
            try
            {
                if (time.GetUtcNow() - readAt >= RefreshInterval)
                {
                    Interlocked.Exchange(ref count, await clients.CountOpenRegisteredAsync(cancellationToken));
                    readAt = time.GetUtcNow();
                }
            }
            finally
            {
                refresh.Release();
            }
        }
        return Interlocked.Read(ref count) < options.Value.MaxOpenClients;
    }

    /// <summary>Counts a registration this instance just made.</summary>
    public void Registered() => Interlocked.Increment(ref count);

    public void Dispose() => refresh.Dispose();
}
