using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests;

/// <summary>
/// One broker's measurements of one instrument, by the value of one tag: a counter's are summed, a gauge
/// keeps the last one observed (<see cref="Observe"/>). Only this broker's: the meter's scope is its meter factory.
/// </summary>
public sealed class BrokerMetrics : IDisposable
{
    private readonly MeterListener listener = new();

    public BrokerMetrics(IServiceProvider services, string instrumentName, string? tagKey = null)
    {
        var meters = services.GetRequiredService<IMeterFactory>();
        listener.InstrumentPublished = (instrument, meterListener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Name == instrumentName)
            {
                meterListener.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags, tagKey));
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags, tagKey));
        listener.Start();
    }

    /// <summary>Sums (counters) or last values (gauges) by tag value; an untagged measurement is under "".</summary>
    public Dictionary<string, long> ByKind { get; } = new(StringComparer.Ordinal);

    /// <summary>Asks observable instruments (gauges) for their value now.</summary>
    public void Observe() => listener.RecordObservableInstruments();

    private void Record(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, string? tagKey)
    {
        var key = "";
        foreach (var tag in tags)
        {
            if (tag.Key == tagKey)
            {
                key = tag.Value?.ToString() ?? "";
            }
        }
        lock (ByKind)
        {
            ByKind[key] = instrument.IsObservable ? value : ByKind.GetValueOrDefault(key) + value;
        }
    }

    public void Dispose() => listener.Dispose();
}
