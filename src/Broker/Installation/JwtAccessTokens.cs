using System.Security.Cryptography;
using Broker.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Installation;

/// <summary>
/// RFC 9068 access tokens: <c>typ: at+jwt</c>, signed with the broker's current key, carrying
/// <c>iss</c>, <c>aud</c>, <c>sub</c>, <c>client_id</c>, <c>scope</c>, <c>iat</c>, <c>nbf</c>, <c>exp</c>
/// and <c>jti</c>. Issued to registered clients when <c>Tokens:Format</c> is <c>Jwt</c>.
/// </summary>
public sealed class JwtAccessTokens(SigningKeys keys, IOptions<TokenOptions> tokens, IOptions<BrokerOptions> broker)
{
    /// <summary>The <c>typ</c> header of RFC 9068 §2.1, which keeps an access token from passing as another kind of JWT.</summary>
    public const string TokenType = "at+jwt";

    // Times are the token endpoint's clock (faked in tests), never the handler's own.
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public bool IsEnabled => tokens.Value.IssuesJwts;

    public TimeSpan Lifetime => tokens.Value.Lifetime;

    /// <param name="subject">The resource owner; for a client acting on its own behalf, its client id (RFC 9068 §2.2).</param>
    public async ValueTask<string> CreateAsync(string clientId, string subject, string scope, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var issuer = broker.Value.Issuer.TrimEnd('/');
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            TokenType = TokenType,
            Issuer = issuer,
            Audience = tokens.Value.AudienceOr(issuer),
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + Lifetime).UtcDateTime,
            SigningCredentials = await keys.SignerAsync(cancellationToken),
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = subject,
                ["client_id"] = clientId,
                ["scope"] = scope,
                [JwtRegisteredClaimNames.Jti] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            },
        });
    }
}
