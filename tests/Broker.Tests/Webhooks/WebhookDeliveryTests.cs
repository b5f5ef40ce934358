using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Cli;
using Broker.Hosting;
using Broker.Core.Platform;
using Broker.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StandardWebhooks;
using static Broker.Tests.Webhooks.WebhookHarness;

namespace Broker.Tests.Webhooks;

/// <summary>
/// The audit log delivered to a real HTTP receiver on loopback (Kestrel): signed, in order, every entry,
/// through failures, timeouts, parking and replay.
/// </summary>
public sealed class WebhookDeliveryTests
{
    [Fact]
    public async Task Every_change_after_subscribing_is_delivered_once_in_order_and_verifies_with_the_standard_webhooks_library()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var broker = DeliveringBroker();
        var admin = await AdminAsync(broker);
        var (_, secret, start) = await SubscribeAsync(admin, receiver.Url);
        var parent = await broker.CreateParentAsync();
        for (var i = 0; i < 5; i++)
        {
            await RotateAsync(broker, parent.Client.ClientId);
        }
        var expected = await EntriesAfterAsync(broker, start);

        await receiver.WaitUntilAsync(received => received.Count >= expected.Count, $"{expected.Count} deliveries");

        var delivered = receiver.Accepted;
        delivered.Select(request => request.AuditId).Should().Equal(expected.Select(entry => entry.Id), "every entry once, in the log's order");
        var verifier = new StandardWebhook(secret);
        foreach (var (request, entry) in delivered.Zip(expected))
        {
            var verify = () => verifier.Verify(request.Body, request.Headers);
            verify.Should().NotThrow("the signature is the Standard Webhooks HMAC-SHA256 of id.timestamp.body");
            var body = JsonDocument.Parse(request.Body).RootElement;
            body.GetProperty("type").GetString().Should().Be(entry.Action);
            body.GetProperty("data").GetProperty("target").GetString().Should().Be(entry.Target);
            body.GetProperty("data").GetProperty("id").GetInt64().Should().Be(entry.Id);
        }
        expected.Count(entry => entry.Action == AuditActions.SecretRotated).Should().Be(5);
        var tampered = () => verifier.Verify(delivered[0].Body.Replace("\"type\"", "\"typo\"", StringComparison.Ordinal), delivered[0].Headers);
        tampered.Should().Throw<Exception>("a changed body does not verify");
    }

    [Fact]
    public async Task The_audit_entry_of_a_subscription_names_the_receivers_host_never_the_secret_in_its_path()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var broker = DeliveringBroker();
        var admin = await AdminAsync(broker);
        var withSecret = new Uri(receiver.Url, "/hooks/T0000/B0000/receiver-own-secret?token=also-secret");

        var (id, _, _) = await SubscribeAsync(admin, withSecret);

        var created = (await EntriesAfterAsync(broker, 0)).Single(entry => entry.Action == AuditActions.WebhookCreated && entry.Target == AuditActions.Webhook(id));
        created.Details.Should().Be(withSecret.GetLeftPart(UriPartial.Authority));
        created.Details.Should().NotContain("secret");
    }

    [Fact]
    public async Task Only_the_subscribed_event_types_are_delivered()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var broker = DeliveringBroker();
        var admin = await AdminAsync(broker);
        var (_, _, start) = await SubscribeAsync(admin, receiver.Url, AuditActions.SecretRotated);
        var parent = await broker.CreateParentAsync();
        await RotateAsync(broker, parent.Client.ClientId);
        await RotateAsync(broker, parent.Client.ClientId);
        var rotations = (await EntriesAfterAsync(broker, start)).Where(entry => entry.Action == AuditActions.SecretRotated).ToList();

        await receiver.WaitUntilAsync(received => received.Count >= 2, "both rotations");

        receiver.Accepted.Select(request => request.AuditId).Should().Equal(rotations.Select(entry => entry.Id));
    }

    [Fact]
    public async Task A_receiver_that_fails_then_times_out_then_recovers_gets_every_entry_in_order()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var broker = DeliveringBroker(maxAttempts: 20);
        var admin = await AdminAsync(broker);
        receiver.FailNext(3);
        var (id, _, start) = await SubscribeAsync(admin, receiver.Url);
        var parent = await broker.CreateParentAsync();
        await RotateAsync(broker, parent.Client.ClientId);
        // The first entry is refused three times; then the receiver stops answering for a while.
        await receiver.WaitUntilAsync(received => received.Count >= 3, "three refused attempts");
        receiver.Mode = WebhookReceiver.Behaviour.Hang;
        await receiver.WaitUntilAsync(received => received.Count >= 5, "two attempts that time out");
        await RotateAsync(broker, parent.Client.ClientId);
        receiver.Mode = WebhookReceiver.Behaviour.Accept;
        var expected = await EntriesAfterAsync(broker, start);

        await receiver.WaitUntilAsync(received => received.Count(request => request.Status == 200) >= expected.Count, "every entry accepted");

        receiver.Accepted.Select(request => request.AuditId).Should().Equal(expected.Select(entry => entry.Id), "nothing lost, nothing reordered");
        receiver.Received.Take(5).Select(request => request.Id).Distinct().Should().ContainSingle("a failed entry is retried before any later one");
        var subscription = await admin.GetFromJsonAsync<JsonElement>($"/admin/v1/webhooks/{id}");
        subscription.GetProperty("status").GetString().Should().Be("active");
        subscription.GetProperty("failures").GetInt32().Should().Be(0, "a success clears the failures");
    }

    [Fact]
    public async Task A_receiver_that_never_answers_holds_up_only_its_own_subscription()
    {
        await using var stuck = await WebhookReceiver.StartAsync();
        await using var healthy = await WebhookReceiver.StartAsync();
        stuck.Mode = WebhookReceiver.Behaviour.Hang;
        // Enough attempts that the stuck subscription would hold a shared loop past the wait below.
        using var broker = DeliveringBroker(maxAttempts: 100);
        var admin = await AdminAsync(broker);
        await SubscribeAsync(admin, stuck.Url);
        await stuck.WaitUntilAsync(received => received.Count >= 1, "the stuck receiver's first attempt");
        var (_, _, start) = await SubscribeAsync(admin, healthy.Url);
        var parent = await broker.CreateParentAsync();
        await RotateAsync(broker, parent.Client.ClientId);
        var expected = await EntriesAfterAsync(broker, start);

        await healthy.WaitUntilAsync(received => received.Count >= expected.Count, "every entry while the other receiver hangs");

        healthy.Accepted.Select(request => request.AuditId).Should().Equal(expected.Select(entry => entry.Id));
        stuck.Accepted.Should().BeEmpty();
    }

    [Fact]
    public async Task A_receiver_that_keeps_failing_parks_the_subscription_and_a_replay_from_the_command_line_delivers_what_was_held()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var broker = DeliveringBroker(maxAttempts: 3);
        var admin = await AdminAsync(broker);
        using var attempts = new BrokerMetrics(broker.Services, "broker.webhooks.deliveries", BrokerTelemetry.WebhookOutcomeTag);
        using var parked = new BrokerMetrics(broker.Services, "broker.webhooks.parked");
        receiver.Mode = WebhookReceiver.Behaviour.Fail;
        var (id, _, start) = await SubscribeAsync(admin, receiver.Url);
        var parent = await broker.CreateParentAsync();
        await RotateAsync(broker, parent.Client.ClientId);

        JsonElement subscription = default;
        await receiver.WaitUntilAsync(received => received.Count >= 3, "three attempts");
        for (var look = 0; look < 200; look++)
        {
            subscription = await admin.GetFromJsonAsync<JsonElement>($"/admin/v1/webhooks/{id}");
            if (subscription.GetProperty("status").GetString() == "parked")
            {
                break;
            }
            await Task.Delay(50);
        }
        subscription.GetProperty("status").GetString().Should().Be("parked");
        subscription.GetProperty("failures").GetInt32().Should().Be(3);
        subscription.GetProperty("last_error").GetString().Should().Be("the receiver answered 500");
        subscription.GetProperty("delivered_through").GetInt64().Should().Be(start, "the failed entry is held, not skipped");
        receiver.Received.Should().HaveCount(3, "a parked subscription is not attempted again");
        attempts.ByKind.Should().Equal(new Dictionary<string, long> { ["failed"] = 2, ["parked"] = 1 });
        await broker.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<WebhookDispatcher>().Single().PassAsync(CancellationToken.None);
        parked.Observe();
        parked.ByKind.Should().Equal(new Dictionary<string, long> { [""] = 1 }, "the alert to raise: retention holds the audit log for it");

        receiver.Mode = WebhookReceiver.Behaviour.Accept;
        var (exit, output, error) = await CliAsync(broker, admin, "webhooks", "replay", id);
        exit.Should().Be(0, error);
        output.Should().Contain("active");
        var expected = await EntriesAfterAsync(broker, start);
        await receiver.WaitUntilAsync(
            received => received.Where(request => request.Status == 200).Select(request => request.AuditId).Contains(expected[^1].Id), "the held entries");

        receiver.Accepted.Select(request => request.AuditId).Should().Equal(expected.Select(entry => entry.Id));
        (await CliAsync(broker, admin, "webhooks", "list")).Output.Should().Contain(id).And.Contain("active");
        // Counted once the receiver's 200 reached the dispatcher, a moment after the receiver saw the request.
        for (var look = 0; look < 50 && attempts.ByKind.GetValueOrDefault("delivered") < expected.Count; look++)
        {
            await Task.Delay(100);
        }
        attempts.ByKind["delivered"].Should().Be(expected.Count);
        parked.Observe();
        parked.ByKind[""].Should().Be(0);
    }

    [Fact]
    public async Task A_replay_from_an_entry_delivers_it_and_everything_after_it_again()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var broker = DeliveringBroker();
        var admin = await AdminAsync(broker);
        var (id, _, start) = await SubscribeAsync(admin, receiver.Url, AuditActions.SecretRotated);
        var parent = await broker.CreateParentAsync();
        await RotateAsync(broker, parent.Client.ClientId);
        await RotateAsync(broker, parent.Client.ClientId);
        await receiver.WaitUntilAsync(received => received.Count >= 2, "both rotations");
        var first = receiver.Accepted[0].AuditId;

        var (exit, _, error) = await CliAsync(broker, admin, "webhooks", "replay", id, "--from", first.ToString(System.Globalization.CultureInfo.InvariantCulture));
        exit.Should().Be(0, error);

        await receiver.WaitUntilAsync(received => received.Count >= 4, "both rotations again");
        receiver.Accepted.Select(request => request.Id).Should().Equal(
            receiver.Accepted[0].Id, receiver.Accepted[1].Id, receiver.Accepted[0].Id, receiver.Accepted[1].Id);
    }

    [Fact]
    public async Task A_replay_from_past_the_newest_entry_is_refused_and_later_entries_are_still_delivered()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var broker = DeliveringBroker();
        var admin = await AdminAsync(broker);
        var (id, _, start) = await SubscribeAsync(admin, receiver.Url, AuditActions.SecretRotated);

        var refused = await admin.PostAsJsonAsync($"/admin/v1/webhooks/{id}/replay", new { from_event_id = start + 1_000_000 });

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().Should().Contain("past the newest audit entry");
        var parent = await broker.CreateParentAsync();
        await RotateAsync(broker, parent.Client.ClientId);
        await receiver.WaitUntilAsync(received => received.Count >= 1, "the rotation after the refused replay");
    }

    [Fact]
    public async Task After_a_secret_rotation_deliveries_verify_with_the_old_secret_and_with_the_new_one()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var broker = DeliveringBroker();
        var admin = await AdminAsync(broker);
        var (id, oldSecret, _) = await SubscribeAsync(admin, receiver.Url, AuditActions.SecretRotated);
        var rotated = await admin.PostAsync($"/admin/v1/webhooks/{id}/rotate-secret", null);
        rotated.StatusCode.Should().Be(HttpStatusCode.OK);
        var rotation = await rotated.Content.ReadFromJsonAsync<JsonElement>();
        var newSecret = rotation.GetProperty("secret").GetString()!;
        newSecret.Should().NotBe(oldSecret);
        rotation.GetProperty("subscription").GetProperty("previous_secret_expires_at").GetDateTimeOffset()
            .Should().Be(broker.Time.GetUtcNow() + TimeSpan.FromDays(1), "the overlap of a rotated client secret");
        var parent = await broker.CreateParentAsync();
        await RotateAsync(broker, parent.Client.ClientId);

        await receiver.WaitUntilAsync(received => received.Count >= 1, "a delivery");

        var delivery = receiver.Accepted[0];
        delivery.Signature.Split(' ').Should().HaveCount(2);
        new Action(() => new StandardWebhook(newSecret).Verify(delivery.Body, delivery.Headers)).Should().NotThrow();
        // StandardWebhooks 1.1.2's Verify reads only the first signature of the header, where the spec asks a
        // receiver to accept any: a receiver still on the old secret checks each, as here with the library's Sign.
        SignedWith(oldSecret, delivery).Should().BeTrue("the previous secret signs too during the overlap");
        SignedWith(newSecret, delivery).Should().BeTrue();

        // Past the overlap only the new secret signs.
        broker.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        await RotateAsync(broker, parent.Client.ClientId);
        await receiver.WaitUntilAsync(received => received.Count >= 2, "a second delivery");
        var later = receiver.Accepted[1];
        later.Signature.Split(' ').Should().ContainSingle();
        SignedWith(newSecret, later).Should().BeTrue();
        SignedWith(oldSecret, later).Should().BeFalse();
    }

    [Fact]
    public async Task Bad_subscriptions_are_refused_with_a_problem_and_nothing_is_written()
    {
        using var broker = new BrokerFactory();
        var admin = await AdminAsync(broker);
        var refusals = new (string Body, string Detail)[]
        {
            ("{", "not well-formed JSON"),
            ("""{"url":"https://hooks.example/in","colour":"red"}""", "colour"),
            ("""{"event_types":[]}""", "url must be an absolute https URL"),
            ("""{"url":"ftp://hooks.example/in"}""", "url must be an absolute https URL"),
            ("""{"url":"http://hooks.example/in"}""", "url must use https"),
            ("""{"url":"https://127.0.0.1/in"}""", "must not point at a loopback, private or link-local address"),
            ("""{"url":"https://10.1.2.3/in"}""", "must not point at a loopback, private or link-local address"),
            ("""{"url":"https://[fe80::1]/in"}""", "must not point at a loopback, private or link-local address"),
            ("""{"url":"https://localhost./in"}""", "must not point at a loopback, private or link-local address"),
            ("""{"url":"https://user:pw@hooks.example/in"}""", "user-info"),
            ("""{"url":"https://hooks.example/in","event_types":["client.exploded"]}""", "unknown event type 'client.exploded'"),
            ("""{"url":"https://hooks.example/in","event_types":[null]}""", "event_types must be a list of strings"),
            ("""{"url":"https://hooks.example/in","secret":"whsec_c2hvcnQ="}""", "secret must be 'whsec_'"),
        };
        foreach (var (body, detail) in refusals)
        {
            var response = await admin.PostAsync("/admin/v1/webhooks", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, body);
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().Should().Contain(detail, body);
        }
        var missing = await admin.PostAsJsonAsync("/admin/v1/webhooks/whnothere/replay", new { from_event_id = 1 });
        missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        var zero = await admin.PostAsJsonAsync("/admin/v1/webhooks/whnothere/replay", new { from_event_id = 0 });
        zero.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await admin.DeleteAsync("/admin/v1/webhooks/whnothere")).StatusCode.Should().Be(HttpStatusCode.NotFound);

        (await admin.GetFromJsonAsync<JsonElement>("/admin/v1/webhooks")).GetProperty("items").GetArrayLength().Should().Be(0);
        (await EntriesAfterAsync(broker, 0)).Should().NotContain(entry => entry.Action.StartsWith("webhook.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reading_needs_audit_read_and_changing_needs_tenant_write_too()
    {
        using var broker = new BrokerFactory();
        var platform = broker.Services.GetRequiredService<Broker.Hosting.PlatformAdministration>();
        async Task<HttpClient> With(params string[] scopes)
        {
            var token = (await platform.CreateAdminTokenAsync("scoped", scopes, AuditActor.CommandLine)).Value!.Value;
            var client = broker.CreateApiClient();
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("SSWS", token);
            return client;
        }
        var reader = await With(AdminScopes.AuditRead);
        var tenant = await With(AdminScopes.TenantWrite);
        var both = await With(AdminScopes.AuditRead, AdminScopes.TenantWrite);
        var body = new { url = "https://hooks.example/in" };

        (await reader.GetAsync("/admin/v1/webhooks")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await tenant.GetAsync("/admin/v1/webhooks")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await reader.PostAsJsonAsync("/admin/v1/webhooks", body)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await tenant.PostAsJsonAsync("/admin/v1/webhooks", body)).StatusCode.Should().Be(HttpStatusCode.Forbidden, "a subscription receives the whole audit log");
        (await both.PostAsJsonAsync("/admin/v1/webhooks", body)).StatusCode.Should().Be(HttpStatusCode.Created);
        (await broker.CreateApiClient().GetAsync("/admin/v1/webhooks")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Without_the_setting_the_sender_refuses_to_connect_to_an_address_a_name_resolves_to_internally()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        // The sender has no check of the name: what it refuses, it refuses by the address the name resolved to.
        var url = new UriBuilder(receiver.Url) { Host = "localhost" }.Uri.ToString();
        var payload = """{"type":"test"}""";
        byte[][] keys = [new byte[32]];

        using var guarded = new WebhookSender(Options.Create(new WebhookOptions()));
        var refused = () => guarded.SendAsync(url, "audit_1", DateTimeOffset.UtcNow, payload, keys, CancellationToken.None);
        (await refused.Should().ThrowAsync<WebhookDeliveryException>()).Which.Message.Should().Contain("resolves to an internal address");
        receiver.Received.Should().BeEmpty();

        using var allowed = new WebhookSender(Options.Create(new WebhookOptions { AllowInternalAddresses = true }));
        await allowed.SendAsync(url, "audit_1", DateTimeOffset.UtcNow, payload, keys, CancellationToken.None);
        receiver.Accepted.Should().ContainSingle("the same receiver is reachable when configuration allows it");
    }

    [Fact]
    public async Task Without_the_setting_a_loopback_receiver_is_refused_when_subscribing()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var broker = new BrokerFactory();
        var admin = await AdminAsync(broker);
        var https = new UriBuilder(receiver.Url) { Scheme = "https" }.Uri;

        var response = await admin.PostAsJsonAsync("/admin/v1/webhooks", new { url = https.ToString() });

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().Should().Contain("loopback");
    }

    [Fact]
    public async Task A_missing_audit_id_holds_back_later_entries_until_it_can_no_longer_commit()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var broker = DeliveringBroker();
        // No pass of its own in this test: each pass below is the test's.
        broker.Settings["Webhooks:PollInterval"] = "00:05:00";
        var admin = await AdminAsync(broker);
        var dispatcher = broker.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<WebhookDispatcher>().Single();
        var (id, _, start) = await SubscribeAsync(admin, receiver.Url);
        // An id taken by a transaction that has not committed yet (PostgreSQL, SQL Server): the one after it is visible first.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={broker.DatabasePath}"))
        {
            await Dapper.SqlMapper.ExecuteAsync(connection,
                "INSERT INTO audit_log (id, at, actor, action, target) VALUES (@Id, @At, 'cli:local', 'client.changed', 'client:x')",
                new { Id = start + 3, At = broker.Time.GetUtcNow().ToUnixTimeMilliseconds() });
        }

        await dispatcher.PassAsync(CancellationToken.None);

        receiver.Accepted.Select(request => request.AuditId).Should().Equal([start + 1], "the entry after the gap waits");
        (await admin.GetFromJsonAsync<JsonElement>($"/admin/v1/webhooks/{id}")).GetProperty("delivered_through").GetInt64().Should().Be(start + 1);

        broker.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromMilliseconds(1));
        await dispatcher.PassAsync(CancellationToken.None);

        receiver.Accepted.Select(request => request.AuditId).Should().Equal([start + 1, start + 3], "past the grace the gap is a rollback, not a late commit");
    }

    [Fact]
    public async Task The_command_line_adds_a_subscription_with_its_event_types_and_refuses_an_unknown_one()
    {
        using var broker = new BrokerFactory();
        var admin = await AdminAsync(broker);

        var (exit, output, error) = await CliAsync(broker, admin, "webhooks", "add", "https://siem.example/broker",
            "--event", AuditActions.ChildCreated, "--event", AuditActions.ChildRevoked, "--json");

        exit.Should().Be(0, error);
        var created = JsonDocument.Parse(output).RootElement;
        created.GetProperty("secret").GetString().Should().StartWith("whsec_");
        created.GetProperty("subscription").GetProperty("event_types").EnumerateArray().Select(type => type.GetString())
            .Should().Equal(AuditActions.ChildCreated, AuditActions.ChildRevoked);
        var refused = await CliAsync(broker, admin, "webhooks", "add", "https://siem.example/broker", "--event", "child.exploded");
        refused.Exit.Should().Be(ExitCodes.BadInput);
        refused.Error.Should().Contain("unknown event type 'child.exploded'");
        (await admin.GetFromJsonAsync<JsonElement>("/admin/v1/webhooks")).GetProperty("items").GetArrayLength().Should().Be(1);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_webhook_routes()
    {
        using var broker = new BrokerFactory();
        var document = await broker.CreateApiClient().GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var paths = document.GetProperty("paths");
        paths.GetProperty("/admin/v1/webhooks").GetProperty("post").GetProperty("requestBody").GetProperty("content")
            .TryGetProperty("application/json", out _).Should().BeTrue();
        paths.GetProperty("/admin/v1/webhooks").TryGetProperty("get", out _).Should().BeTrue();
        paths.GetProperty("/admin/v1/webhooks/{id}").TryGetProperty("delete", out _).Should().BeTrue();
        paths.GetProperty("/admin/v1/webhooks/{id}/rotate-secret").TryGetProperty("post", out _).Should().BeTrue();
        paths.GetProperty("/admin/v1/webhooks/{id}/replay").GetProperty("post").GetProperty("responses").EnumerateObject()
            .Select(response => response.Name).Should().Contain(["200", "400", "404"]);
    }

    private static bool SignedWith(string secret, ReceivedWebhook delivery)
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(long.Parse(delivery.Timestamp, System.Globalization.CultureInfo.InvariantCulture));
        return delivery.Signature.Split(' ').Contains(new StandardWebhook(secret).Sign(delivery.Id, at, delivery.Body));
    }

    private static async Task<(int Exit, string Output, string Error)> CliAsync(BrokerFactory broker, HttpClient admin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var token = admin.DefaultRequestHeaders.Authorization!.Parameter!;
        var exit = await BrokerCli.RunAsync([.. args, "--url", BrokerFactory.Issuer, "--token", token], output, error, broker.Server.CreateHandler());
        return (exit, output.ToString(), error.ToString());
    }
}
