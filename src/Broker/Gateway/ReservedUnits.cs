namespace Broker.Gateway;

/// <summary>
/// Units of one child's quota for one window that this instance has reserved in Redis ahead of its calls
/// (<see cref="GatewayOptions.QuotaLeaseMax"/>), as places in the shared counter: a call admitted here takes
/// the next place, so its <c>X-Ratelimit-Remaining</c> is what it would have been in Redis. Reserved units
/// count in Redis from the moment they are reserved, so no instance admits past the quota; the price is that
/// units an instance holds are not available to the others until it uses them or gives them back.
/// </summary>
internal sealed class ReservedUnits
{
    private readonly Lock guard = new();
    // Places in the counter not handed out yet, oldest reservation first: (next, last), inclusive.
    private readonly List<(long Next, long Last)> places = [];
    private int want = 1;
    private long lastReserved;
    private long lastUsed;
    private bool retired;

    /// <summary>Takes the next reserved place, unless none is left or it lies past the child's (possibly lowered) limit.</summary>
    public bool TryTake(int limit, long now, out long place)
    {
        lock (guard)
        {
            place = 0;
            if (places.Count == 0)
            {
                return false;
            }
            var (next, last) = places[0];
            if (next > limit)
            {
                // The quota was lowered below what was reserved: those places stay counted, never used.
                places.Clear();
                return false;
            }
            place = next;
            if (next == last)
            {
                places.RemoveAt(0);
            }
            else
            {
                places[0] = (next + 1, last);
            }
            lastUsed = now;
            return true;
        }
    }

    /// <summary>
    /// How many units the next round trip asks for: twice the last while this child keeps using up what it
    /// reserved within <paramref name="hold"/>, one again once it slows down.
    /// </summary>
    public int NextWant(long now, TimeSpan hold, int max, TimeProvider time)
    {
        lock (guard)
        {
            want = lastReserved != 0 && time.GetElapsedTime(lastReserved, now) < hold ? Math.Min(want * 2, max) : 1;
            return want;
        }
    }

    /// <summary>Records a round trip's answer: the places it reserved beyond its own call, if any. False once retired.</summary>
    public bool TryAdd(long next, long last, long now)
    {
        lock (guard)
        {
            if (retired)
            {
                return false;
            }
            if (next <= last)
            {
                places.Add((next, last));
            }
            lastReserved = now;
            lastUsed = now;
            return true;
        }
    }

    /// <summary>
    /// When unused for <paramref name="hold"/> (or <paramref name="all"/>), retires this entry and gives up
    /// what it held: the count of units to hand back to Redis (null while still in use).
    /// </summary>
    public long? TryRetire(long now, TimeSpan hold, bool all, TimeProvider time)
    {
        lock (guard)
        {
            if (!all && time.GetElapsedTime(lastUsed, now) < hold)
            {
                return null;
            }
            retired = true;
            var units = places.Sum(range => range.Last - range.Next + 1);
            places.Clear();
            return units;
        }
    }
}
