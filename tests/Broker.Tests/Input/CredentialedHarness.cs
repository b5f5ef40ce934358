using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Broker.Tests.PlatformApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Tests.Input;

/// <summary>
/// A <see cref="PlatformHarness"/> with open registration on (and no per-address throttle to trip),
/// an admin client holding every scope, and one open-registered client with its registration token.
/// </summary>
public sealed class CredentialedHarness : IAsyncLifetime
{
    public PlatformHarness Platform { get; } = new();

    /// <summary>Every error the broker logged.</summary>
    public CapturedLogs Logs { get; } = new();

    public HttpClient Admin { get; private set; } = null!;

    public string RegisteredId { get; private set; } = "";

    public string RegistrationToken { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Platform.Broker.Settings["Registration:PermitsPerMinutePerAddress"] = "1000000";
        Platform.Broker.TestServices = services => services.AddSingleton<ILoggerProvider>(Logs);
        await Platform.InitializeAsync();
        Admin = await Platform.AdminAsync();
        await Registrations.EnableAsync(Platform.Broker);
        (RegisteredId, RegistrationToken) = await RegisterAsync();
    }

    public Task DisposeAsync() => Platform.DisposeAsync();

    /// <summary>A new open registration: its client_id and registration access token.</summary>
    public async Task<(string ClientId, string RegistrationToken)> RegisterAsync()
    {
        var registered = await Platform.Api.PostAsync("/oidc/register", new StringContent(
            $$"""{"client_name":"Registered {{Guid.NewGuid():N}}","redirect_uris":["https://a.example/cb"]}""", Encoding.UTF8, "application/json"));
        registered.StatusCode.Should().Be(HttpStatusCode.Created, await registered.Content.ReadAsStringAsync());
        var json = await registered.Content.ReadFromJsonAsync<JsonElement>();
        return (json.GetProperty("client_id").GetString()!, json.GetProperty("registration_access_token").GetString()!);
    }
}
