using Broker.Core.Security;
using Broker.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Gateway;

/// <summary>How the gate answered one call.</summary>
public enum GateOutcome
{
    Admitted,
    UnknownKey,
    RevokedKey,
    NotChildKey,
    ParentKey,
    NotWhitelisted,
    QuotaSpent,
    StoreUnavailable,
    InstallationToken,
}

/// <summary>The gate's answer: the outcome, the key it concerned, and the quota lease when one was asked for.</summary>
public readonly record struct GateDecision(GateOutcome Outcome, GateKey? Key = null, QuotaLease? Lease = null);

/// <summary>
/// The gate decision, apart from HTTP: which key, may it call this endpoint, has it quota left.
/// Refused calls never spend quota: the whitelist is checked before a unit is taken.
/// </summary>
public sealed class Gate(ClientCache keys, QuotaLimiter quotas, IOptions<GatewayOptions> options, TimeProvider time, BrokerTelemetry telemetry)
{
    private readonly bool failOpen = options.Value.FailOpen;
    private readonly KeyValuePair<string, object?> storeTag = BrokerTelemetry.Store(quotas is RedisQuotaLimiter ? "redis" : "memory");

    /// <summary>A call with a bearer token: a registered client's access token, under that client's quota.</summary>
    public async ValueTask<GateDecision> DecideForTokenAsync(string token, string method, string path, CancellationToken cancellationToken)
    {
        GateKey key;
        using (BrokerTelemetry.Source.StartActivity("gate key"))
        {
            key = await keys.GetTokenAsync(Secret.Hash(token), cancellationToken);
        }
        // Reject installation tokens: they are good for POST /clients only.
        if (key.Status == KeyStatus.InstallationToken)
        {
            return new GateDecision(GateOutcome.InstallationToken, key);
        }
        // Reject unknown, revoked and expired tokens, and tokens of clients no longer active.
        if (key.Status != KeyStatus.AccessToken || key.ExpiresAt <= time.GetUtcNow())
        {
            return new GateDecision(key.Status == KeyStatus.Inactive ? GateOutcome.RevokedKey : GateOutcome.UnknownKey);
        }
        return await AdmitAsync(key, method, path, cancellationToken);
    }

    public async ValueTask<GateDecision> DecideAsync(string clientId, string method, string path, CancellationToken cancellationToken)
    {
        // Reject malformed ids before any lookup: they cannot name a client.
        if (!Secret.IsWellFormedClientId(clientId))
        {
            return new GateDecision(GateOutcome.UnknownKey);
        }
        GateKey key;
        using (BrokerTelemetry.Source.StartActivity("gate key"))
        {
            key = await keys.GetAsync(clientId, cancellationToken);
        }
        // Reject unknown, revoked and disabled keys alike, so the answer does not tell which (the
        // outcomes differ for the security log and the metrics only).
        if (key.Status is KeyStatus.Unknown or KeyStatus.Inactive)
        {
            return new GateDecision(key.Status == KeyStatus.Inactive ? GateOutcome.RevokedKey : GateOutcome.UnknownKey);
        }
        // Reject parent keys: they are public and only start the installation flow.
        if (key.Status == KeyStatus.Parent)
        {
            return new GateDecision(GateOutcome.ParentKey, key);
        }
        // Reject keys of applications that are not installations: they have no quota or whitelist here.
        if (key.Status != KeyStatus.Child)
        {
            return new GateDecision(GateOutcome.NotChildKey, key);
        }
        return await AdmitAsync(key, method, path, cancellationToken);
    }

    // The whitelist, then one unit of the hourly quota (per client, whichever credential it used).
    private async ValueTask<GateDecision> AdmitAsync(GateKey key, string method, string path, CancellationToken cancellationToken)
    {
        var request = new QuotaRequest(key.ClientId, key.Limit);
        // Reject endpoints outside the whitelist; the quota is only read, for the headers.
        if (!key.Whitelist!.Permits(method, path))
        {
            using var peek = await quotas.AcquireAsync(request, 0, cancellationToken);
            return new GateDecision(GateOutcome.NotWhitelisted, key, (QuotaLease)peek);
        }
        QuotaLease lease;
        using (BrokerTelemetry.Source.StartActivity("gate quota"))
        {
            var started = telemetry.QuotaStoreStarting();
            lease = (QuotaLease)await quotas.AcquireAsync(request, 1, cancellationToken);
            telemetry.QuotaStoreDecided(started, storeTag);
        }
        // Reject when the store cannot count, unless configured to let calls through uncounted.
        if (lease.StoreUnavailable)
        {
            return new GateDecision(failOpen ? GateOutcome.Admitted : GateOutcome.StoreUnavailable, key, lease);
        }
        // Reject when the hour's quota is spent.
        return new GateDecision(lease.IsAcquired ? GateOutcome.Admitted : GateOutcome.QuotaSpent, key, lease);
    }
}
