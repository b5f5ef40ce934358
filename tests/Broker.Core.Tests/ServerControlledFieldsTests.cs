using System.Text.Json;
using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Security;

namespace Broker.Core.Tests;

/// <summary>One rule for the server-set fields of both full-replace PUTs (Okta and RFC 7592).</summary>
public sealed class ServerControlledFieldsTests
{
    private const string Id = "c0000000000000000000000000000001";
    private const string RegistrationUri = "https://broker.test/oidc/register/" + Id;
    private static readonly string CurrentSecret = new('a', 64);
    private static readonly string CurrentToken = new('b', 64);

    private static readonly Client Stored = new()
    {
        ClientId = Id,
        Metadata = new ClientMetadata { ClientName = "App" },
        SecretHash = Secret.Hash(CurrentSecret),
        RegistrationTokenHash = Secret.Hash(CurrentToken),
        CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
    };

    private static OAuthError? Problem(string json, bool clientIdRequired = false)
    {
        using var document = JsonDocument.Parse(json);
        return ServerControlledFields.Problem(document.RootElement, Stored, RegistrationUri, clientIdRequired);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData($$"""{"client_id":"{{Id}}"}""")]
    [InlineData("""{"client_id":null,"client_secret":null,"client_id_issued_at":null}""")]
    [InlineData("""{"client_id_issued_at":1700000000,"client_secret_expires_at":0}""")]
    [InlineData($$"""{"registration_client_uri":"{{RegistrationUri}}"}""")]
    [InlineData("[]")]
    public void Absent_null_or_echoed_fields_are_accepted(string json)
    {
        Problem(json).Should().BeNull();
    }

    [Fact]
    public void The_current_secret_and_registration_token_may_be_echoed()
    {
        Problem($$"""{"client_secret":"{{CurrentSecret}}","registration_access_token":"{{CurrentToken}}"}""").Should().BeNull();
    }

    [Theory]
    [InlineData("""{"client_id":"c0000000000000000000000000000002"}""", "client_id")]
    [InlineData("""{"client_id":42}""", "client_id")]
    [InlineData("""{"client_id":"\uDC00"}""", "client_id")]
    [InlineData("""{"client_secret":"mine"}""", "client_secret")]
    [InlineData("""{"client_secret":1}""", "client_secret")]
    [InlineData("""{"registration_access_token":"mine"}""", "registration_access_token")]
    [InlineData("""{"registration_client_uri":"https://evil.example/"}""", "registration_client_uri")]
    [InlineData("""{"client_id_issued_at":1}""", "client_id_issued_at")]
    [InlineData("""{"client_id_issued_at":"1700000000"}""", "client_id_issued_at")]
    [InlineData("""{"client_id_issued_at":1700000000.5}""", "client_id_issued_at")]
    [InlineData("""{"client_secret_expires_at":1}""", "client_secret_expires_at")]
    public void A_changed_server_set_field_is_refused(string json, string field)
    {
        var problem = Problem(json);
        problem!.Error.Should().Be(OAuthErrors.InvalidRequest);
        problem.Description.Should().StartWith(field);
    }

    [Fact]
    public void Rfc7592_requires_the_client_id_in_the_body()
    {
        Problem("{}", clientIdRequired: true)!.Description.Should().Contain("client_id");
        Problem($$"""{"client_id":"{{Id}}"}""", clientIdRequired: true).Should().BeNull();
    }

    [Fact]
    public void A_client_without_a_registration_uri_accepts_none()
    {
        using var document = JsonDocument.Parse($$"""{"registration_client_uri":"{{RegistrationUri}}"}""");
        ServerControlledFields.Problem(document.RootElement, Stored, null, clientIdRequired: false).Should().NotBeNull();
    }
}
