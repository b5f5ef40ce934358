using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Tests.ConsolePages;

/// <summary>
/// A small OpenID Connect provider on Kestrel (loopback, any free port) standing in for Microsoft Entra ID:
/// discovery document, authorize endpoint (answers with Entra's default <c>form_post</c>), token endpoint
/// (code, PKCE and client secret checked; an id token signed with a test RSA key) and the keys. It issues
/// Entra's issuer for a fixed tenant, so only where the metadata comes from differs from production.
/// </summary>
public sealed class FakeEntraId : IAsyncDisposable
{
    public const string TenantId = "6f1d2c3b-0000-4000-8000-00000000abcd";
    public const string ClientId = "0a1b2c3d-1111-4222-8333-444455556666";
    public const string ClientSecret = "test-client-secret";
    public static readonly string Issuer = $"https://login.microsoftonline.com/{TenantId}/v2.0";

    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, (string? Nonce, string? Challenge, string RedirectUri, EntraUser User)> codes = new();

    /// <summary>Who signs in at the authorize endpoint next.</summary>
    public EntraUser NextUser { get; set; } = new("11111111-2222-3333-4444-555555555555", "Ada Ops", ["Clients.Read"]);

    /// <summary>The key id tokens are signed with (another key makes a forged token).</summary>
    public RsaSecurityKey SigningKey { get; } = new(RSA.Create(2048)) { KeyId = "fake-entra-key" };

    public RsaSecurityKey? ForgeWith { get; set; }

    /// <summary>A nonce to put in the id token instead of the one the broker sent.</summary>
    public string? NonceOverride { get; set; }

    public string BaseAddress { get; private set; } = "";

    public string MetadataAddress => BaseAddress + "/.well-known/openid-configuration";

    private FakeEntraId(WebApplication app) => this.app = app;

    public static async Task<FakeEntraId> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var provider = new FakeEntraId(app);
        app.MapGet("/.well-known/openid-configuration", provider.Discovery);
        app.MapGet("/keys", provider.Keys);
        app.MapGet("/authorize", provider.Authorize);
        app.MapPost("/token", provider.TokenAsync);
        await app.StartAsync();
        provider.BaseAddress = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return provider;
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();

    private IResult Discovery() => Results.Json(new Dictionary<string, object>
    {
        ["issuer"] = Issuer,
        ["authorization_endpoint"] = BaseAddress + "/authorize",
        ["token_endpoint"] = BaseAddress + "/token",
        ["jwks_uri"] = BaseAddress + "/keys",
        ["response_types_supported"] = new[] { "code", "id_token", "code id_token" },
        ["response_modes_supported"] = new[] { "query", "fragment", "form_post" },
        ["subject_types_supported"] = new[] { "pairwise" },
        ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_post", "client_secret_basic" },
        ["scopes_supported"] = new[] { "openid", "profile", "email", "offline_access" },
    });

    private IResult Keys()
    {
        var key = SigningKey.Rsa.ExportParameters(false);
        return Results.Json(new
        {
            keys = new[]
            {
                new { kty = "RSA", use = "sig", alg = "RS256", kid = SigningKey.KeyId, n = Base64UrlEncoder.Encode(key.Modulus), e = Base64UrlEncoder.Encode(key.Exponent) },
            },
        });
    }

    // The user "signs in" at once; the code goes back as Entra sends it by default, a page that posts it.
    private IResult Authorize(HttpRequest request)
    {
        var query = request.Query;
        if (query["client_id"] != ClientId || query["response_type"] != "code" || string.IsNullOrEmpty(query["redirect_uri"]))
        {
            return Results.BadRequest("bad authorize request");
        }
        var code = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        codes[code] = (query["nonce"], query["code_challenge"], query["redirect_uri"]!, NextUser);
        var fields = $"""<input type="hidden" name="code" value="{code}"><input type="hidden" name="state" value="{WebUtility.HtmlEncode(query["state"])}">""";
        return query["response_mode"] == "form_post"
            ? Results.Content($"""<html><body><form method="post" action="{WebUtility.HtmlEncode(query["redirect_uri"])}">{fields}</form></body></html>""", "text/html")
            : Results.Redirect($"{query["redirect_uri"]}?code={code}&state={Uri.EscapeDataString(query["state"].ToString())}");
    }

    private async Task<IResult> TokenAsync(HttpRequest request)
    {
        var form = await request.ReadFormAsync();
        // Reject a code not issued, a second use, another redirect URI, a wrong secret or PKCE verifier.
        if (form["grant_type"] != "authorization_code" || !codes.TryRemove(form["code"].ToString(), out var issued)
            || form["redirect_uri"] != issued.RedirectUri || form["client_id"] != ClientId || form["client_secret"] != ClientSecret
            || issued.Challenge != Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString()))))
        {
            return Results.Json(new { error = "invalid_grant" }, statusCode: StatusCodes.Status400BadRequest);
        }
        var accessToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object>
        {
            ["tid"] = TenantId,
            ["oid"] = issued.User.ObjectId,
            ["sub"] = "pairwise-" + issued.User.ObjectId,
            ["name"] = issued.User.Name,
            ["preferred_username"] = issued.User.Name.Replace(' ', '.').ToLowerInvariant() + "@platform.example",
            ["ver"] = "2.0",
            ["at_hash"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken))[..16]),
        };
        if ((NonceOverride ?? issued.Nonce) is { } nonce)
        {
            claims["nonce"] = nonce;
        }
        if (issued.User.Roles.Length > 0)
        {
            claims["roles"] = issued.User.Roles;
        }
        var idToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = ClientId,
            IssuedAt = now.AddMinutes(-1),
            NotBefore = now.AddMinutes(-1),
            Expires = now.AddHours(1),
            Claims = claims,
            SigningCredentials = new SigningCredentials(ForgeWith ?? SigningKey, SecurityAlgorithms.RsaSha256),
        });
        return Results.Json(new { token_type = "Bearer", access_token = accessToken, expires_in = 3600, id_token = idToken });
    }
}

/// <summary>An Entra user: object id, display name, the app roles assigned to them.</summary>
public sealed record EntraUser(string ObjectId, string Name, string[] Roles);
