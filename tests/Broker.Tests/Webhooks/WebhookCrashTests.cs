using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Core.Platform;
using Broker.Storage;
using Broker.Storage.Stores;
using Broker.Tests.ScaleOut;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Broker.Tests.Webhooks.WebhookHarness;

namespace Broker.Tests.Webhooks;

/// <summary>Audit webhooks across a SIGKILL of the broker mid-delivery, and with two instances over one database.</summary>
public sealed class WebhookCrashTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "broker-webhooks", Guid.NewGuid().ToString("N"));

    private string DatabasePath => Path.Combine(directory, "broker.db");

    private static readonly Dictionary<string, string> Delivery = new()
    {
        ["Webhooks__AllowInternalAddresses"] = "true",
        ["Webhooks__PollInterval"] = "00:00:00.05",
        ["Webhooks__Timeout"] = "00:00:02",
        ["Webhooks__LeaseDuration"] = "00:00:04",
        ["Webhooks__RetryDelay"] = "00:00:00.05",
        ["Webhooks__MaxRetryDelay"] = "00:00:00.2",
        ["Webhooks__MaxAttempts"] = "100",
    };

    [Fact]
    public async Task A_SIGKILL_mid_delivery_loses_nothing_the_restarted_broker_delivers_the_rest_in_order()
    {
        Directory.CreateDirectory(directory);
        var (parentId, token) = await SeedAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        long start;
        using (var first = await BrokerServerProcess.StartAsync(DatabasePath, Delivery))
        {
            using var admin = Admin(first, token);
            start = await SubscribeOverHttpAsync(admin, receiver.Url);
            for (var i = 0; i < 3; i++)
            {
                (await admin.PostAsync($"/admin/v1/parents/{parentId}/rotate-secret", null)).StatusCode.Should().Be(HttpStatusCode.OK);
            }
            // Two accepted, then the receiver stops answering: the third delivery is in flight when the broker dies.
            await receiver.WaitUntilAsync(received => received.Count(request => request.Status == 200) >= 2, "two deliveries");
            receiver.Mode = WebhookReceiver.Behaviour.Hang;
            await receiver.WaitUntilAsync(received => received.Any(request => request.Status == 0), "a delivery in flight");
            first.Kill();
        }
        receiver.Mode = WebhookReceiver.Behaviour.Accept;
        var expected = (await new AuditStore(new Database(new SqliteDialect(), $"Data Source={DatabasePath}"))
                .QueryAsync(new AuditQuery { Limit = 200 })).Items
            .Where(entry => entry.Id > start).Select(entry => entry.Id).OrderBy(id => id).ToList();
        expected.Should().HaveCountGreaterThanOrEqualTo(4, "the subscription's own entry and three rotations");

        using var second = await BrokerServerProcess.StartAsync(DatabasePath, Delivery);
        await receiver.WaitUntilAsync(
            received => received.Where(request => request.Status == 200).Select(request => request.AuditId).Contains(expected[^1]), "the last entry");

        var accepted = receiver.Accepted.Select(request => request.AuditId).ToList();
        accepted.Distinct().Should().Equal(expected, "every entry reaches the receiver, none skipped");
        accepted.Should().BeInAscendingOrder("delivery is in the log's order, a redelivery included");
        var inFlight = receiver.Received.First(request => request.Status == 0);
        receiver.Accepted.Should().Contain(request => request.Id == inFlight.Id, "the delivery cut by the kill comes again with the same webhook-id");
    }

    [Fact]
    public async Task Two_instances_over_one_database_deliver_each_entry_once_in_order()
    {
        Directory.CreateDirectory(directory);
        await using var receiver = await WebhookReceiver.StartAsync();
        // Attempts long enough never to time out here: a timed-out attempt is retried, and at-least-once would then count twice.
        using var one = DeliveringBroker(databasePath: DatabasePath, timeout: "00:00:10");
        using var two = DeliveringBroker(databasePath: DatabasePath, timeout: "00:00:10");
        var admin = await AdminAsync(one);
        var (_, _, start) = await SubscribeAsync(admin, receiver.Url);
        // The second instance's dispatcher starts too.
        _ = two.Services.GetRequiredService<Broker.Core.Stores.IAuditStore>();
        var parent = await one.CreateParentAsync();
        for (var i = 0; i < 10; i++)
        {
            await RotateAsync(i % 2 == 0 ? one : two, parent.Client.ClientId);
        }
        var expected = (await EntriesAfterAsync(one, start)).Select(entry => entry.Id).ToList();

        await receiver.WaitUntilAsync(received => received.Count >= expected.Count, $"{expected.Count} deliveries");

        receiver.Received.Select(request => request.AuditId).Should().Equal(expected, "one instance delivers at a time, each entry once");
    }

    // A parent and an admin token, written through an in-process broker on the file first.
    private async Task<(string ParentId, string Token)> SeedAsync()
    {
        using var seeder = new BrokerFactory();
        seeder.Settings["Storage:ConnectionString"] = $"Data Source={DatabasePath}";
        var parent = await seeder.CreateParentAsync();
        var token = await seeder.Services.GetRequiredService<Broker.Hosting.PlatformAdministration>()
            .CreateAdminTokenAsync("crash test", [.. AdminScopes.All], AuditActor.CommandLine);
        return (parent.Client.ClientId, token.Value!.Value);
    }

    private static HttpClient Admin(BrokerServerProcess broker, string token)
    {
        var client = new HttpClient { BaseAddress = broker.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("SSWS", token);
        return client;
    }

    private static async Task<long> SubscribeOverHttpAsync(HttpClient admin, Uri url)
    {
        var response = await admin.PostAsJsonAsync("/admin/v1/webhooks", new { url = url.ToString() });
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("subscription").GetProperty("delivered_through").GetInt64();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still open; the temp folder is cleaned by the OS.
        }
    }
}
