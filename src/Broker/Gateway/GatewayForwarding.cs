using Broker.Core.Clients;
using Broker.Hosting;
using Broker.Http;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Broker.Gateway;

/// <summary>
/// Forwarding to <c>Gateway:Upstream</c> with YARP: one proxy route per gateway route, the caller's
/// key taken off the request and headers naming the child and its owner put on, and upstream
/// failures answered as JSON 502/504.
/// </summary>
public static class GatewayForwarding
{
    public const string ClientHeader = "X-Broker-Client-Id";
    public const string OwnerHeader = "X-Broker-Owner-Id";
    public const string ParentHeader = "X-Broker-Parent-Client-Id";

    private const string ClusterId = "upstream";

    /// <summary>The proxy configuration: gateway routes as ASP.NET Core route templates, all to one upstream.</summary>
    public static InMemoryConfigProvider ProxyConfig(GatewayOptions options)
    {
        var routes = Patterns(options).Select((pattern, index) => new RouteConfig
        {
            RouteId = $"gateway-{index}",
            ClusterId = ClusterId,
            Match = new RouteMatch { Methods = Methods(pattern), Path = Template(pattern) },
        }).ToList();
        var cluster = new ClusterConfig
        {
            ClusterId = ClusterId,
            Destinations = new Dictionary<string, DestinationConfig> { [ClusterId] = new() { Address = options.Upstream! } },
            HttpRequest = new ForwarderRequestConfig { ActivityTimeout = options.UpstreamTimeout },
        };
        return new InMemoryConfigProvider(routes, [cluster]);
    }

    /// <summary>Request changes on every forwarded call.</summary>
    public static void Transforms(TransformBuilderContext context)
    {
        // The caller's key stays with the broker; the upstream learns who called from our headers instead.
        context.AddQueryRemoveKey(GateMiddleware.QueryParameter);
        // Forwarding headers from the caller are not ours to vouch for: X-Forwarded-* are set afresh
        // from this hop (the caller's address as the broker sees it), RFC 7239 Forwarded is dropped.
        context.AddXForwarded(ForwardedTransformActions.Set);
        context.AddRequestHeaderRemove("Forwarded");
        context.AddRequestTransform(transform =>
        {
            var headers = transform.ProxyRequest.Headers;
            // RFC 9110 7.6.1: headers the caller named in Connection are for this hop only (YARP drops the fixed set).
            foreach (var value in transform.HttpContext.Request.Headers.Connection)
            {
                foreach (var option in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    headers.Remove(option);
                }
            }
            headers.Remove("Authorization");
            // Whatever the caller sent under our names is replaced, never passed on.
            headers.Remove(ClientHeader);
            headers.Remove(OwnerHeader);
            headers.Remove(ParentHeader);
            if (transform.HttpContext.Features.Get<GatedCall>() is { } call)
            {
                headers.TryAddWithoutValidation(ClientHeader, call.ClientId);
                headers.TryAddWithoutValidation(OwnerHeader, call.OwnerUserId ?? "");
                headers.TryAddWithoutValidation(ParentHeader, call.ParentClientId ?? "");
            }
            return ValueTask.CompletedTask;
        });
    }

    /// <summary>The proxy pipeline: YARP's own steps, then upstream failures as JSON.</summary>
    public static void Pipeline(IReverseProxyApplicationBuilder proxy)
    {
        proxy.UseLoadBalancing();
        proxy.UsePassiveHealthChecks();
        var telemetry = proxy.ApplicationServices.GetRequiredService<BrokerTelemetry>();
        proxy.Use(async (context, next) =>
        {
            var started = telemetry.UpstreamStarting();
            await next();
            await AnswerFailureAsync(context);
            telemetry.UpstreamAnswered(started, context.Response.StatusCode);
        });
    }

    private static async Task AnswerFailureAsync(HttpContext context)
    {
        var error = context.GetForwarderErrorFeature();
        // Nothing to add when the call went through, the caller went away, or the answer has begun.
        if (error is null || error.Error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled
            || context.Response.HasStarted)
        {
            return;
        }
        var result = error.Error == ForwarderError.RequestTimedOut
            ? OAuthResults.Error(StatusCodes.Status504GatewayTimeout, "gateway_timeout", "the upstream API did not answer in time")
            : OAuthResults.Error(StatusCodes.Status502BadGateway, "bad_gateway", "the upstream API could not be reached or failed to answer");
        await result.ExecuteAsync(context);
    }

    /// <summary>The gateway routes, parsed (validated at start).</summary>
    public static IReadOnlyList<EndpointPattern> Patterns(GatewayOptions options) =>
        EndpointPattern.TryNormalise(options.EffectiveRoutes, out _)!.Select(text => EndpointPattern.TryParse(text, out _)!).ToList();

    /// <summary>A pattern's methods; a GET route answers HEAD too, as the whitelist does.</summary>
    public static string[] Methods(EndpointPattern pattern) => pattern.Method == "GET" ? ["GET", "HEAD"] : [pattern.Method];

    /// <summary>A pattern as a route template: the first <c>*</c> is <c>{id}</c>, later ones <c>{p2}</c>, <c>{p3}</c>….</summary>
    public static string Template(EndpointPattern pattern)
    {
        var wildcards = 0;
        return "/" + string.Join('/', pattern.Segments.Select(segment =>
            segment != "*" ? segment : ++wildcards == 1 ? "{id}" : $"{{p{wildcards}}}"));
    }
}
