using Broker.Core.Clients;
using Broker.Hosting;
using Broker.Http;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Broker.Gateway;

/// <summary>
/// Forwarding to <c>Gateway:Upstream</c> with YARP's forwarder, called straight from each gateway route
/// (direct forwarding: one upstream needs no load balancing, health checks or proxy configuration, and
/// each of those cost every call a step). The caller's key is taken off the request and headers naming
/// the child and its owner put on; upstream failures are answered as JSON 502/504.
/// </summary>
public sealed class GatewayForwarding
{
    public const string ClientHeader = "X-Broker-Client-Id";
    public const string OwnerHeader = "X-Broker-Owner-Id";
    public const string ParentHeader = "X-Broker-Parent-Client-Id";

    private readonly IHttpForwarder forwarder;
    private readonly BrokerTelemetry telemetry;
    private readonly string upstream;
    private readonly HttpMessageInvoker client;
    private readonly HttpTransformer transformer;
    private readonly ForwarderRequestConfig requestConfig;

    public GatewayForwarding(IHttpForwarder forwarder, ITransformBuilder transforms, IOptions<GatewayOptions> options,
        BrokerTelemetry telemetry, IServiceProvider services)
    {
        this.forwarder = forwarder;
        this.telemetry = telemetry;
        upstream = options.Value.Upstream!;
        requestConfig = new ForwarderRequestConfig { ActivityTimeout = options.Value.UpstreamTimeout };
        transformer = transforms.Create(Transforms);
        // Traced only when traces are collected: the upstream client's span and its trace headers cost a call
        // about 1.2 KB and a few µs. Untraced, the caller's own trace headers pass through as they came.
        var traced = services.GetService<TracerProvider>() is not null;
        client = new UpstreamClientFactory(traced).CreateClient(new ForwarderHttpClientContext { NewConfig = HttpClientConfig.Empty });
    }

    /// <summary>A gateway route's endpoint: the admitted call, sent on to the upstream.</summary>
    public async Task ForwardAsync(HttpContext context)
    {
        var started = telemetry.UpstreamStarting();
        var error = await forwarder.SendAsync(context, upstream, client, requestConfig, transformer);
        await AnswerFailureAsync(context, error);
        telemetry.UpstreamAnswered(started, context.Response.StatusCode);
    }

    /// <summary>Request changes on every forwarded call.</summary>
    public static void Transforms(TransformBuilderContext context)
    {
        // The caller's key stays with the broker; the upstream learns who called from our headers instead.
        // (The query is rebuilt only when it holds a key: rebuilding it costs every call otherwise.)
        context.AddRequestTransform(transform =>
        {
            var request = transform.HttpContext.Request;
            if (request.QueryString.HasValue && request.Query.ContainsKey(GateMiddleware.QueryParameter))
            {
                transform.Query.Collection.Remove(GateMiddleware.QueryParameter);
            }
            return ValueTask.CompletedTask;
        });
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

    private static async Task AnswerFailureAsync(HttpContext context, ForwarderError error)
    {
        // Nothing to add when the call went through, the caller went away, or the answer has begun.
        if (error is ForwarderError.None or ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled
            || context.Response.HasStarted)
        {
            return;
        }
        var result = error == ForwarderError.RequestTimedOut
            ? OAuthResults.Error(StatusCodes.Status504GatewayTimeout, "gateway_timeout", "the upstream API did not answer in time")
            : OAuthResults.Error(StatusCodes.Status502BadGateway, "bad_gateway", "the upstream API could not be reached or failed to answer");
        await result.ExecuteAsync(context);
    }

    // YARP's own client settings (no proxy, redirects, cookies or decompression), without the trace
    // handler when nothing collects traces.
    private sealed class UpstreamClientFactory(bool traced) : ForwarderHttpClientFactory
    {
        protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
        {
            base.ConfigureHandler(context, handler);
            if (!traced)
            {
                handler.ActivityHeadersPropagator = null;
            }
        }
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
