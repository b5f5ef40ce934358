using System.Collections.Concurrent;
using System.Text.Json;
using Broker.Core.Platform;
using Broker.Core.Security;
using Broker.Core.Webhooks;
using Broker.Hosting;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Broker.Webhooks;

/// <summary>
/// Delivers the audit log to each subscription, in id order, at least once. Runs on every instance:
/// a subscription is delivered by the instance holding its lease, and every write of the delivery is
/// conditional on that lease and on the cursor read, so two instances never deliver it at once and a
/// replay in between wins. The cursor moves only after the receiver answered 2xx: a crash between
/// the two delivers the entry again (same <c>webhook-id</c>), never loses it.
/// </summary>
public sealed class WebhookDispatcher(
    IWebhookStore store, WebhookSender sender, WebhookSecrets secrets, IOptions<WebhookOptions> options,
    TimeProvider time, ILogger<WebhookDispatcher> logger, BrokerTelemetry telemetry) : BackgroundService
{
    private const int BatchSize = 100;

    private static readonly JsonSerializerOptions PayloadJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    // Unique per process: a restarted instance does not inherit its predecessor's leases (they expire).
    private readonly string owner = "instance-" + Secret.NewToken()[..16];

    private WebhookOptions Options => options.Value;

    // This instance's deliveries under way, by subscription: a slow or retrying receiver holds up only its own.
    private readonly ConcurrentDictionary<string, Task> running = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                _ = await StartPassAsync(stoppingToken);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                // The database away, most likely: the next pass tries again, nothing was lost.
                logger.LogWarning(exception, "webhook delivery pass failed; retrying in {PollInterval}", Options.PollInterval);
            }
            try
            {
                // Real time, not the injected clock: a pause is a duration to wait, not a time to record.
                await Task.Delay(Options.PollInterval, TimeProvider.System, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One look at every subscription, waiting for the deliveries it starts (the tests' pass).</summary>
    internal async Task PassAsync(CancellationToken cancellationToken) => await await StartPassAsync(cancellationToken);

    /// <summary>
    /// Starts a delivery for each unparked subscription this instance is not already delivering; the
    /// task of those started. Whether a delivery goes ahead is the lease's to decide, not this list's.
    /// </summary>
    private async Task<Task> StartPassAsync(CancellationToken cancellationToken)
    {
        foreach (var (id, task) in running)
        {
            if (task.IsCompleted)
            {
                running.TryRemove(new KeyValuePair<string, Task>(id, task));
            }
        }
        var subscriptions = await store.ListAsync(cancellationToken);
        telemetry.WebhooksParked(subscriptions.Count(subscription => subscription.ParkedAt is not null));
        var started = new List<Task>();
        foreach (var subscription in subscriptions.Where(subscription => subscription.ParkedAt is null))
        {
            if (running.ContainsKey(subscription.Id))
            {
                continue;
            }
            var delivery = DeliverLeasedAsync(subscription.Id, cancellationToken);
            running[subscription.Id] = delivery;
            started.Add(delivery);
        }
        return Task.WhenAll(started);
    }

    private async Task DeliverLeasedAsync(string id, CancellationToken cancellationToken)
    {
        // Off the loop's path from here: the first await returns the task to the pass.
        await Task.Yield();
        try
        {
            var now = time.GetUtcNow();
            if (await store.TryLeaseAsync(id, owner, now, now + Options.LeaseDuration, cancellationToken) is not { } subscription)
            {
                return;
            }
            try
            {
                await DeliverAsync(subscription, cancellationToken);
            }
            finally
            {
                // Released even when stopping, so another instance takes over at once rather than at expiry.
                await store.ReleaseLeaseAsync(id, owner, CancellationToken.None);
            }
        }
        catch (Exception exception)
        {
            // The database away, most likely: the cursor is where the last success left it; a later pass
            // resumes. Nobody awaits this task, so nothing may escape it.
            if (!cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning(exception, "webhook {SubscriptionId} delivery stopped; it resumes on a later pass", id);
            }
        }
    }

    private async Task DeliverAsync(WebhookSubscription subscription, CancellationToken cancellationToken)
    {
        var cursor = subscription.Cursor;
        while (true)
        {
            var entries = await store.EntriesAfterAsync(cursor, BatchSize, cancellationToken);
            var examined = cursor;
            foreach (var entry in entries)
            {
                // Wait at a missing id while it may still commit: passing it would skip that entry for good.
                if (entry.Id != examined + 1 && entry.At > time.GetUtcNow() - Options.GapGrace)
                {
                    return;
                }
                if (subscription.Matches(entry.Action))
                {
                    if (!await SendWithRetriesAsync(subscription, cursor, entry, cancellationToken)
                        || !await store.AdvanceAsync(subscription.Id, owner, cursor, entry.Id, cancellationToken))
                    {
                        return;
                    }
                    cursor = entry.Id;
                    if (!await store.RenewLeaseAsync(subscription.Id, owner, time.GetUtcNow() + Options.LeaseDuration, cancellationToken))
                    {
                        return;
                    }
                }
                examined = entry.Id;
            }
            // Entries of other event types are passed over together.
            if (examined > cursor)
            {
                if (!await store.AdvanceAsync(subscription.Id, owner, cursor, examined, cancellationToken))
                {
                    return;
                }
                cursor = examined;
            }
            if (entries.Count < BatchSize)
            {
                return;
            }
        }
    }

    /// <summary>
    /// One event through Polly: each attempt within <see cref="WebhookOptions.Timeout"/>, retried with
    /// exponential backoff and jitter; each failure recorded. False when the attempts ran out (the
    /// subscription is then parked) or this instance lost the subscription meanwhile.
    /// </summary>
    private async Task<bool> SendWithRetriesAsync(WebhookSubscription subscription, long cursor, AuditEntry entry, CancellationToken cancellationToken)
    {
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var failures = 0;
        var builder = new ResiliencePipelineBuilder();
        if (Options.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Options.MaxAttempts - 1,
                Delay = Options.RetryDelay,
                MaxDelay = Options.MaxRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<WebhookDeliveryException>().Handle<TimeoutRejectedException>(),
                OnRetry = async arguments =>
                {
                    failures++;
                    telemetry.WebhookAttempt("failed");
                    var recorded = await store.RecordFailureAsync(
                        subscription.Id, owner, cursor, failures, Reason(arguments.Outcome.Exception), null, cancellationToken)
                        && await store.RenewLeaseAsync(
                            subscription.Id, owner, time.GetUtcNow() + arguments.RetryDelay + Options.LeaseDuration, cancellationToken);
                    // Lost to a replay or another instance: stop, so two never deliver the same subscription.
                    if (!recorded)
                    {
                        await lost.CancelAsync();
                    }
                },
            });
        }
        var pipeline = builder.AddTimeout(Options.Timeout).Build();
        var payload = Payload(entry);
        var messageId = $"audit_{entry.Id}";
        try
        {
            await pipeline.ExecuteAsync(async token =>
            {
                var now = time.GetUtcNow();
                await sender.SendAsync(subscription.Url, messageId, now, payload, secrets.SigningKeys(subscription, now), token);
            }, lost.Token);
            telemetry.WebhookAttempt("delivered");
            return true;
        }
        catch (Exception exception) when (exception is WebhookDeliveryException or TimeoutRejectedException)
        {
            var reason = Reason(exception);
            telemetry.WebhookAttempt("parked");
            await store.RecordFailureAsync(subscription.Id, owner, cursor, failures + 1, reason, time.GetUtcNow(), cancellationToken);
            logger.LogWarning("webhook {SubscriptionId} parked after {Attempts} attempts at audit entry {EntryId}: {Reason}",
                subscription.Id, failures + 1, entry.Id, reason);
            return false;
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private string Reason(Exception? exception) => exception switch
    {
        TimeoutRejectedException => $"no answer within {Options.Timeout}",
        WebhookDeliveryException delivery => delivery.Message,
        _ => "delivery failed",
    };

    /// <summary>The body: Standard Webhooks' recommended <c>type</c>, <c>timestamp</c>, <c>data</c>, the data being the audit entry.</summary>
    internal static string Payload(AuditEntry entry) => JsonSerializer.Serialize(new
    {
        Type = entry.Action,
        Timestamp = entry.At,
        Data = new
        {
            entry.Id,
            entry.At,
            entry.Actor,
            entry.Action,
            entry.Target,
            entry.SourceAddress,
            entry.RequestId,
            entry.Details,
        },
    }, PayloadJson);
}
