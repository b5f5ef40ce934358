using System.Diagnostics;
using System.Diagnostics.Metrics;
using Broker.Storage;

namespace Broker.Hosting;

/// <summary>
/// Every instrument the broker records on, in one place: the meter named "Broker" (instrument names in
/// the OpenTelemetry style, tags from small fixed sets so a series count stays bounded), the activity
/// source of its own spans, and the security events a SIEM matches on by event id. Features record
/// through the methods here and never build an instrument of their own. Nothing is collected unless
/// OpenTelemetry listens (<see cref="TelemetrySetup"/>): then <c>Enabled</c> is false and each method
/// returns before it builds a tag.
/// </summary>
public sealed class BrokerTelemetry
{
    public const string MeterName = "Broker";
    public const string SourceName = "Broker";

    /// <summary>The broker's own spans (gate, quota, forward; authorize, consent, token, POST /clients).</summary>
    public static readonly ActivitySource Source = new(SourceName);

    // Tag names: OpenTelemetry's where one exists (oauth has none), the broker's own otherwise.
    public const string OutcomeTag = "broker.outcome";
    public const string ParentTag = "broker.parent.client_id";
    public const string StoreTag = "broker.quota.store";
    public const string StepTag = "broker.installation.step";
    public const string SourceTag = "broker.registration.source";
    public const string GrantTag = "broker.grant_type";
    public const string AuthenticationTag = "broker.authentication.kind";
    public const string ThrottleTag = "broker.throttle.rule";
    public const string StatusTag = "http.response.status_code";
    public const string RetentionKindTag = "kind";
    public const string WebhookOutcomeTag = "broker.webhook.outcome";
    public const string RowsRemovedName = "broker.retention.rows_removed";

    private readonly Counter<long> gateDecisions;
    private readonly Histogram<double> quotaStoreDuration;
    private readonly Histogram<double> upstreamDuration;
    private readonly Counter<long> installations;
    private readonly Counter<long> registrations;
    private readonly Counter<long> tokenRequests;
    private readonly Counter<long> authenticationFailures;
    private readonly Counter<long> throttles;
    private readonly Histogram<int> groupCommitBatch;
    private readonly Counter<long> rowsRemoved;
    private readonly Counter<long> webhookDeliveries;
    private volatile int parkedWebhooks;
    private readonly ILogger security;
    private Func<bool>? quotaStoreAvailable;

    // Status codes boxed once: a tag value is an object, and boxing on every forwarded call would allocate.
    private static readonly object[] BoxedStatus = Enumerable.Range(0, 600).Select(code => (object)code).ToArray();

