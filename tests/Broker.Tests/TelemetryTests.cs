using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Broker.Core.Clients;
using Broker.Hosting;
using Broker.Tests.Faults;
using Broker.Tests.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Broker.Tests;

/// <summary>
/// The OpenTelemetry listeners are process-wide: a broker of another test running alongside would add to
/// these counts. The telemetry tests run alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryRunsAlone
{
    public const string Name = "Telemetry";
}

/// <summary>
/// The broker's telemetry through a real OpenTelemetry pipeline in process (the in-memory exporter) and
/// the Prometheus scrape over real sockets: each metric moves by what the action that moves it did, a
/// security event carries its event id, and the traces of an installation and of a gated call hold
/// their spans and none of the secrets, codes, tokens or keys that passed through them.
/// </summary>
[Collection(TelemetryRunsAlone.Name)]
public sealed class TelemetryTests : IDisposable
{
    private readonly BrokerFactory broker = new();
    private readonly List<MetricSnapshot> metrics = [];
    private readonly List<Activity> spans = [];
    private readonly CapturedLogs logs = new();

    public TelemetryTests()
    {
        broker.TestServices = services =>
        {
            services.AddSingleton<ILoggerProvider>(logs);
            services.AddOpenTelemetry()
                .WithMetrics(builder => builder.AddInMemoryExporter(metrics))
                .WithTracing(builder => builder.AddInMemoryExporter(spans));
        };
    }

    public void Dispose() => broker.Dispose();

