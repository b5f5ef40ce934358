using Broker.Core.Platform;
using Broker.Hosting;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests;

/// <summary>Open registration for tests: turning the tenant flag on, and a service client through a real client library.</summary>
public static class Registrations
{
    public static Task EnableAsync(BrokerFactory broker, bool enabled = true) =>
        broker.Services.GetRequiredService<TenantSettings>().SetAsync(
            TenantSettings.DynamicClientRegistrationFlag, enabled, AuditActor.CommandLine, CancellationToken.None);

    /// <summary>Registers a <c>service</c> client (client_credentials only) with Duende.IdentityModel.</summary>
    public static async Task<DynamicClientRegistrationResponse> RegisterServiceClientAsync(HttpClient api, string name)
    {
        var registration = await api.RegisterClientAsync(new DynamicClientRegistrationRequest
        {
            Address = "/oidc/register",
            Document = new DynamicClientRegistrationDocument
            {
                ClientName = name,
                ApplicationType = "service",
                RedirectUris = { new Uri("https://sync.example/unused") },
                GrantTypes = { "client_credentials" },
                TokenEndpointAuthenticationMethod = "client_secret_post",
            },
        });
        registration.IsError.Should().BeFalse(registration.Error);
        return registration;
    }
}
