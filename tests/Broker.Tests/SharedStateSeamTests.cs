using System.Net;
using Broker.Hosting;
using Broker.Registration;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests;

/// <summary>
/// The state instances must share (throttles, the open-registration cap, the spends of installation
/// tokens under way) is asked of what DI holds, so that a store shared by every instance can stand in
/// for the in-process one: here, stand-ins that always refuse.
/// </summary>
public sealed class SharedStateSeamTests
{
    [Fact]
    public async Task The_throttles_come_from_the_registered_store()
    {
        var store = new RefusingThrottleStore(TimeSpan.FromSeconds(42));
        using var broker = new BrokerFactory { TestServices = services => services.AddSingleton<IThrottleStore>(store) };
        var parent = await broker.CreateParentAsync();

        var response = await Installation.RequestTokenAsync(broker.CreateApiClient(), parent, "any-code");

        response.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(42));
        store.Rules.Should().Contain("failed-client-authentications");
    }

    [Fact]
    public async Task The_open_registration_cap_is_the_registered_one()
    {
        using var broker = new BrokerFactory { TestServices = services => services.AddSingleton<IOpenRegistrationCap>(new FullCap()) };
        await Registrations.EnableAsync(broker);

        var registration = await broker.CreateApiClient().RegisterClientAsync(new DynamicClientRegistrationRequest
        {
            Address = "/oidc/register",
            Document = new DynamicClientRegistrationDocument
            {
                ClientName = "Sync",
                ApplicationType = "service",
                RedirectUris = { new Uri("https://sync.example/unused") },
                GrantTypes = { "client_credentials" },
                TokenEndpointAuthenticationMethod = "client_secret_post",
            },
        });

        registration.HttpStatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task The_spends_under_way_are_the_registered_ones()
    {
        using var broker = new BrokerFactory { TestServices = services => services.AddSingleton<Broker.Installation.IInFlightSpends>(new AlwaysInFlight()) };
        var parent = await broker.CreateParentAsync();
        await broker.CreateUserAsync();
        var flow = new Installation(broker);
        await flow.Browser.SignInAsync();
        var api = broker.CreateApiClient();

        var response = await Installation.CreateChildAsync(api, await flow.InstallationTokenAsync(parent, api), new { name = "My Blog" }, idempotencyKey: "first");

        response.StatusCode.Should().Be(HttpStatusCode.Conflict);
    }

    private sealed class RefusingThrottleStore(TimeSpan retryAfter) : IThrottleStore, IKeyedThrottle
    {
        public List<string> Rules { get; } = [];

        public IKeyedThrottle Create(string rule, int permitsPerWindow, TimeSpan window)
        {
            Rules.Add(rule);
            return this;
        }

        public ValueTask<TimeSpan?> BlockedForAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult<TimeSpan?>(retryAfter);

        public ValueTask<TimeSpan?> TryTakePermitAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult<TimeSpan?>(retryAfter);

        public ValueTask RecordFailureAsync(string key, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private sealed class FullCap : IOpenRegistrationCap
    {
        public Task<bool> HasRoomAsync(CancellationToken cancellationToken) => Task.FromResult(false);

        public void Registered() => throw new InvalidOperationException("a full cap admits no registration");
    }

    private sealed class AlwaysInFlight : Broker.Installation.IInFlightSpends
    {
        public ValueTask<bool> TryBeginAsync(string tokenHash, CancellationToken cancellationToken) => ValueTask.FromResult(false);

        public ValueTask EndAsync(string tokenHash) => throw new InvalidOperationException("nothing began");
    }
}
