using System.Collections.Concurrent;
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

    public Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<GatedEndpoint>() is null)
        {
            return next(context);
        }
        var bearer = BearerTokens.FromHeader(context.Request);
        string? clientId = null;
        if (bearer is null)
        {
            clientId = ReadKey(context.Request, out var keyProblem);
            if (clientId is null)
            {
                return keyProblem!.ExecuteAsync(context);
            }
        }
        // Traced, the gate is a span: started within an async method, whose end restores Activity.Current.
        if (BrokerTelemetry.Source.HasListeners())
        {
            return DecideAndActAsync(context, endpoint, bearer, clientId, started: null);
        }
        var pending = Decide(context, bearer, clientId);
        // A cached key and an in-memory quota decide at once: the call then goes on without a state
        // machine of its own (one allocation and one step fewer on every call).
        if (pending.IsCompletedSuccessfully)
        {
            return Act(context, endpoint, pending.Result, activity: null);
        }
        return DecideAndActAsync(context, endpoint, bearer, clientId, pending);
    }

    private ValueTask<GateDecision> Decide(HttpContext context, string? bearer, string? clientId)
    {
        var (method, path) = (context.Request.Method, context.Request.Path.Value ?? "/");
        return bearer is not null
            ? gate.DecideForTokenAsync(bearer, method, path, context.RequestAborted)
            : gate.DecideAsync(clientId!, method, path, context.RequestAborted);
    }

    private async Task DecideAndActAsync(HttpContext context, Endpoint endpoint, string? bearer, string? clientId, ValueTask<GateDecision>? started)
    {
        using var activity = started is null ? BrokerTelemetry.Source.StartActivity("gate") : null;
        GateDecision decision;
        try
        {
            decision = await (started ?? Decide(context, bearer, clientId));
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException || database.IsUnavailable(exception))
        {
            // Only keys not in the cache get here: cached keys keep being served while the database is away.
            await Unavailable(context, storage.Value.RetryAfter, "the key store is not answering; try again shortly").ExecuteAsync(context);
            return;
        }
        await Act(context, endpoint, decision, activity);
    }

    // The decision in the metrics and the headers, then its refusal or the route's endpoint.
    private Task Act(HttpContext context, Endpoint endpoint, GateDecision decision, System.Diagnostics.Activity? activity)
    {
        Observe(context, decision, activity);
        QuotaHeaders? quotaHeaders = null;
        if (decision.Lease is { } lease)
        {
            quotaHeaders = new QuotaHeaders(context.Response.Headers, lease);
            quotaHeaders.Write();
        }
        CountUsage(decision);
        var refusal = Refusal(context, decision);
        if (refusal is not null)
        {
            return refusal.ExecuteAsync(context);
        }
        var key = decision.Key!;
        // Last use, for finding stale installations: an in-memory check, written at most once a minute per client.
        usage.ClientUsed(key.ClientId);
        context.Features.Set(new GatedCall(key.ClientId, key.OwnerUserId, key.ParentClientId));
        if (quotaHeaders is not null)
        {
            // An upstream may send rate-limit headers of its own; the broker's are the ones that count.
            context.Response.OnStarting(QuotaHeaders.WriteAgain, quotaHeaders);
        }
        // The endpoint runs at once: what the pipeline holds after the gate (authentication, authorization,
        // the endpoint middleware's checks) is for the broker's own pages and APIs, and costs every call.
        return activity is null ? endpoint.RequestDelegate!(context) : ForwardTracedAsync(context, endpoint);
    }

    private static async Task ForwardTracedAsync(HttpContext context, Endpoint endpoint)
    {
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
        // No query, no query collection to build (most calls send their key in the header).
        var query = request.QueryString.HasValue ? request.Query[QueryParameter] : StringValues.Empty;
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
}

/// <summary>
/// Unsplash's <c>X-Ratelimit-*</c> and the IETF draft's <c>RateLimit-Policy</c>/<c>RateLimit</c> for one call:
/// formatted once, written before the endpoint runs and again as the answer starts.
/// </summary>
internal sealed class QuotaHeaders
{
    // The limit's and the reset's text repeat across calls: formatted once each (limits are few; a reset is 1–3,600 s).
    private static readonly ConcurrentDictionary<int, (StringValues Limit, StringValues Policy)> ByLimit = new();
    private static readonly StringValues[] ResetSeconds = new StringValues[3601];
    private const int MaxCachedLimits = 1024;

    public static readonly Func<object, Task> WriteAgain = static state =>
    {
        ((QuotaHeaders)state).Write();
        return Task.CompletedTask;
    };

    private readonly IHeaderDictionary headers;
    private readonly StringValues limit;
    private readonly StringValues policy;
    private readonly StringValues remaining;
    private readonly StringValues rateLimit;
    private readonly bool counted;

    public QuotaHeaders(IHeaderDictionary headers, QuotaLease lease)
    {
        this.headers = headers;
        (limit, policy) = Limit(lease.Limit);
        // Nothing was counted when the store was unavailable, so there is no remaining figure to report.
        counted = !lease.StoreUnavailable;
        if (counted)
        {
            var remainingText = lease.Remaining.ToString(CultureInfo.InvariantCulture);
            remaining = remainingText;
            rateLimit = string.Concat("\"hourly\";r=", remainingText, ";t=", Reset(lease.ResetAfter).ToString());
        }
    }

    public void Write()
    {
        headers["X-Ratelimit-Limit"] = limit;
        if (!counted)
        {
            return;
        }
        headers["X-Ratelimit-Remaining"] = remaining;
        headers["RateLimit-Policy"] = policy;
        headers["RateLimit"] = rateLimit;
    }

    private static (StringValues Limit, StringValues Policy) Limit(int limit)
    {
        if (ByLimit.TryGetValue(limit, out var texts))
        {
            return texts;
        }
        var text = limit.ToString(CultureInfo.InvariantCulture);
        texts = (text, string.Concat("\"hourly\";q=", text, ";w=3600"));
        if (ByLimit.Count < MaxCachedLimits)
        {
            ByLimit.TryAdd(limit, texts);
        }
        return texts;
    }

    private static StringValues Reset(TimeSpan resetAfter)
    {
        var seconds = OAuthResults.WholeSecondsAtLeastOne(resetAfter);
        if (seconds >= ResetSeconds.Length)
        {
            return seconds.ToString(CultureInfo.InvariantCulture);
        }
        var text = ResetSeconds[seconds];
        if (text.Count == 0)
        {
            text = ResetSeconds[seconds] = seconds.ToString(CultureInfo.InvariantCulture);
        }
        return text;
    }
}