    public BrokerTelemetry(IMeterFactory meters, ILoggerFactory loggers, Database database, RedisConnection redis)
    {
        security = loggers.CreateLogger(SecurityEvents.Category);
        var meter = meters.Create(MeterName);
        gateDecisions = meter.CreateCounter<long>("broker.gateway.decisions", "{call}",
            "Calls the gate decided, by outcome and by the caller's parent application.");
        quotaStoreDuration = meter.CreateHistogram<double>("broker.quota.store.duration", "s",
            "Time the quota store took to decide one call.", advice: new() { HistogramBucketBoundaries = LatencyBuckets });
        upstreamDuration = meter.CreateHistogram<double>("broker.gateway.upstream.duration", "s",
            "Time from forwarding an admitted call to the upstream's answer (or the failure), by status.",
            advice: new() { HistogramBucketBoundaries = LatencyBuckets });
        installations = meter.CreateCounter<long>("broker.installations", "{installation}",
            "Installation flows by step: started (consent shown), approved, denied, completed (POST /clients made the child).");
        registrations = meter.CreateCounter<long>("broker.registrations", "{registration}",
            "Client registrations by source (open registration, the Okta API) and outcome.");
        tokenRequests = meter.CreateCounter<long>("broker.token.requests", "{request}",
            "Token endpoint requests by grant type and outcome (issued, or the OAuth error code).");
        authenticationFailures = meter.CreateCounter<long>("broker.authentication.failures", "{failure}",
            "Failed authentications by kind: client (token endpoint), login (account), admin (SSWS token).");
        throttles = meter.CreateCounter<long>("broker.throttles", "{refusal}",
            "Requests refused by a throttle, by rule.");
        groupCommitBatch = meter.CreateHistogram<int>("broker.storage.group_commit.batch_size", "{write}",
            "Writes committed together in one SQLite transaction.",
            advice: new() { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128] });
        rowsRemoved = meter.CreateCounter<long>(RowsRemovedName, "{row}", "Rows the retention job removed, by kind.");
        webhookDeliveries = meter.CreateCounter<long>("broker.webhooks.deliveries", "{attempt}",
            "Webhook delivery attempts, by outcome: delivered, failed (retried later) or parked (attempts ran out).");
        // While a subscription is parked, retention keeps every audit entry it has not received: worth an alert.
        meter.CreateObservableGauge("broker.webhooks.parked", () => parkedWebhooks, "{subscription}",
            "Webhook subscriptions parked, as of this instance's last delivery pass.");
        meter.CreateObservableGauge("broker.database.available", () => database.IsAvailable ? 1 : 0, null,
            "1 while the database answers, 0 during an outage (requests that need it answer 503).");
        meter.CreateObservableGauge("broker.redis.available", () => RedisAvailable(redis), null,
            "1 while the Redis connection is up, 0 while it is not; no value when Redis is not configured.");
        meter.CreateObservableGauge("broker.quota.store.available", QuotaStoreAvailable, null,
            "1 while the quota store decides calls, 0 while its circuit is open (calls answer 503, or pass uncounted with Gateway:FailOpen).");
        database.BatchCommitted = BatchCommitted;
    }

    // From 0.1 ms (an in-memory quota) to 10 s (a slow upstream).
    private static readonly double[] LatencyBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Outcome tags of the gate, built once.</summary>
    public static KeyValuePair<string, object?> Outcome(string outcome) => new(OutcomeTag, outcome);

    public bool GateDecisionsEnabled => gateDecisions.Enabled;

    /// <summary>One gate decision; <paramref name="outcome"/> is one of the gate's prebuilt tags.</summary>
    public void GateDecided(KeyValuePair<string, object?> outcome, string? parentClientId)
    {
        if (!gateDecisions.Enabled)
        {
            return;
        }
        if (parentClientId is null)
        {
            gateDecisions.Add(1, outcome);
        }
        else
        {
            gateDecisions.Add(1, outcome, new KeyValuePair<string, object?>(ParentTag, parentClientId));
        }
    }

    /// <summary>A timestamp to pass to <see cref="QuotaStoreDecided"/>, or 0 when nobody listens.</summary>
    public long QuotaStoreStarting() => quotaStoreDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    public void QuotaStoreDecided(long started, KeyValuePair<string, object?> store)
    {
        if (started != 0)
        {
            quotaStoreDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, store);
        }
    }

    /// <summary>The quota store's tag, built once per limiter.</summary>
    public static KeyValuePair<string, object?> Store(string store) => new(StoreTag, store);

    /// <summary>Lets the quota store report whether it is deciding calls (Redis: its circuit is closed).</summary>
    public void WatchQuotaStore(Func<bool> available) => quotaStoreAvailable = available;

    public long UpstreamStarting() => upstreamDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    public void UpstreamAnswered(long started, int status)
    {
        if (started != 0)
        {
            upstreamDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>(StatusTag, status is >= 0 and < 600 ? BoxedStatus[status] : status));
        }
    }

    /// <summary>Rows of one retention kind removed by one batch (counted once across instances: each DELETE is conditional).</summary>
    public void RowsRemoved(string kind, long count) => rowsRemoved.Add(count, new KeyValuePair<string, object?>(RetentionKindTag, kind));

    /// <summary>One webhook delivery attempt's outcome: <c>delivered</c>, <c>failed</c> or <c>parked</c>.</summary>
    public void WebhookAttempt(string outcome) => webhookDeliveries.Add(1, new KeyValuePair<string, object?>(WebhookOutcomeTag, outcome));

    /// <summary>How many subscriptions the last delivery pass found parked.</summary>
    public void WebhooksParked(int count) => parkedWebhooks = count;

    public void InstallationStep(string step)
    {
        if (installations.Enabled)
        {
            installations.Add(1, new KeyValuePair<string, object?>(StepTag, step));
        }
    }

    public void Registration(string source, string outcome)
    {
        if (registrations.Enabled)
        {
            registrations.Add(1, new KeyValuePair<string, object?>(SourceTag, source), new KeyValuePair<string, object?>(OutcomeTag, outcome));
        }
    }

    /// <summary>One token request; the grant type is reduced to the ones the broker knows, so a caller cannot add series.</summary>
    public void TokenRequest(string? grantType, string outcome)
    {
        if (tokenRequests.Enabled)
        {
            var grant = grantType is "authorization_code" or "client_credentials" or "refresh_token" ? grantType : "other";
            tokenRequests.Add(1, new KeyValuePair<string, object?>(GrantTag, grant), new KeyValuePair<string, object?>(OutcomeTag, outcome));
        }
    }

    /// <summary>A failed authentication: counted, and logged as its security event.</summary>
    public void AuthenticationFailed(string kind, string? clientId, string? address)
    {
        if (authenticationFailures.Enabled)
        {
            authenticationFailures.Add(1, new KeyValuePair<string, object?>(AuthenticationTag, kind));
        }
        switch (kind)
        {
            case AuthenticationKinds.Client:
                SecurityEvents.ClientAuthenticationFailed(security, clientId ?? "", address ?? "");
                break;
            case AuthenticationKinds.Login:
                SecurityEvents.LoginFailed(security, address ?? "");
                break;
            default:
                SecurityEvents.AdminAuthenticationFailed(security, address ?? "");
                break;
        }
    }

    /// <summary>A request refused by a throttle: counted, and logged as its security event.</summary>
    public void Throttled(string rule, string? address, TimeSpan retryAfter)
    {
        if (throttles.Enabled)
        {
            throttles.Add(1, new KeyValuePair<string, object?>(ThrottleTag, rule));
        }
        SecurityEvents.Throttled(security, rule, address ?? "", (long)Math.Ceiling(retryAfter.TotalSeconds));
    }

    /// <summary>An authorization request whose client or redirect URI was refused (shown an error page, never redirected).</summary>
    public void RedirectRefused(string? address, string reason) => SecurityEvents.RedirectRefused(security, address ?? "", reason);

    public void CodeReplayed(string clientId) => SecurityEvents.CodeReplayed(security, clientId);

    /// <summary>A revoked or disabled key or token at the gate; the key itself is a credential and is not logged.</summary>
    public void RevokedKeyUsed(string path) => SecurityEvents.RevokedKeyUsed(security, path);

    private void BatchCommitted(int writes)
    {
        if (groupCommitBatch.Enabled)
        {
            groupCommitBatch.Record(writes);
        }
    }

    private int QuotaStoreAvailable() => quotaStoreAvailable?.Invoke() is false ? 0 : 1;

    private static IEnumerable<Measurement<int>> RedisAvailable(RedisConnection redis) =>
        redis.IsConfigured ? [new Measurement<int>(redis.IsConnected ? 1 : 0)] : [];
}

