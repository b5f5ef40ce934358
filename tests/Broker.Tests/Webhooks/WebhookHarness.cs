using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.Webhooks;

/// <summary>An in-process broker whose dispatcher may call loopback, with short delivery settings, and its admin API.</summary>
public static class WebhookHarness
{
    /// <summary>A broker allowed to deliver to loopback, on the real clock's date (receivers check the timestamp).</summary>
    /// <param name="timeout">One attempt's budget: long enough for a cold receiver on a busy machine, short enough for tests of timeouts.</param>
    public static BrokerFactory DeliveringBroker(int maxAttempts = 20, string? databasePath = null, string timeout = "00:00:02")
    {
        var broker = new BrokerFactory();
        broker.Settings["Webhooks:AllowInternalAddresses"] = "true";
        broker.Settings["Webhooks:PollInterval"] = "00:00:00.05";
        broker.Settings["Webhooks:RetryDelay"] = "00:00:00.02";
        broker.Settings["Webhooks:MaxRetryDelay"] = "00:00:00.1";
        broker.Settings["Webhooks:Timeout"] = timeout;
        broker.Settings["Webhooks:LeaseDuration"] = "00:00:30";
        broker.Settings["Webhooks:MaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (databasePath is not null)
        {
            broker.Settings["Storage:ConnectionString"] = $"Data Source={databasePath}";
        }
        // Whole milliseconds, as stored.
        broker.Time.SetUtcNow(DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        return broker;
    }

    public static async Task<HttpClient> AdminAsync(BrokerFactory broker)
    {
        var created = await broker.Services.GetRequiredService<PlatformAdministration>()
            .CreateAdminTokenAsync("webhooks test", [.. AdminScopes.All], AuditActor.CommandLine);
        var client = broker.CreateApiClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("SSWS", created.Value!.Value);
        return client;
    }

    /// <summary>Subscribes <paramref name="url"/> through the admin API; the subscription's id, secret, and the audit id it starts after.</summary>
    public static async Task<(string Id, string Secret, long Start)> SubscribeAsync(HttpClient admin, Uri url, params string[] eventTypes)
    {
        var response = await admin.PostAsJsonAsync("/admin/v1/webhooks", new { url = url.ToString(), event_types = eventTypes });
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var subscription = body.GetProperty("subscription");
        return (subscription.GetProperty("id").GetString()!, body.GetProperty("secret").GetString()!, subscription.GetProperty("delivered_through").GetInt64());
    }

    /// <summary>Audit entries after <paramref name="afterId"/>, oldest first.</summary>
    public static async Task<IReadOnlyList<AuditEntry>> EntriesAfterAsync(BrokerFactory broker, long afterId) =>
        [.. (await broker.Services.GetRequiredService<IAuditStore>().QueryAsync(new AuditQuery { Limit = 200 })).Items
            .Where(entry => entry.Id > afterId).OrderBy(entry => entry.Id)];

    /// <summary>A change of a client: the parent's secret rotated, one audit entry on its target.</summary>
    public static async Task RotateAsync(BrokerFactory broker, string clientId) =>
        (await broker.Services.GetRequiredService<PlatformAdministration>().RotateSecretAsync(clientId, AuditActor.CommandLine, null))
            .Problem.Should().BeNull();
}
