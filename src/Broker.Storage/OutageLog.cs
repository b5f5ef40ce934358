using Microsoft.Extensions.Logging;

namespace Broker.Storage;

/// <summary>
/// Logs a database outage once, as a warning when it starts and as information when it ends, instead of
/// an error with a stack trace for every request it fails: an outage is expected, and a log line per
/// request would bury its start and end.
/// </summary>
/// <remarks>
/// A lock held elsewhere fails writes while reads still succeed, so a success ends the outage only
/// when no operation has failed for <paramref name="quietPeriod"/>: operations that alternate must not
/// log an outage per request either.
/// </remarks>
internal sealed class OutageLog(ILogger logger, TimeSpan quietPeriod)
{
    private readonly long quietTicks = Math.Max(1, (long)(quietPeriod.TotalSeconds * TimeProvider.System.TimestampFrequency));
    private int down;
    private long lastFailure;

    /// <summary>Whether an outage has begun and not yet ended.</summary>
    public bool IsDown => Volatile.Read(ref down) == 1;

    public void Failed(Exception exception)
    {
        Volatile.Write(ref lastFailure, TimeProvider.System.GetTimestamp());
        if (Interlocked.Exchange(ref down, 1) == 0)
        {
            logger.LogWarning("The database is unavailable ({Reason}); requests that need it answer 503 with Retry-After until it is back.",
                Reason(exception));
        }
    }

    public void Succeeded()
    {
        if (Volatile.Read(ref down) == 0
            || TimeProvider.System.GetTimestamp() - Volatile.Read(ref lastFailure) < quietTicks
            || Interlocked.Exchange(ref down, 0) == 0)
        {
            return;
        }
        logger.LogInformation("The database is available again.");
    }

    // The chain of messages without stack traces: what an operator needs to tell a lock from a stopped server.
    private static string Reason(Exception exception)
    {
        var reasons = new List<string>();
        for (Exception? current = exception; current is not null && reasons.Count < 4; current = current.InnerException)
        {
            reasons.Add($"{current.GetType().Name}: {current.Message}");
        }
        return string.Join(" <- ", reasons);
    }
}
