using Microsoft.Extensions.Options;

namespace Broker.Webhooks;

/// <summary>The <c>Webhooks</c> section: delivery of the audit log to subscribers.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>
    /// Lets subscriptions name loopback, private and link-local addresses and plain http (tests, a
    /// receiver on a private network). Off: such a URL is refused, and so is a connection to a name
    /// that resolves to such an address.
    /// </summary>
    public bool AllowInternalAddresses { get; set; }

    /// <summary>One attempt's budget: connect, send, and the receiver's status line.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts at one event before the subscription is parked (until a replay).</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>The first pause between attempts; it doubles each time, with jitter, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often an instance looks for new entries.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a subscription stays with the instance delivering it, renewed as it goes.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a missing audit id holds back the entries after it. On PostgreSQL and SQL Server ids are
    /// taken before commit, so a later id can commit first; an id still missing past this is a
    /// rolled-back transaction, not a late one (every transaction is bounded by <c>Storage:Timeout</c>).
    /// </summary>
    public TimeSpan GapGrace { get; set; } = TimeSpan.FromMinutes(1);
}

internal sealed class WebhookOptionsValidation : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var failures = new List<string>();
        if (options.Timeout < TimeSpan.FromMilliseconds(100) || options.Timeout > TimeSpan.FromMinutes(1))
        {
            failures.Add("Webhooks:Timeout must be between 00:00:00.1 and 00:01:00.");
        }
        if (options.MaxAttempts is < 1 or > 100)
        {
            failures.Add("Webhooks:MaxAttempts must be between 1 and 100.");
        }
        if (options.RetryDelay < TimeSpan.FromMilliseconds(10) || options.MaxRetryDelay < options.RetryDelay || options.MaxRetryDelay > TimeSpan.FromHours(1))
        {
            failures.Add("Webhooks:RetryDelay must be at least 00:00:00.01 and Webhooks:MaxRetryDelay between it and 01:00:00.");
        }
        if (options.PollInterval < TimeSpan.FromMilliseconds(10) || options.PollInterval > TimeSpan.FromMinutes(5))
        {
            failures.Add("Webhooks:PollInterval must be between 00:00:00.01 and 00:05:00.");
        }
        // An attempt must end well inside the lease it was started under, or a second instance could
        // take the subscription while the first is still sending.
        if (options.LeaseDuration < 2 * options.Timeout)
        {
            failures.Add("Webhooks:LeaseDuration must be at least twice Webhooks:Timeout.");
        }
        if (options.GapGrace < TimeSpan.Zero)
        {
            failures.Add("Webhooks:GapGrace must not be negative.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
