using System.Collections.Concurrent;
using System.Threading.Channels;
using Broker.Core.Stores;
using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>
/// Records when clients and admin tokens were last used, off the request path: a request only
/// compares a time in memory and, at most once per <see cref="PlatformOptions.LastUseResolution"/>
/// per key, drops a note in a bounded queue that a background writer drains. A full queue drops the
/// note rather than slow a request; the next use a minute later records it.
/// </summary>
public sealed class UsageRecorder(
    IPlatformClientStore clients, IAdminTokenStore adminTokens, IOptions<PlatformOptions> options, TimeProvider time,
    ILogger<UsageRecorder> logger) : BackgroundService
{
    private enum Kind
    {
        Client,
        AdminToken,
    }

    private readonly ConcurrentDictionary<(Kind, string), DateTimeOffset> lastNoted = new();

    private readonly Channel<(Kind Kind, string Id, DateTimeOffset At)> queue =
        Channel.CreateBounded<(Kind, string, DateTimeOffset)>(new BoundedChannelOptions(10_000)
        {
            FullMode = BoundedChannelFullMode.DropWrite,
            SingleReader = true,
        });

    /// <summary>A client authenticated (token endpoint) or called the API (gateway).</summary>
    public void ClientUsed(string clientId) => Note(Kind.Client, clientId);

    public void AdminTokenUsed(string tokenId) => Note(Kind.AdminToken, tokenId);

    private void Note(Kind kind, string id)
    {
        var now = time.GetUtcNow();
        var resolution = options.Value.LastUseResolution;
        // The common case on the gateway's hot path: noted less than a minute ago, one lookup and nothing else.
        if (lastNoted.TryGetValue((kind, id), out var previous) && now - previous < resolution)
        {
            return;
        }
        NoteAgain(kind, id, now, resolution);
    }

    // Not inline in Note: the lambda's captures would cost the common case an allocation on every call.
    private void NoteAgain(Kind kind, string id, DateTimeOffset now, TimeSpan resolution)
    {
        var noted = lastNoted.AddOrUpdate((kind, id), now, (_, last) => now - last >= resolution ? now : last);
        if (noted == now)
        {
            queue.Writer.TryWrite((kind, id, now));
        }
        // Keys not seen for a while are forgotten, so the map stays the size of the active set.
        if (lastNoted.Count > 100_000)
        {
            foreach (var (key, last) in lastNoted)
            {
                if (now - last >= resolution)
                {
                    lastNoted.TryRemove(key, out _);
                }
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (kind, id, at) in queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await (kind == Kind.Client
                    ? clients.RecordUseAsync(id, at, stoppingToken)
                    : adminTokens.RecordUseAsync(id, at, stoppingToken));
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Last use is a convenience; a failed write must never take the writer down.
                logger.LogWarning(exception, "Could not record the last use of {Kind} {Id}", kind, id);
            }
        }
    }
}
