namespace Broker.Core.Clients;

/// <summary>
/// An issuer of software statements (RFC 7591 §2.3) the platform team trusts: a vendor signs its
/// client metadata once with a key listed here, and every open registration presenting that statement
/// is marked as the vendor's.
/// </summary>
public sealed record TrustedIssuer
{
    public const int MaxIssuerLength = 255;

    /// <summary>The statement's <c>iss</c>, compared by exact string.</summary>
    public required string Issuer { get; init; }

    /// <summary>What the consent page shows instead of "Unverified".</summary>
    public required string VendorName { get; init; }

    /// <summary>The issuer's public keys as a JWK Set (RFC 7517 §5), as the platform team gave it.</summary>
    public required string Jwks { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Why <paramref name="issuer"/> cannot be a trusted issuer's name, or null.</summary>
    public static string? IssuerProblem(string? issuer) =>
        string.IsNullOrWhiteSpace(issuer) || issuer.Length > MaxIssuerLength || issuer.Any(char.IsControl)
            ? $"issuer must be 1 to {MaxIssuerLength} characters without control characters"
            : null;
}