/// <summary>The values of <see cref="BrokerTelemetry.StepTag"/>.</summary>
public static class InstallationSteps
{
    public const string Started = "started";
    public const string Approved = "approved";
    public const string Denied = "denied";
    public const string Completed = "completed";
}

/// <summary>The values of <see cref="BrokerTelemetry.AuthenticationTag"/>.</summary>
public static class AuthenticationKinds
{
    public const string Client = "client";
    public const string Login = "login";
    public const string Admin = "admin";
}

/// <summary>
/// The security events, each with a fixed event id in the <c>Broker.Security</c> category, so that a SIEM
/// matches on the id rather than on wording. Ids are never reused for another event.
/// </summary>
public static partial class SecurityEvents
{
    public const string Category = "Broker.Security";

    public const int ClientAuthenticationFailedId = 4001;
    public const int LoginFailedId = 4002;
    public const int AdminAuthenticationFailedId = 4003;
    public const int ThrottledId = 4010;
    public const int RedirectRefusedId = 4020;
    public const int CodeReplayedId = 4030;
    public const int RevokedKeyUsedId = 4040;

    [LoggerMessage(ClientAuthenticationFailedId, LogLevel.Warning,
        "Client authentication failed for client {ClientId} from {Address}")]
    public static partial void ClientAuthenticationFailed(ILogger logger, string clientId, string address);

    [LoggerMessage(LoginFailedId, LogLevel.Warning, "Sign-in failed from {Address}")]
    public static partial void LoginFailed(ILogger logger, string address);

    [LoggerMessage(AdminAuthenticationFailedId, LogLevel.Warning, "Admin token authentication failed from {Address}")]
    public static partial void AdminAuthenticationFailed(ILogger logger, string address);

    [LoggerMessage(ThrottledId, LogLevel.Warning, "Throttled by {Rule} from {Address}; retry after {RetryAfterSeconds} s")]
    public static partial void Throttled(ILogger logger, string rule, string address, long retryAfterSeconds);

    [LoggerMessage(RedirectRefusedId, LogLevel.Warning, "Authorization request from {Address} refused: {Reason}")]
    public static partial void RedirectRefused(ILogger logger, string address, string reason);

    [LoggerMessage(CodeReplayedId, LogLevel.Warning,
        "Authorization code replayed by client {ClientId}; the token it issued and the installation it made are revoked")]
    public static partial void CodeReplayed(ILogger logger, string clientId);

    [LoggerMessage(RevokedKeyUsedId, LogLevel.Warning, "Revoked or disabled key or token used at the gateway for {Path}")]
    public static partial void RevokedKeyUsed(ILogger logger, string path);
}
