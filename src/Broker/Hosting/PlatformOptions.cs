using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>The <c>Platform</c> section: the platform team's API.</summary>
public sealed class PlatformOptions
{
    public const string Section = "Platform";

    /// <summary>How long a rotated-out secret keeps working, so vendors can ship the new one.</summary>
    public TimeSpan SecretRotationOverlap { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Last use (of clients and admin tokens) is written at most this often per key.</summary>
    public TimeSpan LastUseResolution { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the gateway's hourly usage counts are added to the database.</summary>
    public TimeSpan UsageFlushInterval { get; set; } = TimeSpan.FromSeconds(10);
}

internal sealed class PlatformOptionsValidation : IValidateOptions<PlatformOptions>
{
    public ValidateOptionsResult Validate(string? name, PlatformOptions options)
    {
        var failures = new List<string>();
        // A zero overlap would break every deployed plugin at the instant of rotation; 90 days is a leak left open.
        if (options.SecretRotationOverlap < TimeSpan.Zero || options.SecretRotationOverlap > TimeSpan.FromDays(90))
        {
            failures.Add("Platform:SecretRotationOverlap must be between 00:00:00 and 90.00:00:00.");
        }
        if (options.LastUseResolution < TimeSpan.FromSeconds(1) || options.LastUseResolution > TimeSpan.FromHours(1))
        {
            failures.Add("Platform:LastUseResolution must be between 00:00:01 and 01:00:00.");
        }
        // Under a second is a write per second per instance for nothing; over five minutes leaves the charts behind.
        if (options.UsageFlushInterval < TimeSpan.FromSeconds(1) || options.UsageFlushInterval > TimeSpan.FromMinutes(5))
        {
            failures.Add("Platform:UsageFlushInterval must be between 00:00:01 and 00:05:00.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
