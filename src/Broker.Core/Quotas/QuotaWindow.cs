namespace Broker.Core.Quotas;

/// <summary>
/// The hourly quota window: fixed and aligned to the UTC clock hour, [hh:00:00, hh+1:00:00). Every
/// instance computes the same window from its own clock, so instances sharing a counter agree on it
/// without talking to each other (their clocks must be kept in step, as NTP does).
/// </summary>
public readonly record struct QuotaWindow(long Index)
{
    public static readonly TimeSpan Length = TimeSpan.FromHours(1);

    private static readonly long LengthMilliseconds = (long)Length.TotalMilliseconds;

    public static QuotaWindow At(DateTimeOffset now) => new(now.ToUnixTimeMilliseconds() / LengthMilliseconds);

    public DateTimeOffset Start => DateTimeOffset.FromUnixTimeMilliseconds(Index * LengthMilliseconds);

    public DateTimeOffset End => DateTimeOffset.FromUnixTimeMilliseconds((Index + 1) * LengthMilliseconds);

    /// <summary>Time left in the window at <paramref name="now"/>; never zero, so a Retry-After is always at least a moment.</summary>
    public TimeSpan RemainingAt(DateTimeOffset now)
    {
        var left = End - now;
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }
}
