using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>The <c>Tokens</c> section: the format of registered clients' access tokens and the keys that sign JWTs.</summary>
public sealed class TokenOptions
{
    public const string Section = "Tokens";

    public const string Opaque = "Opaque";
    public const string Jwt = "Jwt";

    /// <summary>
    /// What registered clients' access tokens are: <c>Opaque</c> (default: 256 random bits, meaningful only
    /// to the broker) or <c>Jwt</c> (RFC 9068, verifiable against <c>jwks_uri</c>); case-insensitive.
    /// Installation tokens stay opaque either way. (A string, so a typo is a start-up message, not a binder crash.)
    /// </summary>
    public string Format { get; set; } = Opaque;

    public bool IssuesJwts => string.Equals(Format?.Trim(), Jwt, StringComparison.OrdinalIgnoreCase);

    /// <summary>The JWTs' <c>aud</c>: the resource they are for; unset means <c>Broker:Issuer</c> (the gateway's own address).</summary>
    public string? Audience { get; set; }

    /// <summary>
    /// How long a JWT access token lives. Short: a verifier that does not ask the broker accepts a revoked
    /// client's token until it expires (the gateway refuses it at once).
    /// </summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long each signing key signs before the next one takes over.</summary>
    public TimeSpan KeyRotationInterval { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long before it signs a new key is published at <c>jwks_uri</c>: longer than verifiers cache the key set.</summary>
    public TimeSpan KeyPublicationLead { get; set; } = TimeSpan.FromDays(2);

    /// <summary>The audience the tokens carry.</summary>
    public string AudienceOr(string issuer) => string.IsNullOrWhiteSpace(Audience) ? issuer : Audience;
}

internal sealed class TokenOptionsValidation : IValidateOptions<TokenOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenOptions options)
    {
        var failures = new List<string>();
        if (!options.IssuesJwts && !string.Equals(options.Format?.Trim(), TokenOptions.Opaque, StringComparison.OrdinalIgnoreCase))
        {
            failures.Add("Tokens:Format must be Opaque or Jwt.");
        }
        if (!string.IsNullOrWhiteSpace(options.Audience) && !Uri.TryCreate(options.Audience, UriKind.Absolute, out _))
        {
            failures.Add("Tokens:Audience must be an absolute URI when set.");
        }
        // A token nobody can revoke before it expires must not live long.
        if (options.Lifetime < TimeSpan.FromMinutes(1) || options.Lifetime > TimeSpan.FromHours(1))
        {
            failures.Add("Tokens:Lifetime must be between 00:01:00 and 01:00:00.");
        }
        // Verifiers cache key sets for hours (Microsoft.IdentityModel refreshes every 12 h): a shorter lead
        // would have them meet a key they never saw.
        if (options.KeyPublicationLead < TimeSpan.FromHours(1))
        {
            failures.Add("Tokens:KeyPublicationLead must be at least 01:00:00.");
        }
        if (options.KeyRotationInterval <= options.KeyPublicationLead + options.Lifetime)
        {
            failures.Add("Tokens:KeyRotationInterval must be longer than Tokens:KeyPublicationLead plus Tokens:Lifetime.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
