using Broker.Core.Authorization;
using Broker.Core.Clients;

namespace Broker.Core.Tests;

public sealed class GrantRulesTests
{
    private static readonly Client Parent = new()
    {
        ClientId = "Aparent0000000000000000000000001", Metadata = new ClientMetadata { ClientName = "Parent" }, Role = new ParentRole(), CreatedAt = DateTimeOffset.UnixEpoch,
    };

    private static readonly Client Service = new()
    {
        ClientId = "Aservice000000000000000000000001", Metadata = new ClientMetadata { ClientName = "Service", GrantTypes = [GrantType.ClientCredentials] }, CreatedAt = DateTimeOffset.UnixEpoch,
    };

    private static readonly Client Web = new()
    {
        ClientId = "Aweb00000000000000000000000000001", Metadata = new ClientMetadata { ClientName = "Web" }, CreatedAt = DateTimeOffset.UnixEpoch,
    };

    public static TheoryData<string, string?, string?> Cases => new()
    {
        { "parent", GrantType.AuthorizationCode, null },
        { "parent", GrantType.ClientCredentials, OAuthErrors.UnauthorizedClient },
        { "parent", "password", OAuthErrors.UnauthorizedClient },
        { "parent", null, OAuthErrors.InvalidRequest },
        { "parent", "", OAuthErrors.InvalidRequest },
        { "service", GrantType.ClientCredentials, null },
        { "service", GrantType.AuthorizationCode, OAuthErrors.UnauthorizedClient },
        { "service", "password", OAuthErrors.UnsupportedGrantType },
        { "web", GrantType.AuthorizationCode, null },
        { "web", GrantType.ClientCredentials, OAuthErrors.UnauthorizedClient },
        { "web", GrantType.RefreshToken, OAuthErrors.UnsupportedGrantType },
        { "web", "urn:ietf:params:oauth:grant-type:device_code", OAuthErrors.UnsupportedGrantType },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Grants_are_checked_in_rfc_6749_order(string clientKind, string? grantType, string? expectedError)
    {
        var client = clientKind switch { "parent" => Parent, "service" => Service, _ => Web };
        (GrantRules.Problem(client, grantType)?.Error).Should().Be(expectedError);
    }
}
