using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Hosting;

/// <summary>
/// A trusted issuer's public keys as a JWK Set (RFC 7517 §5): checked when the platform team adds the
/// issuer (admin API and command line), read when a software statement is verified.
/// </summary>
public static class TrustedIssuerKeys
{
    public const int MaxJwksLength = 32 * 1024;

    /// <summary>Why <paramref name="jwks"/> cannot be an issuer's keys, or null: public RSA or EC signing keys only.</summary>
    public static string? Problem(string? jwks)
    {
        const string NotASet = "jwks must be a JWK Set (RFC 7517 §5) with at least one public RSA or EC key";
        if (string.IsNullOrWhiteSpace(jwks) || jwks.Length > MaxJwksLength)
        {
            return NotASet;
        }
        try
        {
            var set = new JsonWebKeySet(jwks);
            // Reject private and symmetric keys: a key that can sign here would let the broker, or its database, forge statements.
            if (set.Keys.Count == 0 || set.Keys.Any(key => HasPrivatePart(key) || key.Kty is not ("RSA" or "EC")))
            {
                return "jwks must hold public RSA or EC keys only (no private or symmetric key)";
            }
            return set.GetSigningKeys().Count == 0 ? "jwks holds no key usable for signatures" : null;
        }
        catch (Exception exception) when (exception is ArgumentException or JsonException or InvalidOperationException or FormatException)
        {
            return NotASet;
        }
    }

    // Any private member at all, not only a complete private key (HasPrivateKey wants every RSA member).
    private static bool HasPrivatePart(JsonWebKey key) =>
        new[] { key.D, key.P, key.Q, key.DP, key.DQ, key.QI, key.K }.Any(part => !string.IsNullOrEmpty(part));

    public static IList<SecurityKey> SigningKeys(string jwks) => new JsonWebKeySet(jwks).GetSigningKeys();
}
