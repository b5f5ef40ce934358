namespace Broker.Core.Platform;

/// <summary>What the gate did with one call of an installation, as the usage counts keep it.</summary>
public enum UsageOutcome
{
    Admitted,
    NotWhitelisted,
    QuotaSpent,
    Unavailable,
}

/// <summary>
/// One installation's calls in one UTC clock hour (the quota's window), by outcome. The gateway adds
/// to these in memory and writes the sums every few seconds: one row per installation and hour, never
/// one per call.
/// </summary>
public sealed record UsageHour
{
    public required string ClientId { get; init; }

    public required string ParentClientId { get; init; }

    /// <summary>The start of the hour.</summary>
    public required DateTimeOffset Hour { get; init; }

    public long Admitted { get; init; }

    public long NotWhitelisted { get; init; }

    public long QuotaSpent { get; init; }

    public long Unavailable { get; init; }

    /// <summary>The start of the UTC clock hour <paramref name="at"/> falls in.</summary>
    public static DateTimeOffset HourOf(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    /// <summary>This hour's counts plus <paramref name="other"/>'s.</summary>
    public UsageHour Plus(UsageHour other) => this with
    {
        Admitted = Admitted + other.Admitted,
        NotWhitelisted = NotWhitelisted + other.NotWhitelisted,
        QuotaSpent = QuotaSpent + other.QuotaSpent,
        Unavailable = Unavailable + other.Unavailable,
    };
}

/// <summary>Whose usage a query sums: one installation's, or all of one parent's installations'.</summary>
public sealed record UsageScope(string? ParentClientId, string? ClientId)
{
    public static UsageScope OfParent(string parentClientId) => new(parentClientId, null);

    public static UsageScope OfInstallation(string clientId) => new(null, clientId);
}
