using Broker.Hosting;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Platform;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.PlatformApi;

/// <summary>A broker with a parent, a signed-in site owner and admin tokens, for the platform API tests.</summary>
public sealed class PlatformHarness : IAsyncLifetime
{
    public BrokerFactory Broker { get; } = new();

    public Installation Flow { get; private set; } = null!;

    public CreatedApplication Parent { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    public string OwnerUserId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Parent = await Broker.CreateParentAsync();
        OwnerUserId = (await Broker.CreateUserAsync()).UserId;
        Flow = new Installation(Broker);
        await Flow.Browser.SignInAsync();
        Api = Broker.CreateApiClient();
    }

    public Task DisposeAsync()
    {
        Broker.Dispose();
        return Task.CompletedTask;
    }

    public PlatformAdministration Platform => Broker.Services.GetRequiredService<PlatformAdministration>();

    /// <summary>A new admin token with <paramref name="scopes"/>; its value.</summary>
    public async Task<string> AdminTokenAsync(params string[] scopes)
    {
        var created = await Platform.CreateAdminTokenAsync("test " + string.Join(' ', scopes), scopes, AuditActor.CommandLine);
        created.Problem.Should().BeNull();
        return created.Value!.Value;
    }

    /// <summary>An API client sending <c>Authorization: SSWS</c> with a token holding every scope.</summary>
    public async Task<HttpClient> AdminAsync(params string[] scopes)
    {
        var client = Broker.CreateApiClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("SSWS",
            await AdminTokenAsync(scopes.Length > 0 ? scopes : [.. AdminScopes.All]));
        return client;
    }

    /// <summary>An unspent installation token of <see cref="Parent"/>.</summary>
    public Task<string> InstallationTokenAsync() => Flow.InstallationTokenAsync(Parent, Api);

    /// <summary>A child of <see cref="Parent"/> through the whole installation flow; its client_id.</summary>
    public async Task<string> CreateChildAsync(string name = "My Blog")
    {
        var response = await Installation.CreateChildAsync(Api, await InstallationTokenAsync(), new { name, description = "" });
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("client_id").GetString()!;
    }

    public async Task<IReadOnlyList<AuditEntry>> AuditAsync() =>
        (await Broker.Services.GetRequiredService<IAuditStore>().QueryAsync(new AuditQuery { Limit = 200 })).Items;

    public static HttpRequestMessage Request(HttpMethod method, string path, object? body = null, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = body is string text
                ? new StringContent(text, Encoding.UTF8, "application/json")
                : JsonContent.Create(body);
        }
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        return request;
    }

    public static async Task<JsonElement> JsonOf(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();
}
