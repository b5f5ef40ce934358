using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Broker.Cli;
using Broker.Tests.PlatformApi;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Tests.SoftwareStatements;

/// <summary><c>trusted-issuers add/list/remove</c> on the broker's database, and the running broker honouring them.</summary>
[Collection(nameof(ProcessEnvironment))]
public sealed class TrustedIssuerCommandTests : IAsyncLifetime
{
    private const string IssuerName = "https://cli.vendor.example";

    private readonly PlatformHarness harness = new();
    private readonly RSA key = RSA.Create(2048);
    private readonly string jwksFile = Path.Combine(Path.GetTempPath(), $"broker-jwks-{Guid.NewGuid():N}.json");

    public async Task InitializeAsync()
    {
        await harness.InitializeAsync();
        await Registrations.EnableAsync(harness.Broker);
    }

    public Task DisposeAsync()
    {
        File.Delete(jwksFile);
        key.Dispose();
        return harness.DisposeAsync();
    }

    private async Task<(int Exit, string Output, string Error)> RunLocalAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Environment.SetEnvironmentVariable("Storage__ConnectionString", $"Data Source={harness.Broker.DatabasePath}");
        try
        {
            var exit = await BrokerCli.RunAsync(args, output, error);
            return (exit, output.ToString(), error.ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable("Storage__ConnectionString", null);
        }
    }

    private async Task WriteJwksAsync(bool includePrivate)
    {
        var parameters = key.ExportParameters(includePrivate);
        var jwk = new Dictionary<string, string>
        {
            ["kty"] = "RSA", ["kid"] = "cli-1", ["n"] = Base64UrlEncoder.Encode(parameters.Modulus), ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
        };
        if (includePrivate)
        {
            jwk["d"] = Base64UrlEncoder.Encode(parameters.D);
        }
        await File.WriteAllTextAsync(jwksFile, JsonSerializer.Serialize(new { keys = new[] { jwk } }));
    }

    private Task<HttpResponseMessage> RegisterWithStatementAsync() =>
        harness.Api.PostAsync("/oidc/register", JsonContent.Create(new
        {
            software_statement = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(
                JsonSerializer.Serialize(new
                {
                    iss = IssuerName,
                    exp = harness.Broker.Time.GetUtcNow().AddHours(1).ToUnixTimeSeconds(),
                    client_name = "CLI Vendor Plugin",
                    redirect_uris = new[] { "https://plugin.example/cb" },
                }),
                new SigningCredentials(new RsaSecurityKey(key) { KeyId = "cli-1" }, SecurityAlgorithms.RsaSha256)),
        }));

    [Fact]
    public async Task An_issuer_added_on_the_command_line_is_trusted_by_the_running_broker_until_it_is_removed()
    {
        await WriteJwksAsync(includePrivate: true);
        var privateKey = await RunLocalAsync("trusted-issuers", "add", "--issuer", IssuerName, "--vendor", "CLI Vendor", "--jwks", jwksFile);
        privateKey.Exit.Should().Be(2);
        privateKey.Error.Should().StartWith("error: ").And.Contain("public");

        await WriteJwksAsync(includePrivate: false);
        var added = await RunLocalAsync("trusted-issuers", "add", "--issuer", IssuerName, "--vendor", "CLI Vendor", "--jwks", jwksFile);
        added.Exit.Should().Be(0, added.Error);
        (await RunLocalAsync("trusted-issuers", "list")).Output.Should().Contain(IssuerName).And.Contain("CLI Vendor");

        (await RegisterWithStatementAsync()).StatusCode.Should().Be(HttpStatusCode.Created);

        (await RunLocalAsync("trusted-issuers", "remove", "--issuer", IssuerName)).Exit.Should().Be(0);
        (await RunLocalAsync("trusted-issuers", "remove", "--issuer", IssuerName)).Exit.Should().Be(2);
        var refused = await RegisterWithStatementAsync();
        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString().Should().Be("invalid_software_statement");
    }
}
