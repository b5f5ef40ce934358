using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>The <c>Broker</c> section: how this deployment names itself.</summary>
public sealed class BrokerOptions
{
    public const string Section = "Broker";

    /// <summary>
    /// The public base URL (RFC 8414 issuer, the <c>iss</c> of every authorization response). Taken
    /// from configuration, never from the request's Host header, which a caller controls.
    /// </summary>
    public string Issuer { get; set; } = "http://localhost:5080";
}

/// <summary>The <c>Installation</c> section: codes, installation tokens and children.</summary>
public sealed class InstallationOptions
{
    public const string Section = "Installation";

    /// <summary>How long an authorization code may wait to be redeemed; at most 10 minutes.</summary>
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long an unspent installation token stays good; unset means it never expires, as in the seed.</summary>
    public TimeSpan? TokenLifetime { get; set; }

    /// <summary>A child's hourly quota when its parent sets none (the seed's 3000).</summary>
    public int DefaultChildRateLimit { get; set; } = 3000;

    /// <summary>Failed client authentications per client_id at the token endpoint before it answers 429.</summary>
    public int FailedClientAuthenticationsPerWindow { get; set; } = 10;

    public TimeSpan FailedClientAuthenticationWindow { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>The <c>Accounts</c> section: site owners' sign-in.</summary>
public sealed class AccountOptions
{
    public const string Section = "Accounts";

    public int FailedLoginsPerAccount { get; set; } = 5;

    public int FailedLoginsPerAddress { get; set; } = 20;

    public TimeSpan FailedLoginWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a sign-in lasts without activity.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>How long a password-reset link works (once).</summary>
    public TimeSpan PasswordResetLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Reset requests per typed e-mail address, and per caller address, per <see cref="PasswordResetWindow"/>.</summary>
    public int PasswordResetsPerAccount { get; set; } = 3;

    public int PasswordResetsPerAddress { get; set; } = 10;

    public TimeSpan PasswordResetWindow { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Checks every option section at start, so a bad setting stops the broker instead of a request.</summary>
internal sealed class BrokerOptionsValidation :
    IValidateOptions<BrokerOptions>, IValidateOptions<InstallationOptions>, IValidateOptions<AccountOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerOptions options) =>
        Uri.TryCreate(options.Issuer, UriKind.Absolute, out var issuer)
        && (issuer.Scheme == Uri.UriSchemeHttps || issuer.Scheme == Uri.UriSchemeHttp)
        && string.IsNullOrEmpty(issuer.Query) && string.IsNullOrEmpty(issuer.Fragment)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Broker:Issuer must be an absolute http(s) URL without query or fragment.");

    public ValidateOptionsResult Validate(string? name, InstallationOptions options)
    {
        var failures = new List<string>();
        if (options.CodeLifetime <= TimeSpan.Zero || options.CodeLifetime > TimeSpan.FromMinutes(10))
        {
            failures.Add("Installation:CodeLifetime must be more than zero and at most 10 minutes.");
        }
        if (options.TokenLifetime is { } lifetime && lifetime <= TimeSpan.Zero)
        {
            failures.Add("Installation:TokenLifetime must be positive when set.");
        }
        if (options.DefaultChildRateLimit < 1)
        {
            failures.Add("Installation:DefaultChildRateLimit must be at least 1.");
        }
        if (options.FailedClientAuthenticationsPerWindow < 1 || options.FailedClientAuthenticationWindow <= TimeSpan.Zero)
        {
            failures.Add("Installation:FailedClientAuthenticationsPerWindow and FailedClientAuthenticationWindow must be positive.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public ValidateOptionsResult Validate(string? name, AccountOptions options)
    {
        var failures = new List<string>();
        if (options.FailedLoginsPerAccount < 1 || options.FailedLoginsPerAddress < 1
            || options.FailedLoginWindow <= TimeSpan.Zero || options.SessionLifetime <= TimeSpan.Zero)
        {
            failures.Add("Accounts: failed-login limits, window and session lifetime must be positive.");
        }
        // A reset link is a password in a mailbox: it must not live long.
        if (options.PasswordResetLifetime <= TimeSpan.Zero || options.PasswordResetLifetime > TimeSpan.FromDays(1))
        {
            failures.Add("Accounts:PasswordResetLifetime must be more than zero and at most one day.");
        }
        if (options.PasswordResetsPerAccount < 1 || options.PasswordResetsPerAddress < 1 || options.PasswordResetWindow <= TimeSpan.Zero)
        {
            failures.Add("Accounts: password-reset limits and window must be positive.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
