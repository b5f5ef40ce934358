using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Core.Clients;
using Broker.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using static Broker.Tests.Gateway.GatewayCalls;

namespace Broker.Tests.Gateway;

/// <summary>Forwarding through YARP to a real upstream (Kestrel on loopback), and upstream failures.</summary>
public sealed class ForwardingTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<(string PathAndQuery, Dictionary<string, string> Headers)> seen = new();
    private WebApplication upstream = null!;
    private string upstreamAddress = "";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        upstream = builder.Build();
        upstream.MapGet("/slow", async (CancellationToken cancelled) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), cancelled);
            return Results.Ok();
        });
        upstream.MapGet("/gone", () => Results.StatusCode(StatusCodes.Status404NotFound));
        upstream.MapFallback((HttpContext context) =>
        {
            seen.Enqueue((context.Request.Path + context.Request.QueryString,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            // An upstream's own rate-limit headers must not override the broker's.
            context.Response.Headers["X-Ratelimit-Limit"] = "999";
            return Results.Json(new { upstream = true });
        });
        await upstream.StartAsync();
        upstreamAddress = upstream.Urls.First();
    }

    public async Task DisposeAsync() => await upstream.DisposeAsync();

    private static BrokerFactory NewBroker(string upstreamUrl, string? timeout = null)
    {
        var broker = new BrokerFactory();
        broker.Settings["Gateway:Upstream"] = upstreamUrl;
        broker.Settings["Gateway:Routes:0"] = "GET /photos";
        broker.Settings["Gateway:Routes:1"] = "GET /slow";
        broker.Settings["Gateway:Routes:2"] = "POST /photos/*/like";
        broker.Settings["Gateway:Routes:3"] = "GET /gone";
        if (timeout is not null)
        {
            broker.Settings["Gateway:UpstreamTimeout"] = timeout;
        }
        return broker;
    }

    private static async Task<Client> ChildAsync(BrokerFactory broker)
    {
        var parent = await broker.CreateParentAsync();
        await broker.Administration.EnableParentAsync(parent.Client.ClientId, RedirectPolicy.Installation, "/broker/callback", 100,
            ["GET /photos", "GET /slow", "GET /gone"]);
        return await CreateChildAsync(broker, parent, await broker.CreateUserAsync());
    }

    [Fact]
    public async Task The_upstream_gets_the_call_without_the_key_and_with_the_child_and_owner_named()
    {
        using var broker = NewBroker(upstreamAddress);
        // Real sockets, so that the caller has an address for X-Forwarded-For.
        using var api = StartOnKestrel(broker);
        var child = await ChildAsync(broker);

        var request = new HttpRequestMessage(HttpMethod.Get, $"/photos?page=2&client_id={child.ClientId}");
        request.Headers.TryAddWithoutValidation("Authorization", $"Client-ID {child.ClientId}");
        request.Headers.TryAddWithoutValidation(GatewayForwarding.ClientHeader, "SpoofedChild");
        request.Headers.TryAddWithoutValidation("Forwarded", "for=203.0.113.9");
        request.Headers.Connection.Add("X-Hop-Secret");
        request.Headers.TryAddWithoutValidation("X-Hop-Secret", "for the broker only");
        request.Headers.TryAddWithoutValidation("Proxy-Authorization", "Basic c2VjcmV0");
        request.Headers.TryAddWithoutValidation("X-End-To-End", "kept");
        var response = await api.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("upstream").GetBoolean().Should().BeTrue();
        Header(response, "X-Ratelimit-Limit").Should().Be("100");
        Header(response, "X-Ratelimit-Remaining").Should().Be("99");
        seen.Should().ContainSingle();
        var (pathAndQuery, headers) = seen.Single();
        pathAndQuery.Should().Be("/photos?page=2");
        headers.Should().NotContainKey("Authorization").And.NotContainKey("Forwarded")
            .And.NotContainKey("X-Hop-Secret").And.NotContainKey("Proxy-Authorization");
        headers["X-End-To-End"].Should().Be("kept");
        headers[GatewayForwarding.ClientHeader].Should().Be(child.ClientId);
        headers[GatewayForwarding.OwnerHeader].Should().Be(((InstallationRole)child.Role).OwnerUserId);
        headers[GatewayForwarding.ParentHeader].Should().Be(((InstallationRole)child.Role).ParentClientId);
        // X-Forwarded-* name this hop's caller as the broker sees it (whom it trusts is ForwardedHeaders:KnownProxies).
        headers["X-Forwarded-For"].Should().Be("127.0.0.1");
        headers["X-Forwarded-Proto"].Should().Be("http");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_callers_trace_context_reaches_the_upstream_and_the_broker_joins_it_only_when_tracing(bool traced)
    {
        using var broker = NewBroker(upstreamAddress);
        if (traced)
        {
            broker.TestServices = services => services.AddOpenTelemetry().WithTracing(tracing => tracing.AddInMemoryExporter(new List<Activity>()));
        }
        var child = await ChildAsync(broker);
        var traceId = ActivityTraceId.CreateRandom();
        var callersSpan = ActivitySpanId.CreateRandom();
        var request = new HttpRequestMessage(HttpMethod.Get, "/photos");
        request.Headers.TryAddWithoutValidation("Authorization", $"Client-ID {child.ClientId}");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{callersSpan}-01");

        (await broker.CreateApiClient().SendAsync(request)).StatusCode.Should().Be(HttpStatusCode.OK);

        var forwarded = ActivityContext.Parse(seen.Single().Headers["traceparent"], null);
        forwarded.TraceId.Should().Be(traceId, "the upstream's work belongs to the caller's trace either way");
        if (traced)
        {
            forwarded.SpanId.Should().NotBe(callersSpan, "a traced broker is a hop of its own in the trace");
        }
        else
        {
            forwarded.SpanId.Should().Be(callersSpan, "an untraced broker passes the caller's context on as it came");
        }
    }

    [Fact]
    public async Task An_upstream_error_without_a_body_is_passed_on_as_it_is()
    {
        // The broker gives its own bodiless answers a body; the upstream's are the upstream's.
        using var broker = NewBroker(upstreamAddress);
        var child = await ChildAsync(broker);
        var request = new HttpRequestMessage(HttpMethod.Get, "/gone");
        request.Headers.TryAddWithoutValidation("Authorization", $"Client-ID {child.ClientId}");

        var response = await broker.CreateApiClient().SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await response.Content.ReadAsStringAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Refused_calls_never_reach_the_upstream()
    {
        using var broker = NewBroker(upstreamAddress);
        var child = await ChildAsync(broker);
        var api = broker.CreateApiClient();

        (await CallAsync(api, child.ClientId, "/photos/abc/like", HttpMethod.Post)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await CallAsync(api, "Abcdefghijklmnopqrstuvwxyz0123", "/photos")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        seen.Should().BeEmpty();
    }

    [Fact]
    public async Task An_upstream_that_is_down_gets_502_json()
    {
        using var broker = NewBroker($"http://127.0.0.1:{FreePort()}");
        var child = await ChildAsync(broker);

        var response = await CallAsync(broker.CreateApiClient(), child.ClientId, "/photos");
        response.StatusCode.Should().Be(HttpStatusCode.BadGateway);
        (await ErrorAsync(response)).Should().Be("bad_gateway");
        Header(response, "X-Ratelimit-Remaining").Should().Be("99");
    }

    [Fact]
    public async Task An_upstream_that_is_too_slow_gets_504_json()
    {
        using var broker = NewBroker(upstreamAddress, timeout: "00:00:01");
        var child = await ChildAsync(broker);

        var response = await CallAsync(broker.CreateApiClient(), child.ClientId, "/slow");
        response.StatusCode.Should().Be(HttpStatusCode.GatewayTimeout);
        (await ErrorAsync(response)).Should().Be("gateway_timeout");
    }
}
