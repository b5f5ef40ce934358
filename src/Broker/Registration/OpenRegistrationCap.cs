using Broker.Core.Stores;
using Broker.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Registration;

/// <summary>
/// The tenant cap on open-registered clients without a COUNT over the clients table on every
/// registration: the count is read from the store once at first use, then again in the background at
/// most once per <see cref="RefreshInterval"/>, and advanced locally for each registration this
/// instance makes in between. Across instances the cap can therefore be overshot by what the others
/// register within one interval.
/// </summary>
/// <remarks>
/// No registration waits for a refresh after the first: the count grows with the table (about 100 ms
/// at 400,000 clients on SQLite), and while it ran every registration queued behind it, which put the
/// p99 of open registration at 30–70 ms.
/// </remarks>
public sealed class OpenRegistrationCap(IClientStore clients, IOptions<RegistrationOptions> options, TimeProvider time, ILogger<OpenRegistrationCap> logger)
    : IOpenRegistrationCap, IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim refresh = new(1, 1);
    private readonly Lock gate = new();

    // The store's count at the last read, the registrations made here since that read began, and
    // those since the read under way began. A registration the read under way also sees is counted
    // twice until the next one: the cap errs on the safe side.
    private long stored;
    private long registeredSince;
    private long registeredDuringRead;
    private DateTimeOffset readAt = DateTimeOffset.MinValue;

    /// <summary>Whether one more open registration fits under the cap.</summary>
    public async Task<bool> HasRoomAsync(CancellationToken cancellationToken)
    {
        if (readAt == DateTimeOffset.MinValue)
        {
            // Nothing to go on yet: the first registration waits for the count.
            await refresh.WaitAsync(cancellationToken);
            try
            {
                if (readAt == DateTimeOffset.MinValue)
                {
                    await ReadAsync(cancellationToken);
                }
            }
            finally
            {
                refresh.Release();
            }
        }
        else if (time.GetUtcNow() - readAt >= RefreshInterval && refresh.Wait(0, CancellationToken.None))
        {
            LastRefresh = RefreshInBackgroundAsync();
        }
        lock (gate)
        {
            return stored + registeredSince < options.Value.MaxOpenClients;
        }
    }

    /// <summary>The background refresh last started (for tests to wait on).</summary>
    internal Task LastRefresh { get; private set; } = Task.CompletedTask;

    /// <summary>Counts a registration this instance just made.</summary>
    public void Registered()
    {
        lock (gate)
        {
            registeredSince++;
            registeredDuringRead++;
        }
    }

    public void Dispose() => refresh.Dispose();

    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            registeredDuringRead = 0;
        }
        var count = await clients.CountOpenRegisteredAsync(cancellationToken);
        lock (gate)
        {
            stored = count;
            registeredSince = registeredDuringRead;
        }
        readAt = time.GetUtcNow();
    }

    // Holds the refresh semaphore, taken by the caller, until the count is read.
    private async Task RefreshInBackgroundAsync()
    {
        try
        {
            await ReadAsync(CancellationToken.None);
        }
        catch (Exception exception)
        {
            // The database is down or slow: keep counting locally and try again next interval.
            readAt = time.GetUtcNow();
            logger.LogWarning(exception, "Could not refresh the count of open-registered clients; the local count stands");
        }
        finally
        {
            try
            {
                refresh.Release();
            }
            catch (ObjectDisposedException)
            {
                // The broker stopped while the count was read.
            }
        }
    }
}
