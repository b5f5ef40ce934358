using System.Globalization;
using Broker.Core.Platform;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;

namespace Broker.Gateway;

/// <summary>Marks an endpoint as a gateway route: the gate runs before it.</summary>
public sealed class GatedEndpoint
{
    public static readonly GatedEndpoint Instance = new();
}

/// <summary>What the gate admitted, for the forwarder and the demo API: whose call this is.</summary>
public sealed record GatedCall(string ClientId, string? OwnerUserId, string? ParentClientId);

/// <summary>
/// The gate in HTTP: reads the key the Unsplash way (<c>Authorization: Client-ID …</c> or
/// <c>?client_id=</c>), asks <see cref="Gate"/>, and answers refusals as JSON errors with the
/// rate-limit headers; admitted calls go straight to their endpoint (the demo API or the forwarder).
/// </summary>
internal sealed class GateMiddleware(
    RequestDelegate next, Gate gate, UsageRecorder usage, UsageCounter usageCounts, Storage.Database database,
    Microsoft.Extensions.Options.IOptions<StorageOptions> storage, BrokerTelemetry telemetry)
{
    public const string Scheme = "Client-ID";
    public const string QueryParameter = "client_id";

    // The metric's outcome tags, one per GateOutcome (and one for calls let through uncounted), built once.
    private static readonly KeyValuePair<string, object?>[] OutcomeTags = Enum.GetValues<GateOutcome>()
        .Select(outcome => BrokerTelemetry.Outcome(OutcomeName(outcome))).ToArray();

    private static readonly KeyValuePair<string, object?> UncountedTag = BrokerTelemetry.Outcome("admitted_uncounted");

    private static string OutcomeName(GateOutcome outcome) => outcome switch
    {
        GateOutcome.Admitted => "admitted",
        GateOutcome.UnknownKey => "unknown_key",
        GateOutcome.RevokedKey => "revoked_key",
        GateOutcome.NotChildKey => "not_installation_key",
        GateOutcome.ParentKey => "parent_key",
        GateOutcome.NotWhitelisted => "not_whitelisted",
        GateOutcome.QuotaSpent => "quota_spent",
        GateOutcome.StoreUnavailable => "store_unavailable",
        GateOutcome.InstallationToken => "installation_token",
        _ => "other",
    };

    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<GatedEndpoint>() is null)
        {
            await next(context);
            return;
        }
        var bearer = BearerTokens.FromHeader(context.Request);
        string? clientId = null;
        if (bearer is null)
        {
            clientId = ReadKey(context.Request, out var keyProblem);
            if (clientId is null)
            {
                await keyProblem!.ExecuteAsync(context);
                return;
            }
        }
        using var activity = BrokerTelemetry.Source.StartActivity("gate");
        GateDecision decision;
        try
        {
            var (method, path) = (context.Request.Method, context.Request.Path.Value ?? "/");
            decision = bearer is not null
                ? await gate.DecideForTokenAsync(bearer, method, path, context.RequestAborted)
                : await gate.DecideAsync(clientId!, method, path, context.RequestAborted);
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException || database.IsUnavailable(exception))
        {
            // Only keys not in the cache get here: cached keys keep being served while the database is away.
            await Unavailable(context, storage.Value.RetryAfter, "the key store is not answering; try again shortly").ExecuteAsync(context);
            return;
        }
        Observe(context, decision, activity);
        if (decision.Lease is { } lease)
        {
            WriteQuotaHeaders(context.Response.Headers, lease);
        }
        CountUsage(decision);
        var refusal = Refusal(context, decision);
        if (refusal is not null)
        {
            await refusal.ExecuteAsync(context);
            return;
        }
        var key = decision.Key!;
        // Last use, for finding stale installations: an in-memory check, written at most once a minute per client.
        usage.ClientUsed(key.ClientId);
        context.Features.Set(new GatedCall(key.ClientId, key.OwnerUserId, key.ParentClientId));
        if (decision.Lease is { } admitted)
        {
            // An upstream may send rate-limit headers of its own; the broker's are the ones that count.
            context.Response.OnStarting(() =>
            {
                WriteQuotaHeaders(context.Response.Headers, admitted);
                return Task.CompletedTask;
            });
        }
        // The endpoint runs at once: what the pipeline holds after the gate (authentication, authorization,
        // the endpoint middleware's checks) is for the broker's own pages and APIs, and costs every call.
        using var forward = BrokerTelemetry.Source.StartActivity("gate forward");
        await endpoint.RequestDelegate!(context);
    }

    // An installation's calls, for the console's charts: admitted and refused by reason. Calls with an
    // unknown key or a parent's have no installation to count against.
    private void CountUsage(GateDecision decision)
    {
        if (decision.Key is not { ParentClientId: { } parentClientId } key || decision.Lease is null)
        {
            return;
        }
        var outcome = decision.Outcome switch
        {
            GateOutcome.Admitted => UsageOutcome.Admitted,
            GateOutcome.NotWhitelisted => UsageOutcome.NotWhitelisted,
            GateOutcome.QuotaSpent => UsageOutcome.QuotaSpent,
            _ => UsageOutcome.Unavailable,
        };
        usageCounts.Count(key.ClientId, parentClientId, outcome);
    }

    // The decision in the metrics and on the span (never the key: a child's client_id is its credential),
    // and a revoked key in the security log.
    private void Observe(HttpContext context, GateDecision decision, System.Diagnostics.Activity? activity)
    {
        var outcome = decision.Outcome == GateOutcome.Admitted && decision.Lease is { StoreUnavailable: true }
            ? UncountedTag
            : OutcomeTags[(int)decision.Outcome];
        var parent = decision.Key?.Status == KeyStatus.Parent ? decision.Key.ClientId : decision.Key?.ParentClientId;
        telemetry.GateDecided(outcome, parent);
        if (activity is not null)
        {
            activity.SetTag(outcome.Key, outcome.Value);
            activity.SetTag(BrokerTelemetry.ParentTag, parent);
        }
        if (decision.Outcome == GateOutcome.RevokedKey)
        {
            telemetry.RevokedKeyUsed(context.Request.Path.Value ?? "/");
        }
    }

    /// <summary>The caller's key, or null with the error to answer.</summary>
    private static string? ReadKey(HttpRequest request, out IResult? problem)
    {
        problem = null;
        var authorization = request.Headers.Authorization;
        var query = request.Query[QueryParameter];
        // Reject repeated keys: which one counts would be a guess.
        if (authorization.Count > 1 || query.Count > 1)
        {
            problem = OAuthResults.BadRequest("invalid_request", "send one key, in Authorization: Client-ID <client_id> or in ?client_id=");
            return null;
        }
        string? fromHeader = null;
        if (authorization.Count == 1)
        {
            var value = authorization[0]!;
            // Reject other schemes: the gateway takes installation keys (and bearer access tokens, read before this).
            if (!value.StartsWith(Scheme + " ", StringComparison.OrdinalIgnoreCase))
            {
                problem = InvalidKey(request.HttpContext, "the Authorization header must be 'Client-ID <client_id>' or 'Bearer <access_token>'");
                return null;
            }
            fromHeader = value[(Scheme.Length + 1)..].Trim();
        }
        var fromQuery = query.Count == 1 ? query[0] : null;
        // Reject two different keys in one call.
        if (fromHeader is not null && fromQuery is not null && !string.Equals(fromHeader, fromQuery, StringComparison.Ordinal))
        {
            problem = OAuthResults.BadRequest("invalid_request", "the Authorization header and ?client_id= name different keys");
            return null;
        }
        var key = fromHeader ?? fromQuery;
        // Reject calls without a key.
        if (string.IsNullOrEmpty(key))
        {
            problem = InvalidKey(request.HttpContext, "no key: send Authorization: Client-ID <client_id>, or ?client_id=<client_id>");
            return null;
        }
        return key;
    }

    private static JsonHttpResult<OAuthErrorBody>? Refusal(HttpContext context, GateDecision decision) => decision.Outcome switch
    {
        GateOutcome.Admitted => null,
        GateOutcome.UnknownKey or GateOutcome.RevokedKey => InvalidKey(context, "unknown, revoked or disabled key"),
        GateOutcome.ParentKey => OAuthResults.Error(StatusCodes.Status403Forbidden, "unauthorized_client",
            "a parent application's key may only run the installation flow; call the API with an installation's key"),
        GateOutcome.NotChildKey => OAuthResults.Error(StatusCodes.Status403Forbidden, "unauthorized_client",
            "only an installation's key may call the API"),
        GateOutcome.InstallationToken => OAuthResults.BearerError(context, StatusCodes.Status403Forbidden, "insufficient_scope",
            "an installation token is good for POST /clients only; call the API with the installation's own key"),
        GateOutcome.NotWhitelisted => OAuthResults.Error(StatusCodes.Status403Forbidden, "insufficient_scope",
            $"{context.Request.Method} {context.Request.Path} is not among the endpoints this installation may call"),
        GateOutcome.QuotaSpent => OAuthResults.TooManyRequests(context, decision.Lease!.ResetAfter, "rate_limit_exceeded",
            $"this installation has made its {decision.Lease.Limit} calls for this hour"),
        _ => Unavailable(context, decision.Lease!.ResetAfter, "the quota store is not answering; try again shortly"),
    };

    private static JsonHttpResult<OAuthErrorBody> InvalidKey(HttpContext context, string description)
    {
        context.Response.Headers.WWWAuthenticate = $"{Scheme} realm=\"broker\"";
        return OAuthResults.Error(StatusCodes.Status401Unauthorized, "invalid_client", description);
    }

    private static JsonHttpResult<OAuthErrorBody> Unavailable(HttpContext context, TimeSpan retryAfter, string description)
    {
        context.Response.Headers.RetryAfter = OAuthResults.RetryAfterSeconds(retryAfter);
        return OAuthResults.Error(StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable", description);
    }

    /// <summary>Unsplash's <c>X-Ratelimit-*</c> and the IETF draft's <c>RateLimit-Policy</c>/<c>RateLimit</c>.</summary>
    private static void WriteQuotaHeaders(IHeaderDictionary headers, QuotaLease lease)
    {
        var limit = lease.Limit.ToString(CultureInfo.InvariantCulture);
        headers["X-Ratelimit-Limit"] = limit;
        if (lease.StoreUnavailable)
        {
            // Nothing was counted, so there is no remaining figure to report.
            return;
        }
        var remaining = lease.Remaining.ToString(CultureInfo.InvariantCulture);
        var reset = Math.Max(1, (int)Math.Ceiling(lease.ResetAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        headers["X-Ratelimit-Remaining"] = remaining;
        headers["RateLimit-Policy"] = new StringValues(string.Concat("\"hourly\";q=", limit, ";w=3600"));
        headers["RateLimit"] = new StringValues(string.Concat("\"hourly\";r=", remaining, ";t=", reset));
    }
}
