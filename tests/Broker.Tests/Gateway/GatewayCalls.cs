using Broker.Hosting;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Platform;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.Gateway;

/// <summary>Helpers for gateway tests: children written straight to the store, and keyed calls.</summary>
public static class GatewayCalls
{
    /// <summary>A child of <paramref name="parent"/> owned by <paramref name="owner"/>, stored as POST /clients stores one (plus any override).</summary>
    public static async Task<Client> CreateChildAsync(
        BrokerFactory broker, CreatedApplication parent, User owner, int? rateLimit = null, IReadOnlyList<string>? endpoints = null,
        string name = "Blog installation", string origin = "https://blog.example")
    {
        var child = new Client
        {
            ClientId = Secret.NewClientId(),
            Metadata = new ClientMetadata { ClientName = name, GrantTypes = [], TokenEndpointAuthMethod = ClientAuthMethod.None },
            Role = new InstallationRole
            {
                ParentClientId = parent.Client.ClientId,
                OwnerUserId = owner.UserId,
                Origin = origin,
                RateLimit = rateLimit,
                Endpoints = endpoints,
            },
            CreatedAt = broker.Time.GetUtcNow(),
        };
        (await broker.Services.GetRequiredService<IClientStore>().CreateAsync(child)).Should().BeTrue();
        return child;
    }

    /// <summary>A call with the key in <c>Authorization: Client-ID</c>.</summary>
    public static Task<HttpResponseMessage> CallAsync(HttpClient http, string clientId, string path, HttpMethod? method = null)
    {
        var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Authorization", $"Client-ID {clientId}");
        return http.SendAsync(request);
    }

    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "";

    public static async Task<string> ErrorAsync(HttpResponseMessage response)
    {
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString()!;
    }

    /// <summary>The broker on Kestrel on a random loopback port; returns a client on real sockets.</summary>
    public static HttpClient StartOnKestrel(BrokerFactory broker)
    {
        broker.UseKestrel(0);
        broker.StartServer();
        var address = broker.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HttpClient { BaseAddress = new Uri(address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal)) };
    }

    /// <summary>A loopback port nothing listens on (it was free a moment ago).</summary>
    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

/// <summary>A test that needs the Redis of <c>.ci/run</c>: skipped, saying why, when BROKER_TEST_REDIS is unset.</summary>
public sealed class RedisFactAttribute : FactAttribute
{
    public const string Variable = "BROKER_TEST_REDIS";

    public RedisFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable)))
        {
            Skip = $"{Variable} is not set (.ci/run starts Redis and sets it)";
        }
    }
}

/// <summary>A test that starts and stops its own redis-server: skipped when BROKER_TEST_REDIS_SERVER is unset.</summary>
public sealed class RedisServerFactAttribute : FactAttribute
{
    public const string Variable = "BROKER_TEST_REDIS_SERVER";

    public RedisServerFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable)))
        {
            Skip = $"{Variable} is not set (.ci/run sets it to the redis-server binary)";
        }
    }
}
