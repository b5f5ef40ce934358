using Broker.Hosting;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Tests.Faults;

/// <summary>
/// Another connection (its own native connection, as another process would have) holds SQLite's write
/// lock: every request that needs a write answers 503 with Retry-After within Storage:Timeout + 1 s,
/// readiness reports the database down, nothing is half-written, and the outage is logged once.
/// </summary>
[Collection(nameof(TimedFaults))]
public sealed class SqliteWriteLockTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AnswerBound = Budget + TimeSpan.FromSeconds(1);

    private static BrokerFactory Broker(CapturedLogs logs)
    {
        var broker = new BrokerFactory { TestServices = services => services.AddSingleton<ILoggerProvider>(logs) };
        broker.Settings["Storage:Timeout"] = "00:00:02";
        broker.Settings["Storage:Retries"] = "1";
        broker.Settings["Storage:RetryDelay"] = "00:00:00.050";
        return broker;
    }

    [Fact]
    public async Task Writes_behind_a_lock_held_elsewhere_answer_503_within_the_budget_and_write_nothing()
    {
        var logs = new CapturedLogs();
        using var broker = Broker(logs);
        var parent = await broker.CreateParentAsync();
        await broker.CreateUserAsync();
        await Registrations.EnableAsync(broker);
        var installation = new Installation(broker);
        await installation.Browser.SignInAsync();
        var api = broker.CreateApiClient();
        var token = await installation.InstallationTokenAsync(parent, api);
        var code = await installation.ApproveAsync(parent);
        var clientsBefore = CountClients(broker);

        await using (var holder = await HoldWriteLockAsync(broker))
        {
            // Concurrent writers of every kind: a transaction (POST /clients, the token endpoint), group
            // commit (open registration), each queued behind the one SQLite keeps waiting.
            var writes = new List<Task<(HttpResponseMessage Response, TimeSpan Took)>>();
            writes.Add(TimedCall.RunAsync(() => Installation.CreateChildAsync(api, token, new { name = "During the lock" })));
            for (var i = 0; i < 6; i++)
            {
                writes.Add(TimedCall.RunAsync(() => api.PostAsJsonAsync("/oidc/register", new
                {
                    client_name = $"Registered during the lock {i}",
                    application_type = "service",
                    redirect_uris = new[] { "https://sync.example/unused" },
                    grant_types = new[] { "client_credentials" },
                    token_endpoint_auth_method = "client_secret_post",
                })));
            }
            writes.Add(TimedCall.RunAsync(() => Installation.RequestTokenAsync(api, parent, code)));
            foreach (var (response, took) in await Task.WhenAll(writes))
            {
                took.Should().BeLessThan(AnswerBound, "it answers within the budget");
                response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, await response.Content.ReadAsStringAsync());
                response.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(5));
                (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString().Should().Be("temporarily_unavailable");
            }
        }

        // Nothing answered 503 was written, and the same requests succeed once the lock is gone (the code
        // and the installation token were not used up).
        CountClients(broker).Should().Be(clientsBefore);
        var created = await Installation.CreateChildAsync(api, token, new { name = "After the lock" });
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        (await Installation.RequestTokenAsync(api, parent, code)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    // Writes that run on a connection of their own rather than in a transaction or group commit: an
    // Okta client's deletion (ClientStore.DeleteAsync, not retried) and a tenant flag (TenantSettingsStore.SetAsync,
    // idempotent, retried). Their open and their command share one budget.
    [Fact]
    public async Task Single_statement_writes_behind_a_lock_held_elsewhere_answer_503_within_the_budget_and_write_nothing()
    {
        using var broker = Broker(new CapturedLogs());
        var app = await broker.CreateApplicationAsync("Kept through the lock", "https://app.example/cb");
        var created = await broker.Services.GetRequiredService<Broker.Hosting.PlatformAdministration>()
            .CreateAdminTokenAsync("lock test", [.. Core.Platform.AdminScopes.All], Core.Platform.AuditActor.CommandLine);
        var admin = broker.CreateApiClient();
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("SSWS", created.Value!.Value);
        var auditBefore = AuditActions(broker);

        await using (await HoldWriteLockAsync(broker))
        {
            var writes = await Task.WhenAll(
                TimedCall.RunAsync(() => admin.DeleteAsync($"/oauth2/v1/clients/{app.Client.ClientId}")),
                TimedCall.RunAsync(() => admin.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v2/tenants/settings")
                {
                    Content = JsonContent.Create(new { flags = new { enable_dynamic_client_registration = true } }),
                })));
            foreach (var (response, took) in writes)
            {
                took.Should().BeLessThan(AnswerBound, "{0} {1} answers within the budget", response.RequestMessage!.Method, response.RequestMessage.RequestUri!.AbsolutePath);
                response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, await response.Content.ReadAsStringAsync());
                response.Headers.RetryAfter.Should().NotBeNull();
            }
        }

        AuditActions(broker).Should().Equal(auditBefore, "nothing answered 503 was written");
        Count(broker, "SELECT COUNT(*) FROM tenant_settings WHERE value = 'true'").Should().Be(0);
        (await admin.GetAsync($"/oauth2/v1/clients/{app.Client.ClientId}")).StatusCode.Should().Be(HttpStatusCode.OK, "the client was not deleted");
    }

    [Fact]
    public async Task Readiness_reports_a_database_that_cannot_take_a_write_within_the_probe_bound()
    {
        using var broker = Broker(new CapturedLogs());
        var api = broker.CreateApiClient();
        (await api.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK);

        await using (await HoldWriteLockAsync(broker))
        {
            var (ready, took) = await TimedCall.RunAsync(() => api.GetAsync("/readyz"));
            took.Should().BeLessThan(TimedCall.ReadinessBound, "the probe is bounded by 3 s");
            ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("database").GetString().Should().Be("down");
        }

        (await api.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task An_outage_is_logged_once_as_a_warning_and_its_end_once_as_information()
    {
        var logs = new CapturedLogs();
        using var broker = Broker(logs);
        await Registrations.EnableAsync(broker);
        var api = broker.CreateApiClient();

        await using (await HoldWriteLockAsync(broker))
        {
            var failing = Enumerable.Range(0, 24).Select(i => api.PostAsJsonAsync("/oidc/register", new
            {
                client_name = $"Registered during the outage {i}",
                application_type = "service",
                redirect_uris = new[] { "https://sync.example/unused" },
                grant_types = new[] { "client_credentials" },
                token_endpoint_auth_method = "client_secret_post",
            }));
            (await Task.WhenAll(failing)).Should().OnlyContain(response => response.StatusCode == HttpStatusCode.ServiceUnavailable);
            (await api.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        }

        // The end is told by the first success after a quiet period of twice the budget.
        await Task.Delay(2 * Budget + TimeSpan.FromMilliseconds(200));
        (await api.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK);

        var entries = logs.Entries.ToList();
        entries.Should().NotContain(entry => entry.Level >= LogLevel.Error, "an outage is expected, not a failure of the broker");
        entries.Where(entry => entry.Exception is not null).Should().BeEmpty("no stack trace per request");
        var outage = entries.Where(entry => entry.Category == typeof(Database).FullName).ToList();
        outage.Select(entry => entry.Level).Should().Equal(LogLevel.Warning, LogLevel.Information);
        outage[0].Message.Should().Contain("unavailable");
    }

    // Takes the write lock on a connection of its own (not pooled, so no other connection shares its
    // native handle) and holds it until disposed.
    private static async Task<SqliteConnection> HoldWriteLockAsync(BrokerFactory broker)
    {
        var holder = new SqliteConnection($"Data Source={broker.DatabasePath};Pooling=False");
        await holder.OpenAsync();
        using var begin = holder.CreateCommand();
        begin.CommandText = "BEGIN IMMEDIATE";
        await begin.ExecuteNonQueryAsync();
        return holder;
    }

    private static long CountClients(BrokerFactory broker) => Count(broker, "SELECT COUNT(*) FROM clients");

    private static List<string> AuditActions(BrokerFactory broker)
    {
        using var connection = new SqliteConnection($"Data Source={broker.DatabasePath};Pooling=False");
        connection.Open();
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT action FROM audit_log ORDER BY id";
        using var reader = select.ExecuteReader();
        var actions = new List<string>();
        while (reader.Read())
        {
            actions.Add(reader.GetString(0));
        }
        return actions;
    }

    private static long Count(BrokerFactory broker, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={broker.DatabasePath};Pooling=False");
        connection.Open();
        using var count = connection.CreateCommand();
        count.CommandText = sql;
        return (long)count.ExecuteScalar()!;
    }
}
