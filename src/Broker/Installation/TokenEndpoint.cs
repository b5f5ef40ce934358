using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Serialization;
using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Broker.Installation;

/// <summary>The seed's token response: exactly these fields (plus expires_in when a lifetime is set).</summary>
public sealed record TokenResponse(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("token_type")] string TokenType,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("created_at")] long CreatedAt,
    [property: JsonPropertyName("expires_in"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? ExpiresIn);

/// <summary>The token endpoint (RFC 6749 §3.2, §4.1.3).</summary>
public static class TokenEndpoint
{
    public const string Path = OAuthPaths.Token;


    private static readonly string[] SingleValued =
        ["grant_type", "code", "redirect_uri", "client_id", "client_secret", "code_verifier", "scope"];

    public static IEndpointRouteBuilder MapToken(this IEndpointRouteBuilder routes)
    {
        routes.MapPost(Path, Token).ExcludeFromDescription();
        return routes;
    }

    private sealed record ClientCredentials(string ClientId, string? Secret);

    private static async Task<Results<Ok<TokenResponse>, JsonHttpResult<OAuthErrorBody>>> Token(
        HttpContext context, IClientStore clients, IGrantStore grants, Throttles throttles,
        IOptions<InstallationOptions> options, IOptions<RegistrationOptions> registration, JwtAccessTokens jwts, TimeProvider time, UsageRecorder usage,
        BrokerTelemetry telemetry)
    {
        using var activity = BrokerTelemetry.Source.StartActivity("token");
        var result = await IssueAsync(context, clients, grants, throttles, options, registration, jwts, time, usage, telemetry);
        // The grant type as the form gave it (the form is read by then, or was unreadable), reduced to known ones.
        var grantType = RequestForms.SingleValue(context.Features.Get<IFormFeature>()?.Form?["grant_type"] ?? default);
        var outcome = result.Result switch
        {
            JsonHttpResult<OAuthErrorBody> { StatusCode: StatusCodes.Status429TooManyRequests } => "throttled",
            JsonHttpResult<OAuthErrorBody> error => error.Value!.Error,
            _ => "issued",
        };
        telemetry.TokenRequest(grantType, outcome);
        activity?.SetTag(BrokerTelemetry.OutcomeTag, outcome);
        return result;
    }

    private static async Task<Results<Ok<TokenResponse>, JsonHttpResult<OAuthErrorBody>>> IssueAsync(
        HttpContext context, IClientStore clients, IGrantStore grants, Throttles throttles,
        IOptions<InstallationOptions> options, IOptions<RegistrationOptions> registration, JwtAccessTokens jwts, TimeProvider time, UsageRecorder usage,
        BrokerTelemetry telemetry)
    {
        // Reject anything but a form post (RFC 6749 §3.2).
        if (!RequestForms.IsUrlEncodedForm(context.Request))
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidRequest, "the body must be application/x-www-form-urlencoded");
        }
        var form = await RequestForms.TryReadFormAsync(context.Request, context.RequestAborted);
        if (form is null)
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidRequest, "the body is not a well-formed form");
        }
        // Reject repeated parameters (RFC 6749 §3.2).
        var repeated = RequestForms.Repeated(form, SingleValued);
        if (repeated.Count > 0)
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidRequest, $"parameter '{repeated[0]}' must appear once");
        }
        var credentials = ReadCredentials(context.Request, form, out var credentialsProblem);
        if (credentialsProblem is not null)
        {
            return credentialsProblem.Value.Status == StatusCodes.Status401Unauthorized
                ? OAuthResults.InvalidClient(context, credentialsProblem.Value.Description)
                : OAuthResults.BadRequest(OAuthErrors.InvalidRequest, credentialsProblem.Value.Description);
        }
        // Reject a client_id that has failed authentication too often, before looking at the secret.
        if (await throttles.ClientAuthentications.BlockedForAsync(credentials!.ClientId, context.RequestAborted) is { } retryAfter)
        {
            telemetry.Throttled("failed-client-authentications", context.Connection.RemoteIpAddress?.ToString(), retryAfter);
            return OAuthResults.TooManyRequests(context, retryAfter, OAuthErrors.InvalidClient,
                "too many failed client authentications; retry later");
        }
        var client = Secret.IsWellFormedClientId(credentials.ClientId)
            ? await clients.FindAsync(credentials.ClientId, context.RequestAborted)
            : null;
        // Reject unknown, inactive and wrongly authenticated clients alike.
        if (client is null || !client.IsActive || !Authenticates(client, credentials, time.GetUtcNow()))
        {
            await throttles.ClientAuthentications.RecordFailureAsync(credentials.ClientId, context.RequestAborted);
            // A child's client_id is its gateway key: named in the log only when it is not one.
            telemetry.AuthenticationFailed(AuthenticationKinds.Client,
                client is { Role: InstallationRole } ? null : credentials.ClientId, context.Connection.RemoteIpAddress?.ToString());
            return OAuthResults.InvalidClient(context, "client authentication failed");
        }
        usage.ClientUsed(client.ClientId);
        var grantType = RequestForms.SingleValue(form["grant_type"]);
        if (GrantRules.Problem(client, grantType) is { } grantProblem)
        {
            return OAuthResults.BadRequest(grantProblem.Error, grantProblem.Description);
        }
        var minting = new TokenMinting(options.Value.TokenLifetime, registration.Value.AccessTokenLifetime, jwts.IsEnabled ? jwts : null);
        return grantType == GrantType.ClientCredentials
            ? await IssueForClientAsync(form, client, grants, minting, time.GetUtcNow(), context.RequestAborted)
            : await ExchangeCodeAsync(form, client, grants, minting, time.GetUtcNow(), telemetry, context.RequestAborted);
    }

    // What a new token is: a JWT for registered clients' access tokens when Tokens:Format says so;
    // otherwise, and always for installation tokens, 256 random bits. Either way only its hash is stored,
    // so the gateway decides a JWT as it decides an opaque token (the client's status, revocation, expiry).
    private sealed record TokenMinting(TimeSpan? InstallationLifetime, TimeSpan AccessLifetime, JwtAccessTokens? Jwts)
    {
        public async ValueTask<(string Value, TimeSpan? Lifetime)> NewAsync(
            TokenPurpose purpose, string clientId, string subject, string scope, DateTimeOffset now, CancellationToken cancellationToken) =>
            purpose == TokenPurpose.Access && Jwts is not null
                ? (await Jwts.CreateAsync(clientId, subject, scope, now, cancellationToken), Jwts.Lifetime)
                : (Secret.NewToken(), InstallationRules.Lifetime(purpose, InstallationLifetime, AccessLifetime));
    }

    private static async Task<Results<Ok<TokenResponse>, JsonHttpResult<OAuthErrorBody>>> IssueForClientAsync(
        IFormCollection form, Client client, IGrantStore grants, TokenMinting minting, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var requested = RequestForms.SingleValue(form["scope"]);
        var scopes = (requested ?? AuthorizationRules.PublicScope).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // Reject scopes the server does not know.
        if (scopes.Length == 0 || scopes.Any(scope => !AuthorizationRules.SupportedScopes.Contains(scope)))
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidScope, $"unknown scope; supported: {string.Join(' ', AuthorizationRules.SupportedScopes)}");
        }
        var scope = string.Join(' ', scopes.Distinct(StringComparer.Ordinal));
        var (tokenValue, lifetime) = await minting.NewAsync(TokenPurpose.Access, client.ClientId, client.ClientId, scope, now, cancellationToken);
        await grants.CreateTokenAsync(new AccessToken
        {
            TokenHash = Secret.Hash(tokenValue),
            ClientId = client.ClientId,
            Scope = scope,
            Purpose = TokenPurpose.Access,
            CreatedAt = now,
            ExpiresAt = now + lifetime,
        }, cancellationToken);
        return TypedResults.Ok(new TokenResponse(tokenValue, "bearer", scope, now.ToUnixTimeSeconds(), (long?)lifetime?.TotalSeconds));
    }

    private static async Task<Results<Ok<TokenResponse>, JsonHttpResult<OAuthErrorBody>>> ExchangeCodeAsync(
        IFormCollection form, Client client, IGrantStore grants, TokenMinting minting, DateTimeOffset now,
        BrokerTelemetry telemetry, CancellationToken cancellationToken)
    {
        var codeValue = RequestForms.SingleValue(form["code"]);
        var redirectUri = RequestForms.SingleValue(form["redirect_uri"]);
        var verifier = RequestForms.SingleValue(form["code_verifier"]);
        // Reject a missing code or redirect_uri (we always require redirect_uri at authorize).
        if (string.IsNullOrEmpty(codeValue) || string.IsNullOrEmpty(redirectUri))
        {
            return OAuthResults.BadRequest(OAuthErrors.InvalidRequest, "code and redirect_uri are required");
        }
        var codeHash = Secret.Hash(codeValue);
        var code = await grants.FindCodeAsync(codeHash, cancellationToken);
        // Reject unknown codes and codes issued to another client.
        if (code is null || code.ClientId != client.ClientId)
        {
            return InvalidGrant("the code is invalid");
        }
        // Reject a replayed code, and revoke what it issued (RFC 6749 §4.1.2).
        if (code.RedeemedAt is not null)
        {
            telemetry.CodeReplayed(client.ClientId);
            await grants.RevokeIssuedForCodeAsync(codeHash, now, cancellationToken);
            return InvalidGrant("the code was already used; the token it issued is revoked");
        }
        // Reject expired codes.
        if (code.ExpiresAt <= now)
        {
            return InvalidGrant("the code has expired");
        }
        // Reject a redirect_uri other than the one the code was issued for (exact string).
        if (!string.Equals(code.RedirectUri, redirectUri, StringComparison.Ordinal))
        {
            return InvalidGrant("redirect_uri does not match the authorization request");
        }
        // Reject a missing or wrong PKCE verifier, and a verifier for a code issued without PKCE (downgrade).
        if (code.CodeChallenge is not null
            ? verifier is null || !Pkce.Verifies(verifier, code.CodeChallenge)
            : verifier is not null)
        {
            return InvalidGrant("code_verifier does not match the code_challenge");
        }
        var purpose = InstallationRules.PurposeOfTokenFor(client);
        var (tokenValue, lifetime) = await minting.NewAsync(purpose, client.ClientId, code.UserId, code.Scope, now, cancellationToken);
        var token = new AccessToken
        {
            TokenHash = Secret.Hash(tokenValue),
            ClientId = client.ClientId,
            UserId = code.UserId,
            Scope = code.Scope,
            Purpose = purpose,
            CodeHash = codeHash,
            Origin = InstallationRules.OriginOfTokenFor(client, code.RedirectUri),
            CreatedAt = now,
            ExpiresAt = now + lifetime,
        };
        // The code is spent and the token stored in one transaction; a racing redemption loses and is a replay.
        if (!await grants.RedeemCodeAsync(codeHash, token, now, cancellationToken))
        {
            telemetry.CodeReplayed(client.ClientId);
            await grants.RevokeIssuedForCodeAsync(codeHash, now, cancellationToken);
            return InvalidGrant("the code was already used; the token it issued is revoked");
        }
        return TypedResults.Ok(new TokenResponse(
            tokenValue, "bearer", code.Scope, now.ToUnixTimeSeconds(), (long?)lifetime?.TotalSeconds));
    }

    private static JsonHttpResult<OAuthErrorBody> InvalidGrant(string description) =>
        OAuthResults.BadRequest(OAuthErrors.InvalidGrant, description);

    // A rotated-out secret keeps working for the overlap the platform team configured.
    private static bool Authenticates(Client client, ClientCredentials credentials, DateTimeOffset now) =>
        client.IsPublic
            ? credentials.Secret is null
            : credentials.Secret is not null && ClientSecrets.Accepts(client, credentials.Secret, now);

    // client_secret_basic (RFC 6749 §2.3.1, form-encoded inside Basic) or client_secret_post; never both.
    private static ClientCredentials? ReadCredentials(HttpRequest request, IFormCollection form, out (int Status, string Description)? problem)
    {
        problem = null;
        var postedId = RequestForms.SingleValue(form["client_id"]);
        var postedSecret = RequestForms.SingleValue(form["client_secret"]);
        var header = request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            // Reject two authentication methods in one request.
            if (postedSecret is not null)
            {
                problem = (StatusCodes.Status400BadRequest, "use one client authentication method, not both");
                return null;
            }
            if (!AuthenticationHeaderValue.TryParse(header, out var parsed)
                || !string.Equals(parsed.Scheme, "Basic", StringComparison.OrdinalIgnoreCase)
                || TryDecodeBasic(parsed.Parameter) is not { } basic)
            {
                problem = (StatusCodes.Status401Unauthorized, "the Authorization header must be Basic client_id:client_secret");
                return null;
            }
            // Reject a posted client_id that disagrees with the authenticated one.
            if (postedId is not null && postedId != basic.ClientId)
            {
                problem = (StatusCodes.Status400BadRequest, "client_id does not match the Authorization header");
                return null;
            }
            return new ClientCredentials(basic.ClientId, basic.Secret);
        }
        if (string.IsNullOrEmpty(postedId))
        {
            problem = (StatusCodes.Status401Unauthorized, "client authentication is required");
            return null;
        }
        return new ClientCredentials(postedId, postedSecret);
    }

    private static (string ClientId, string Secret)? TryDecodeBasic(string? parameter)
    {
        if (string.IsNullOrEmpty(parameter) || parameter.Length > 4096)
        {
            return null;
        }
        try
        {
            var decoded = new UTF8Encoding(false, true).GetString(Convert.FromBase64String(parameter));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                return null;
            }
            return (Uri.UnescapeDataString(decoded[..colon].Replace('+', ' ')), Uri.UnescapeDataString(decoded[(colon + 1)..].Replace('+', ' ')));
        }
        catch (Exception exception) when (exception is FormatException or DecoderFallbackException)
        {
            return null;
        }
    }
}
