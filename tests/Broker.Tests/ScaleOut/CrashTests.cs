using Broker.Hosting;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Broker.Core.Stores;
using Broker.Registration;
using Broker.Storage;
using Broker.Storage.Stores;
using Broker.Tests.Gateway;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.ScaleOut;

/// <summary>
/// The broker as a real process over a SQLite file, killed with SIGKILL in the middle of a burst of
/// installations and open registrations, then started again on the same file.
/// </summary>
public sealed class CrashTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "broker-crash", Guid.NewGuid().ToString("N"));

    private string DatabasePath => Path.Combine(directory, "broker.db");

    [Fact]
    public async Task Every_client_answered_201_survives_a_kill_and_nothing_is_half_written()
    {
        Directory.CreateDirectory(directory);
        var parent = await SeedAsync();

        var installed = new ConcurrentBag<string>();
        var registered = new ConcurrentBag<string>();
        using (var first = await BrokerServerProcess.StartAsync(DatabasePath))
        {
            using var cookies = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() };
            var browser = new Browser(new HttpClient(cookies, disposeHandler: false) { BaseAddress = first.BaseAddress });
            await browser.SignInAsync();
            var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // Enough of both kinds answered 201 (counted, never timed): the kill comes while they keep coming.
            Action<string> Created(ConcurrentBag<string> bag) => clientId =>
            {
                bag.Add(clientId);
                if (installed.Count >= 5 && registered.Count >= 5)
                {
                    enough.TrySetResult();
                }
            };
            var api = new HttpClient { BaseAddress = first.BaseAddress };
            var workers = Enumerable.Range(0, 4).Select(worker => worker % 2 == 0
                    ? BurstAsync(() => InstallAsync(browser, api, parent, Created(installed)))
                    : BurstAsync(() => RegisterAsync(api, Created(registered))))
                .ToList();

            // Killed while the workers are still sending: some requests are in flight, some half done.
            await enough.Task.WaitAsync(TimeSpan.FromMinutes(2));
            first.Kill();
            await Task.WhenAll(workers);
        }

        using var second = await BrokerServerProcess.StartAsync(DatabasePath);
        var clients = new ClientStore(new Database(new SqliteDialect(), $"Data Source={DatabasePath}"));
        installed.Should().HaveCountGreaterThanOrEqualTo(5);
        registered.Should().HaveCountGreaterThanOrEqualTo(5);
        foreach (var clientId in installed.Concat(registered))
        {
            (await clients.FindAsync(clientId)).Should().NotBeNull($"{clientId} was answered 201");
        }
        await using var connection = new SqliteConnection($"Data Source={DatabasePath}");
        (await connection.ExecuteScalarAsync<long>(
            """
            SELECT COUNT(*) FROM access_tokens t
             WHERE t.spent_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM clients c WHERE c.client_id = t.child_client_id)
            """)).Should().Be(0, "no token is spent without its child");
        (await connection.ExecuteScalarAsync<long>(
            """
            SELECT COUNT(*) FROM clients c
             WHERE c.kind = 'child' AND NOT EXISTS (SELECT 1 FROM access_tokens t WHERE t.child_client_id = c.client_id AND t.spent_at IS NOT NULL)
            """)).Should().Be(0, "no child exists without its spent token");
        (await connection.ExecuteScalarAsync<long>(
            """
            SELECT COUNT(*) FROM authorization_codes a
             WHERE a.redeemed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM access_tokens t WHERE t.code_hash = a.code_hash)
            """)).Should().Be(0, "no code is redeemed without its token");
        (await connection.ExecuteScalarAsync<long>(
            """
            SELECT COUNT(*) FROM clients c
             WHERE c.registration_source = 'open'
               AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.target = 'client:' || c.client_id AND a.action = 'client.created')
            """)).Should().Be(0, "no registered client exists without its audit entry (group commit writes both or neither)");
        // The restarted broker serves: a new installation completes.
        using var again = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() };
        var browserAgain = new Browser(new HttpClient(again, disposeHandler: false) { BaseAddress = second.BaseAddress });
        await browserAgain.SignInAsync();
        var after = new List<string>();
        await InstallAsync(browserAgain, new HttpClient { BaseAddress = second.BaseAddress }, parent, after.Add);
        after.Should().ContainSingle();
    }

    // A parent, its site owner, and open registration on, written through an in-process broker first.
    private async Task<Hosting.CreatedApplication> SeedAsync()
    {
        using var seeder = new BrokerFactory();
        seeder.Settings["Storage:ConnectionString"] = $"Data Source={DatabasePath}";
        var parent = await seeder.CreateParentAsync();
        await seeder.CreateUserAsync();
        await Registrations.EnableAsync(seeder);
        return parent;
    }

    // Repeats an operation until the broker stops answering.
    private static async Task BurstAsync(Func<Task> operation)
    {
        try
        {
            while (true)
            {
                await operation();
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or TaskCanceledException)
        {
            // The process is gone (refused, reset, or cut mid-response).
        }
    }

    private static async Task InstallAsync(Browser browser, HttpClient api, Hosting.CreatedApplication parent, Action<string> created)
    {
        var consent = await browser.GetAsync(Installation.AuthorizeUrl(parent.Client.ClientId));
        var approved = await browser.SubmitAsync(await Browser.FormAsync(consent, "/oauth/authorize"), ("decision", "approve"));
        var code = Browser.RedirectQuery(approved)["code"];
        var token = await Installation.TokenAsync(api, parent, code);
        var response = await Installation.CreateChildAsync(api, token, new { name = "Crash-tested blog" });
        if (response.StatusCode == HttpStatusCode.Created)
        {
            created((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("client_id").GetString()!);
        }
    }

    private static async Task RegisterAsync(HttpClient api, Action<string> created)
    {
        var body = $$"""{"client_name":"Crash {{Guid.NewGuid():N}}","redirect_uris":["https://app.example/callback"]}""";
        var response = await api.PostAsync(OpenRegistrationEndpoints.Path, new StringContent(body, Encoding.UTF8, "application/json"));
        if (response.StatusCode == HttpStatusCode.Created)
        {
            created((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("client_id").GetString()!);
        }
    }

    public void Dispose()
    {
        SqliteDialect.ClearAllPools();
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
