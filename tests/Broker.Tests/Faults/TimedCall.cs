using System.Diagnostics;

namespace Broker.Tests.Faults;

/// <summary>Times a call whose answer the broker promises within a bound (Storage:Timeout + 1 s, the readiness probe's 3 s + 1 s).</summary>
internal static class TimedCall
{
    /// <summary>The readiness probe waits 3 s at most for each dependency; a second more for the rest of the request.</summary>
    public static readonly TimeSpan ReadinessBound = TimeSpan.FromSeconds(3) + TimeSpan.FromSeconds(1);

    public static async Task<(T Result, TimeSpan Took)> RunAsync<T>(Func<Task<T>> call)
    {
        var clock = Stopwatch.StartNew();
        var result = await call();
        return (result, clock.Elapsed);
    }
}
