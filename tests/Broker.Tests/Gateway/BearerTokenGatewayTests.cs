using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Registration;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.Gateway;

/// <summary>Bearer tokens at the gateway: registered clients' access tokens pass under their own quota; installation tokens never do.</summary>
public sealed class BearerTokenGatewayTests : SignedInOwnerTest
{
    private Task<HttpResponseMessage> CallWithBearerAsync(string token, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return Api.SendAsync(request);
    }

    private async Task<TokenResponse> ServiceTokenAsync()
    {
        await Registrations.EnableAsync(Broker);
        var registration = await Registrations.RegisterServiceClientAsync(Api, "Sync Service");
        return await Api.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = "/oauth/token", ClientId = registration.ClientId!, ClientSecret = registration.ClientSecret,
        });
    }

    [Fact]
    public async Task An_installation_token_is_refused_at_the_gateway_with_insufficient_scope_and_stays_unspent()
    {
        var token = await Flow.InstallationTokenAsync(Parent, Api);
        var response = await CallWithBearerAsync(token, "/photos");
        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await GatewayCalls.ErrorAsync(response)).Should().Be("insufficient_scope");
        (await Installation.CreateChildAsync(Api, token, new { name = "Still good" })).StatusCode.Should().Be(HttpStatusCode.Created);
    }

    [Fact]
    public async Task A_registered_clients_access_token_calls_its_whitelist_within_its_quota_and_expires()
    {
        var token = await ServiceTokenAsync();
        token.IsError.Should().BeFalse(token.Error);
        var admitted = await CallWithBearerAsync(token.AccessToken!, "/photos");
        admitted.StatusCode.Should().Be(HttpStatusCode.OK);
        GatewayCalls.Header(admitted, "X-Ratelimit-Limit").Should().Be("3000");
        GatewayCalls.Header(admitted, "X-Ratelimit-Remaining").Should().Be("2999");

        var outside = await CallWithBearerAsync(token.AccessToken!, "/me");
        outside.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await GatewayCalls.ErrorAsync(outside)).Should().Be("insufficient_scope");

        Broker.Time.Advance(TimeSpan.FromHours(1));
        var expired = await CallWithBearerAsync(token.AccessToken!, "/photos");
        expired.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task An_unknown_bearer_token_is_401()
    {
        var response = await CallWithBearerAsync(new string('a', 64), "/photos");
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }
}
