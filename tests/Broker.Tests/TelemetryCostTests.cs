using System.Diagnostics.Metrics;
using Broker.Hosting;
using Broker.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Broker.Tests;

/// <summary>
/// What the gate's recording costs per call, counted in bytes allocated (timings would be noise on a shared
/// machine): with an OpenTelemetry pipeline listening, recording a decision, a quota store latency and an
/// upstream answer allocates nothing once their series exist; with nothing listening, nothing either.
/// </summary>
[Collection(TelemetryRunsAlone.Name)]
public sealed class TelemetryCostTests
{
    private const int Calls = 10_000;

    [Fact]
    public void Recording_a_gated_call_allocates_nothing_per_call_with_metrics_on()
    {
        using var meters = new Meters();
        var exported = new List<MetricSnapshot>();
        using var provider = Sdk.CreateMeterProviderBuilder().AddMeter(BrokerTelemetry.MeterName).AddInMemoryExporter(exported).Build();
        var telemetry = Telemetry(meters);

        var perCall = BytesPerCall(telemetry);

        perCall.Should().Be(0);
        provider.ForceFlush().Should().BeTrue();
        exported.Should().Contain(metric => metric.Name == "broker.gateway.decisions", "the pipeline was listening");
    }

    [Fact]
    public void Recording_a_gated_call_allocates_nothing_with_metrics_off()
    {
        using var meters = new Meters();

        BytesPerCall(Telemetry(meters)).Should().Be(0);
    }

    private static long BytesPerCall(BrokerTelemetry telemetry)
    {
        var outcome = BrokerTelemetry.Outcome("admitted");
        var store = BrokerTelemetry.Store("memory");
        var parent = "Parent0000000000000000000001";
        void RecordOneCall()
        {
            telemetry.GateDecided(outcome, parent);
            telemetry.QuotaStoreDecided(telemetry.QuotaStoreStarting(), store);
            telemetry.UpstreamAnswered(telemetry.UpstreamStarting(), 200);
        }
        // The first call of a series makes it; only what follows is the steady state.
        RecordOneCall();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Calls; i++)
        {
            RecordOneCall();
        }
        return (GC.GetAllocatedBytesForCurrentThread() - before) / Calls;
    }

    private static BrokerTelemetry Telemetry(IMeterFactory meters) =>
        new(meters, NullLoggerFactory.Instance,
            new Database(new SqliteDialect(), $"Data Source={Path.Combine(Path.GetTempPath(), "broker-telemetry-cost.db")}"),
            new RedisConnection(Options.Create(new RedisOptions())));

    private sealed class Meters : IMeterFactory
    {
        private readonly List<Meter> made = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options);
            made.Add(meter);
            return meter;
        }

        public void Dispose() => made.ForEach(meter => meter.Dispose());
    }
}