    [Fact]
    public async Task Each_metric_moves_by_what_the_installation_flow_and_the_gate_did()
    {
        broker.Settings["Installation:FailedClientAuthenticationsPerWindow"] = "2";
        var parent = await broker.CreateParentAsync();
        var parentId = parent.Client.ClientId;
        await broker.CreateUserAsync();
        var flow = new Installation(broker);
        await flow.Browser.SignInAsync();
        var api = broker.CreateApiClient();

        // One installation end to end, and one the site owner denies.
        var code = await flow.ApproveAsync(parent);
        var token = await Installation.TokenAsync(api, parent, code);
        var created = await Installation.CreateChildAsync(api, token, new { name = "Blog", description = "" });
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var childId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("client_id").GetString()!;
        var consent = await flow.Browser.GetAsync(Installation.AuthorizeUrl(parentId));
        var denied = await flow.Browser.SubmitAsync(await Browser.FormAsync(consent, "/oauth/authorize"), ("decision", "deny"));
        denied.StatusCode.Should().Be(HttpStatusCode.Redirect);

        // The gate: three admitted calls, an unknown key and a parent's key.
        for (var i = 0; i < 3; i++)
        {
            (await GatewayCalls.CallAsync(api, childId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);
        }
        (await GatewayCalls.CallAsync(api, "Unknown0000000000000000000000", "/photos")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await GatewayCalls.CallAsync(api, parentId, "/photos")).StatusCode.Should().Be(HttpStatusCode.Forbidden);

        // The code again: a replay, which also revokes the child it minted. Then a wrong secret twice, and a
        // third attempt the throttle refuses.
        (await Installation.RequestTokenAsync(api, parent, code)).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var wrongSecret = parent with { ClientSecret = new string('0', 64) };
        (await Installation.RequestTokenAsync(api, wrongSecret, code)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await Installation.RequestTokenAsync(api, wrongSecret, code)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await Installation.RequestTokenAsync(api, wrongSecret, code)).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);

        // Once the child's cached key expires, its calls are a revoked key's.
        broker.Time.Advance(TimeSpan.FromMinutes(1));
        (await GatewayCalls.CallAsync(api, childId, "/photos")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        // A failed sign-in, and open registration while the tenant has it off.
        var stranger = new Browser(broker.CreateBrowser());
        var login = await Browser.FormAsync(await stranger.GetAsync("/account/login"), "/account/login");
        (await stranger.SubmitAsync(login, ("email", "owner@blog.example"), ("password", "wrong"))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await api.PostAsJsonAsync("/oidc/register", new { client_name = "x", redirect_uris = new[] { "https://x.example/cb" } }))
            .StatusCode.Should().Be(HttpStatusCode.Forbidden);

        Collect();
        Sum("broker.installations", (BrokerTelemetry.StepTag, "started")).Should().Be(2);
        Sum("broker.installations", (BrokerTelemetry.StepTag, "approved")).Should().Be(1);
        Sum("broker.installations", (BrokerTelemetry.StepTag, "denied")).Should().Be(1);
        Sum("broker.installations", (BrokerTelemetry.StepTag, "completed")).Should().Be(1);
        Sum("broker.token.requests", (BrokerTelemetry.GrantTag, "authorization_code"), (BrokerTelemetry.OutcomeTag, "issued")).Should().Be(1);
        Sum("broker.token.requests", (BrokerTelemetry.OutcomeTag, "invalid_grant")).Should().Be(1);
        Sum("broker.token.requests", (BrokerTelemetry.OutcomeTag, "invalid_client")).Should().Be(2);
        Sum("broker.token.requests", (BrokerTelemetry.OutcomeTag, "throttled")).Should().Be(1);
        Sum("broker.authentication.failures", (BrokerTelemetry.AuthenticationTag, "client")).Should().Be(2);
        Sum("broker.authentication.failures", (BrokerTelemetry.AuthenticationTag, "login")).Should().Be(1);
        Sum("broker.throttles", (BrokerTelemetry.ThrottleTag, "failed-client-authentications")).Should().Be(1);
        Sum("broker.gateway.decisions", (BrokerTelemetry.OutcomeTag, "admitted"), (BrokerTelemetry.ParentTag, parentId)).Should().Be(3);
        Sum("broker.gateway.decisions", (BrokerTelemetry.OutcomeTag, "unknown_key")).Should().Be(1);
        Sum("broker.gateway.decisions", (BrokerTelemetry.OutcomeTag, "parent_key"), (BrokerTelemetry.ParentTag, parentId)).Should().Be(1);
        Sum("broker.gateway.decisions", (BrokerTelemetry.OutcomeTag, "revoked_key")).Should().Be(1);
        Count("broker.quota.store.duration", (BrokerTelemetry.StoreTag, "memory")).Should().Be(3);
        Sum("broker.registrations", (BrokerTelemetry.SourceTag, "open"), (BrokerTelemetry.OutcomeTag, "disabled")).Should().Be(1);
        Count("broker.storage.group_commit.batch_size").Should().BeGreaterThan(0);
        Gauge("broker.database.available").Should().Be(1);
        Gauge("broker.quota.store.available").Should().Be(1);
        metrics.Should().NotContain(metric => metric.Name == "broker.redis.available" && metric.MetricPoints.Count > 0,
            "Redis is not configured");

        // Each security event under its fixed id, in the Broker.Security category.
        var security = logs.Entries.Where(entry => entry.Category == SecurityEvents.Category).ToList();
        security.Select(entry => entry.EventId.Id).Should().Contain([
            SecurityEvents.CodeReplayedId, SecurityEvents.ClientAuthenticationFailedId, SecurityEvents.ThrottledId,
            SecurityEvents.RevokedKeyUsedId, SecurityEvents.LoginFailedId]);
        security.Should().OnlyContain(entry => entry.Level == LogLevel.Warning);
        security.Should().NotContain(entry => entry.Message.Contains(childId) || entry.Message.Contains(code) || entry.Message.Contains(token));
    }

    [Fact]
    public async Task An_authorization_request_to_a_foreign_redirect_uri_is_a_security_event()
    {
        var parent = await broker.CreateParentAsync();
        await broker.CreateUserAsync();
        var flow = new Installation(broker);
        await flow.Browser.SignInAsync();

        var refused = await flow.Browser.GetAsync(Installation.AuthorizeUrl(parent.Client.ClientId, "https://evil.example/elsewhere"));

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        logs.Entries.Should().Contain(entry => entry.Category == SecurityEvents.Category && entry.EventId.Id == SecurityEvents.RedirectRefusedId);
    }

    [Fact]
    public async Task Registrations_count_by_source_and_outcome_and_a_wrong_admin_token_is_a_security_event()
    {
        await Registrations.EnableAsync(broker);
        var api = broker.CreateApiClient();
        await Registrations.RegisterServiceClientAsync(api, "Reporting job");
        (await api.PostAsJsonAsync("/oidc/register", new
        {
            client_name = "Reporting job",
            application_type = "service",
            redirect_uris = new[] { "https://sync.example/unused" },
            grant_types = new[] { "client_credentials" },
            token_endpoint_auth_method = "client_secret_post",
        }))
            .StatusCode.Should().Be(HttpStatusCode.BadRequest, "the name is taken");
        (await api.PostAsJsonAsync("/oidc/register", new { redirect_uris = "not a list" })).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var admin = broker.CreateApiClient();
        admin.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"SSWS {new string('a', 64)}");
        (await admin.GetAsync("/oauth2/v1/clients")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        Collect();
        Sum("broker.registrations", (BrokerTelemetry.SourceTag, "open"), (BrokerTelemetry.OutcomeTag, "created")).Should().Be(1);
        Sum("broker.registrations", (BrokerTelemetry.SourceTag, "open"), (BrokerTelemetry.OutcomeTag, "name_taken")).Should().Be(1);
        Sum("broker.registrations", (BrokerTelemetry.SourceTag, "open"), (BrokerTelemetry.OutcomeTag, "invalid_metadata")).Should().Be(1);
        Sum("broker.authentication.failures", (BrokerTelemetry.AuthenticationTag, "admin")).Should().Be(1);
        logs.Entries.Should().Contain(entry => entry.Category == SecurityEvents.Category && entry.EventId.Id == SecurityEvents.AdminAuthenticationFailedId);
    }

    [Fact]
    public async Task A_traced_installation_holds_authorize_consent_token_and_post_clients_and_no_secret()
    {
        var parent = await broker.CreateParentAsync();
        await broker.CreateUserAsync();
        var flow = new Installation(broker);
        await flow.Browser.SignInAsync();
        var api = broker.CreateApiClient();
        // The plugin and the browser carry one trace context through the flow, as instrumented callers do.
        var traceId = ActivityTraceId.CreateRandom();
        var traceparent = $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01";
        flow.Browser.Http.DefaultRequestHeaders.Add("traceparent", traceparent);
        api.DefaultRequestHeaders.Add("traceparent", traceparent);

        var code = await flow.ApproveAsync(parent);
        var token = await Installation.TokenAsync(api, parent, code);
        var created = await Installation.CreateChildAsync(api, token, new { name = "Blog", description = "" });
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var childId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("client_id").GetString()!;
        (await GatewayCalls.CallAsync(api, childId, $"/photos?client_id={childId}")).StatusCode.Should().Be(HttpStatusCode.OK);

        // A request's own span ends when the server disposes the request, which may be just after the test
        // client has read the answer: wait (bounded) for the last two requests' spans.
        List<Activity> trace = [];
        for (var look = 0; look < 50; look++)
        {
            broker.Services.GetRequiredService<TracerProvider>().ForceFlush().Should().BeTrue();
            trace = [.. spans.ToArray().Where(span => span.TraceId == traceId)];
            if (trace.Any(span => span.DisplayName == "POST /clients") && trace.Any(span => span.DisplayName == "GET /photos"))
            {
                break;
            }
            await Task.Delay(100);
        }
        var names = trace.Select(span => span.DisplayName).ToList();
        names.Should().Contain(["GET /oauth/authorize", "authorize", "POST /oauth/authorize", "consent", "POST /oauth/token", "token",
            "POST /clients", "create installation", "gate", "gate key", "gate quota", "gate forward"]);
        names.Should().Contain(name => name.StartsWith("db ", StringComparison.Ordinal), "each store operation is a span");
        trace.Single(span => span.DisplayName == "create installation").GetTagItem(BrokerTelemetry.ParentTag).Should().Be(parent.Client.ClientId);
        trace.Single(span => span.DisplayName == "gate").GetTagItem(BrokerTelemetry.OutcomeTag).Should().Be("admitted");

        // Nothing secret anywhere in the trace: not the secret, the code, the token, nor the child's key.
        var secrets = new[] { parent.ClientSecret, code, token, childId };
        var written = trace.SelectMany(span => span.TagObjects.Select(tag => $"{tag.Key}={tag.Value}")
                .Concat(span.Events.Select(e => e.Name)).Append(span.DisplayName).Append(span.StatusDescription ?? ""))
            .ToList();
        written.Should().NotContain(text => secrets.Any(secret => text.Contains(secret, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_scrape_endpoint_over_http_shows_each_gate_outcome_with_its_count()
    {
        broker.Settings["Telemetry:Prometheus"] = "true";
        var http = GatewayCalls.StartOnKestrel(broker);
        var parent = await broker.CreateParentAsync();
        var owner = await broker.CreateUserAsync();
        var child = await GatewayCalls.CreateChildAsync(broker, parent, owner, rateLimit: 2);

        for (var i = 0; i < 3; i++)
        {
            await GatewayCalls.CallAsync(http, child.ClientId, "/photos");
        }
        (await GatewayCalls.CallAsync(http, "Unknown0000000000000000000000", "/photos")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        var scrape = await http.GetAsync("/metrics");
        scrape.StatusCode.Should().Be(HttpStatusCode.OK);
        scrape.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
        var text = await scrape.Content.ReadAsStringAsync();
        var parentLabel = $"broker_parent_client_id=\"{parent.Client.ClientId}\"";
        Sample(text, "broker_gateway_decisions_total", "broker_outcome=\"admitted\"", parentLabel).Should().Be(2);
        Sample(text, "broker_gateway_decisions_total", "broker_outcome=\"quota_spent\"", parentLabel).Should().Be(1);
        Sample(text, "broker_gateway_decisions_total", "broker_outcome=\"unknown_key\"").Should().Be(1);
        Sample(text, "broker_quota_store_duration_seconds_count", "broker_quota_store=\"memory\"").Should().Be(3);
        Sample(text, "broker_database_available").Should().Be(1);
        text.Should().NotContain(child.ClientId, "a child's key is its credential");
    }

    [Fact]
    public async Task Forwarded_calls_are_timed_by_the_upstream_status()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var upstream = builder.Build();
        upstream.MapGet("/photos", () => Results.Json(new { upstream = true }));
        upstream.MapGet("/gone", () => Results.StatusCode(StatusCodes.Status404NotFound));
        await upstream.StartAsync();
        broker.Settings["Gateway:Upstream"] = upstream.Urls.First();
        broker.Settings["Gateway:Routes:0"] = "GET /photos";
        broker.Settings["Gateway:Routes:1"] = "GET /gone";
        var parent = await broker.CreateParentAsync();
        await broker.Administration.EnableParentAsync(parent.Client.ClientId, RedirectPolicy.Installation, "/broker/callback", 100,
            ["GET /photos", "GET /gone"]);
        var child = await GatewayCalls.CreateChildAsync(broker, parent, await broker.CreateUserAsync());
        var api = broker.CreateApiClient();

        (await GatewayCalls.CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await GatewayCalls.CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await GatewayCalls.CallAsync(api, child.ClientId, "/gone")).StatusCode.Should().Be(HttpStatusCode.NotFound);

        Collect();
        Count("broker.gateway.upstream.duration", (BrokerTelemetry.StatusTag, 200)).Should().Be(2);
        Count("broker.gateway.upstream.duration", (BrokerTelemetry.StatusTag, 404)).Should().Be(1);
    }

    [RedisFact]
    public async Task With_the_redis_quota_store_its_latency_availability_and_commands_are_observed_without_the_key()
    {
        broker.Settings["Gateway:QuotaStore"] = "Redis";
        broker.Settings["Redis:Configuration"] = Environment.GetEnvironmentVariable(RedisFactAttribute.Variable);
        broker.Settings["Redis:KeyPrefix"] = $"telemetry:{Guid.NewGuid():N}:";
        var parent = await broker.CreateParentAsync();
        var owner = await broker.CreateUserAsync();
        var child = await GatewayCalls.CreateChildAsync(broker, parent, owner);
        var api = broker.CreateApiClient();

        for (var i = 0; i < 2; i++)
        {
            (await GatewayCalls.CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        Collect();
        Count("broker.quota.store.duration", (BrokerTelemetry.StoreTag, "redis")).Should().Be(2);
        Gauge("broker.redis.available").Should().Be(1);
        Gauge("broker.quota.store.available").Should().Be(1);
        // The Redis instrumentation turns its profiling sessions into spans on a timer of its own.
        var tracer = broker.Services.GetRequiredService<TracerProvider>();
        for (var attempt = 0; attempt < 60 && !spans.Any(IsRedis); attempt++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            tracer.ForceFlush();
        }
        var redisSpans = spans.Where(IsRedis).ToList();
        redisSpans.Should().NotBeEmpty("the quota script runs on the traced connection");
        redisSpans.SelectMany(span => span.TagObjects).Should().NotContain(tag => $"{tag.Value}".Contains(child.ClientId),
            "the quota counter's key holds the child's key");
    }

    private static bool IsRedis(Activity span) => span.GetTagItem("db.system") is "redis" || span.GetTagItem("db.system.name") is "redis";

    [Fact]
    public async Task Without_configuration_there_is_no_scrape_endpoint()
    {
        var api = broker.CreateApiClient();

        (await api.GetAsync("/metrics")).StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    private void Collect()
    {
        metrics.Clear();
        broker.Services.GetRequiredService<MeterProvider>().ForceFlush().Should().BeTrue();
    }

    private IEnumerable<MetricPoint> Points(string name, (string Key, object Value)[] tags)
    {
        foreach (var metric in metrics.Where(metric => metric.Name == name))
        {
            foreach (var point in metric.MetricPoints)
            {
                var pointTags = new Dictionary<string, object?>();
                foreach (var tag in point.Tags)
                {
                    pointTags[tag.Key] = tag.Value;
                }
                if (tags.All(tag => pointTags.TryGetValue(tag.Key, out var value) && Equals(value, tag.Value)))
                {
                    yield return point;
                }
            }
        }
    }

    private long Sum(string name, params (string Key, object Value)[] tags) => Points(name, tags).Sum(point => point.GetSumLong());

    private long Count(string name, params (string Key, object Value)[] tags) => Points(name, tags).Sum(point => point.GetHistogramCount());

    private long Gauge(string name) => Points(name, []).Single().GetGaugeLastValueLong();

    // The value of the one sample of the metric whose labels include every label given.
    private static double Sample(string exposition, string metric, params string[] labels)
    {
        var samples = exposition.Split('\n')
            .Select(line => Regex.Match(line, $@"^{Regex.Escape(metric)}(\{{(?<labels>[^}}]*)\}})? (?<value>\S+)"))
            .Where(match => match.Success && labels.All(label => match.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)))
            .ToList();
        samples.Should().ContainSingle($"one sample of {metric} with {string.Join(", ", labels)} in:\n{exposition}");
        return double.Parse(samples[0].Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
