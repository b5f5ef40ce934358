using System.Data.Common;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Storage;
using Microsoft.Extensions.Options;

namespace Broker.Operations;

/// <summary>
/// The <c>Retention</c> section: how long each kind of ended row is kept, and how the job removes them.
/// Audit entries are kept the longest; the database itself refuses to delete one younger than 28 days.
/// </summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>The shortest audit retention accepted: two days over the database's own floor, for clocks that differ.</summary>
    public static readonly TimeSpan MinimumAuditRetention = TimeSpan.FromDays(30);

    /// <summary>Spent, revoked or expired installation tokens: an idempotent retry of <c>POST /clients</c> finds its child until then.</summary>
    public TimeSpan InstallationTokens { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Expired authorization codes: a replay within this is recognised and revokes what the code issued; after it, it is an unknown code.</summary>
    public TimeSpan AuthorizationCodes { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Expired or revoked access tokens of registered clients.</summary>
    public TimeSpan AccessTokens { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Revoked admin tokens (listed by the platform API until then).</summary>
    public TimeSpan AdminTokens { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Audit entries, by when they were written.</summary>
    public TimeSpan AuditEntries { get; set; } = TimeSpan.FromDays(365);

    /// <summary>Hourly usage counts (the console shows 7 days; a year and a month allow comparing a month with the year before).</summary>
    public TimeSpan UsageHours { get; set; } = TimeSpan.FromDays(400);

    /// <summary>How often the job runs.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Rows one transaction deletes: small, so that no other writer waits long behind it.</summary>
    public int BatchSize { get; set; } = 500;

    public TimeSpan For(RetentionKind kind) => kind switch
    {
        RetentionKind.InstallationTokens => InstallationTokens,
        RetentionKind.AuthorizationCodes => AuthorizationCodes,
        RetentionKind.AccessTokens => AccessTokens,
        RetentionKind.AdminTokens => AdminTokens,
        RetentionKind.AuditEntries => AuditEntries,
        RetentionKind.UsageHours => UsageHours,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}

public sealed class RetentionOptionsValidation : IValidateOptions<RetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RetentionOptions options)
    {
        var failures = new List<string>();
        if (Enum.GetValues<RetentionKind>().Any(kind => options.For(kind) <= TimeSpan.Zero) || options.Interval <= TimeSpan.Zero)
        {
            failures.Add("Retention: every retention and the interval must be positive.");
        }
        if (options.AuditEntries < RetentionOptions.MinimumAuditRetention)
        {
            failures.Add("Retention:AuditEntries must be at least 30 days.");
        }
        if (options.BatchSize is < 1 or > 10_000)
        {
            failures.Add("Retention:BatchSize must be between 1 and 10000.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// Removes ended rows of every kind after its retention, a batch per transaction, until a batch comes
/// back short. Every instance runs it: each batch is a conditional DELETE, so instances that meet on
/// the same rows delete each once between them and count it once (<c>broker.retention.rows_removed</c>).
/// A removed code or token is then unknown, which every endpoint refuses as it refuses a wrong one.
/// </summary>
public sealed class RetentionJob : BackgroundService
{
    private readonly IRetentionStore store;
    private readonly IOptions<RetentionOptions> options;
    private readonly TimeProvider time;
    private readonly ILogger<RetentionJob> logger;
    private readonly BrokerTelemetry telemetry;

    public RetentionJob(IRetentionStore store, IOptions<RetentionOptions> options, TimeProvider time, ILogger<RetentionJob> logger, BrokerTelemetry telemetry)
    {
        this.store = store;
        this.options = options;
        this.time = time;
        this.logger = logger;
        this.telemetry = telemetry;
    }

    /// <summary>The <c>kind</c> tag of each kind, snake_case as OpenTelemetry's conventions have it.</summary>
    public static string Tag(RetentionKind kind) => kind switch
    {
        RetentionKind.InstallationTokens => "installation_token",
        RetentionKind.AuthorizationCodes => "authorization_code",
        RetentionKind.AccessTokens => "access_token",
        RetentionKind.AdminTokens => "admin_token",
        RetentionKind.AuditEntries => "audit_entry",
        RetentionKind.UsageHours => "usage_hour",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>One pass over every kind; how many rows of each it removed.</summary>
    public async Task<IReadOnlyDictionary<RetentionKind, long>> RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var removed = new Dictionary<RetentionKind, long>();
        foreach (var kind in Enum.GetValues<RetentionKind>())
        {
            var before = now - settings.For(kind);
            var total = 0L;
            int batch;
            do
            {
                batch = await store.RemoveAsync(kind, before, settings.BatchSize, cancellationToken);
                total += batch;
                if (batch > 0)
                {
                    telemetry.RowsRemoved(Tag(kind), batch);
                }
            }
            // Until a batch finds nothing: a kind's batch may stop short of the size and still leave rows (usage
            // hours are removed an hour at a time).
            while (batch > 0);
            removed[kind] = total;
        }
        return removed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var removed = await RunOnceAsync(stoppingToken);
                if (removed.Values.Sum() > 0)
                {
                    logger.LogInformation("Retention removed {Removed} rows", string.Join(", ", removed.Select(pair => $"{Tag(pair.Key)}={pair.Value}")));
                }
            }
            catch (Exception exception) when (exception is DbException or DatabaseUnavailableException)
            {
                // What a pass left is still there at the next; nothing here is urgent.
                logger.LogWarning(exception, "A retention pass failed; the next one continues");
            }
        }
    }

}

public static class RetentionSetup
{
    /// <summary>The retention job and its options, checked at start.</summary>
    public static IServiceCollection AddRetention(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RetentionOptions>().Bind(configuration.GetSection(RetentionOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RetentionOptions>, RetentionOptionsValidation>();
        services.AddSingleton<RetentionJob>();
        services.AddHostedService(provider => provider.GetRequiredService<RetentionJob>());
        return services;
    }
}
