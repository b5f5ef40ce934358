using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>The <c>Registration</c> section: open (Auth0-style) registration and registered clients' tokens.</summary>
public sealed class RegistrationOptions
{
    public const string Section = "Registration";

    /// <summary>Open registrations per caller address per minute.</summary>
    public int PermitsPerMinutePerAddress { get; set; } = 30;

    /// <summary>Cap on open-registered clients in the tenant.</summary>
    public int MaxOpenClients { get; set; } = 10_000;

    /// <summary>Open-registered clients never used are removed after this.</summary>
    public TimeSpan UnusedClientLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Lifetime of access tokens issued to registered (non-parent) clients.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a changed tenant flag may take to reach every instance.</summary>
    public TimeSpan SettingsCacheLifetime { get; set; } = TimeSpan.FromSeconds(2);
}

internal sealed class RegistrationOptionsValidation : IValidateOptions<RegistrationOptions>
{
    public ValidateOptionsResult Validate(string? name, RegistrationOptions options) =>
        options.PermitsPerMinutePerAddress >= 1 && options.MaxOpenClients >= 0 && options.UnusedClientLifetime > TimeSpan.Zero
        && options.AccessTokenLifetime > TimeSpan.Zero && options.SettingsCacheLifetime >= TimeSpan.Zero
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Registration: limits and lifetimes must be positive (MaxOpenClients may be 0 to refuse all).");
}
