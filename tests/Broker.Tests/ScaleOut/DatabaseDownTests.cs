using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Tests.Gateway;

namespace Broker.Tests.ScaleOut;

/// <summary>The database stops under a running broker, then comes back: what callers get meanwhile, and recovery without a restart.</summary>
public sealed class DatabaseDownTests
{
    [SkippableFact]
    public async Task With_the_database_down_writes_answer_503_with_retry_after_and_the_broker_recovers_by_itself()
    {
        Skip.If(PrivatePostgres.SkipReason is not null, PrivatePostgres.SkipReason);
        await using var postgres = await PrivatePostgres.StartAsync();
        using var broker = new BrokerFactory();
        broker.Settings["Storage:Provider"] = "Postgres";
        broker.Settings["Storage:ConnectionString"] = postgres.ConnectionString;
        broker.Settings["Storage:Retries"] = "1";
        broker.Settings["Storage:RetryDelay"] = "00:00:00.050";
        var parent = await broker.CreateParentAsync();
        var owner = await broker.CreateUserAsync();
        var child = await GatewayCalls.CreateChildAsync(broker, parent, owner);
        var installation = new Installation(broker);
        await installation.Browser.SignInAsync();
        var api = broker.CreateApiClient();
        var token = await installation.InstallationTokenAsync(parent, api);
        var code = await installation.ApproveAsync(parent);
        var loginPage = await installation.Browser.GetAsync("/account/login");
        (await GatewayCalls.CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);

        await postgres.StopAsync();

        // Writes: 503 with Retry-After in each route's format, and nothing issued.
        var creation = await Installation.CreateChildAsync(api, token, new { name = "During the outage" });
        await ShouldBeUnavailableAsync(creation, "application/json");
        (await creation.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString().Should().Be("temporarily_unavailable");
        var redemption = await Installation.RequestTokenAsync(api, parent, code);
        await ShouldBeUnavailableAsync(redemption, "application/json");
        (await redemption.Content.ReadAsStringAsync()).Should().NotContain("access_token");
        var login = await installation.Browser.SubmitAsync(await Browser.FormAsync(loginPage, "/account/login"),
            ("email", "owner@blog.example"), ("password", "correct horse battery"));
        await ShouldBeUnavailableAsync(login, "text/html");
        login.Headers.Contains("Set-Cookie").Should().BeFalse();

        // Reads: not ready; the gateway keeps serving a key it knows, past the cache's duration.
        var ready = await api.GetAsync("/readyz");
        ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("database").GetString().Should().Be("down");
        broker.Time.Advance(TimeSpan.FromSeconds(6));
        (await GatewayCalls.CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);

        await postgres.StartAgainAsync();

        // The same requests succeed once the database is back, without a restart: the code and the token
        // were not used up by the failed attempts.
        var recovered = Stopwatch.StartNew();
        while ((await api.GetAsync("/readyz")).StatusCode != HttpStatusCode.OK && recovered.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(200);
        }
        (await api.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK);
        var created = await Installation.CreateChildAsync(api, token, new { name = "After the outage" });
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        (await Installation.RequestTokenAsync(api, parent, code)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private static async Task ShouldBeUnavailableAsync(HttpResponseMessage response, string mediaType)
    {
        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, await response.Content.ReadAsStringAsync());
        response.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(5));
        response.Content.Headers.ContentType!.MediaType.Should().Be(mediaType);
    }
}
