using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Core.Clients;
using Broker.Core.Stores;
using Broker.Hosting;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Registration;

/// <summary>A software statement that verified: who signed it, and its claims to lay over the request's metadata.</summary>
public sealed record VerifiedStatement(TrustedIssuer Issuer, JsonObject Claims);

/// <summary>
/// Software statements (RFC 7591 §2.3): a JWT a trusted issuer signed over a vendor's client metadata.
/// Only signed statements from an issuer the platform team added count: <c>alg: none</c>, a missing
/// signature, a missing or past <c>exp</c>, a signature no key of the issuer verifies and an unknown
/// <c>iss</c> are each refused with <c>invalid_software_statement</c>, before anything is written.
/// </summary>
public sealed class SoftwareStatements(ITrustedIssuerStore issuers, TimeProvider time)
{
    public const string Field = "software_statement";

    // Statements are short: a few kilobytes of metadata; anything longer is not one.
    private const int MaxLength = 16 * 1024;

    public static readonly ValidationRule Rule = new("software_statement", "RFC 7591 §2.3, §3.2.2",
        "a JWS signed (RS256, PS256 or ES256) by a key of an issuer the platform trusts, with iss and a future exp",
        "invalid_software_statement");

    // Asymmetric algorithms only: a shared secret would let anyone holding it sign as the vendor.
    private static readonly string[] Algorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    // The JWT's own claims describe the statement, not the client: they never become metadata.
    private static readonly HashSet<string> TokenClaims = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

    /// <summary>The verified statement in <paramref name="request"/>, null when it carries none, or the refusal.</summary>
    public async Task<(VerifiedStatement? Statement, Refusal? Refusal)> VerifyAsync(JsonElement request, CancellationToken cancellationToken)
    {
        if (request.ValueKind != JsonValueKind.Object || !request.TryGetProperty(Field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return (null, null);
        }
        // Reject anything but a compact JWS of sensible length.
        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 and <= MaxLength } jwt)
        {
            return Refuse($"{Field} must be a signed JWT (compact serialization) of at most {MaxLength} characters");
        }
        var handler = new JsonWebTokenHandler();
        if (!handler.CanReadToken(jwt))
        {
            return Refuse($"{Field} is not a JWT in compact serialization");
        }
        JsonWebToken token;
        try
        {
            token = handler.ReadJsonWebToken(jwt);
        }
        catch (Exception exception) when (exception is ArgumentException or SecurityTokenException)
        {
            return Refuse($"{Field} is not a JWT in compact serialization");
        }
        // Reject unsigned statements: alg none, or a token without a signature, proves nothing about who wrote it.
        if (string.IsNullOrEmpty(token.EncodedSignature) || string.Equals(token.Alg, "none", StringComparison.OrdinalIgnoreCase))
        {
            return Refuse($"{Field} is unsigned (alg none or no signature); only signed statements are accepted");
        }
        if (!Algorithms.Contains(token.Alg, StringComparer.Ordinal))
        {
            return Refuse($"{Field} is signed with {token.Alg}; use one of {string.Join(", ", Algorithms)}");
        }
        // Reject an issuer the platform team has not added.
        var issuerName = token.Issuer;
        var issuer = string.IsNullOrEmpty(issuerName) || TrustedIssuer.IssuerProblem(issuerName) is not null
            ? null
            : await issuers.FindAsync(issuerName, cancellationToken);
        if (issuer is null)
        {
            return Refuse($"{Field} issuer '{issuerName}' is not a trusted issuer");
        }
        // Reject a statement without an expiry, or past it (the broker's clock, not the library's).
        if (!token.TryGetPayloadValue<long>("exp", out var expires))
        {
            return Refuse($"{Field} must carry exp");
        }
        if (DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(expires, 0, 253402300799)) <= time.GetUtcNow())
        {
            return Refuse($"{Field} has expired");
        }
        // Reject a signature no key of the issuer verifies.
        var result = await handler.ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            ValidIssuer = issuer.Issuer,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireSignedTokens = true,
            ValidAlgorithms = Algorithms,
            IssuerSigningKeys = TrustedIssuerKeys.SigningKeys(issuer.Jwks),
            TryAllIssuerSigningKeys = true,
        });
        if (!result.IsValid)
        {
            return Refuse($"{Field} signature does not verify with the keys of issuer '{issuer.Issuer}'");
        }
        // Reject claims that are not one JSON object with each name once (the issuer signed it, but a
        // duplicate would leave which value wins to the parser).
        JsonObject? claims;
        try
        {
            claims = JsonNode.Parse(Base64UrlEncoder.Decode(token.EncodedPayload)) as JsonObject;
            _ = claims?.Count;
        }
        catch (Exception exception) when (exception is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            claims = null;
        }
        if (claims is null)
        {
            return Refuse($"{Field} claims must be one JSON object naming each claim once");
        }
        foreach (var claim in TokenClaims)
        {
            claims.Remove(claim);
        }
        return (new VerifiedStatement(issuer, claims), null);
    }

    /// <summary>The request's metadata with the statement's signed fields laid over it: the signed ones win.</summary>
    public static JsonDocument Merge(JsonElement request, VerifiedStatement statement)
    {
        var merged = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(merged))
        {
            writer.WriteStartObject();
            // The request's fields as given, less the statement and what it signs: a field given twice stays
            // twice, for the metadata rules to refuse like any other request's.
            foreach (var property in request.EnumerateObject())
            {
                if (property.Name != Field && !statement.Claims.ContainsKey(property.Name))
                {
                    property.WriteTo(writer);
                }
            }
            foreach (var (name, claim) in statement.Claims)
            {
                writer.WritePropertyName(name);
                if (claim is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    claim.WriteTo(writer);
                }
            }
            writer.WriteEndObject();
        }
        return JsonDocument.Parse(merged.WrittenMemory);
    }

    private static (VerifiedStatement?, Refusal?) Refuse(string description) => (null, Rule.Refuse(Core.Clients.Refusal.FieldPath(Field), description));
}
