using Broker.Storage;
using Npgsql;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Broker.Hosting;

/// <summary>The <c>Telemetry</c> section: the Prometheus scrape endpoint (off unless set).</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Serve the metrics for a Prometheus scrape at <see cref="PrometheusPath"/>.</summary>
    public bool Prometheus { get; set; }

    public string PrometheusPath { get; set; } = "/metrics";
}

/// <summary>
/// OpenTelemetry, off by default: metrics are collected when the scrape endpoint is on
/// (<c>Telemetry:Prometheus</c>) or an OTLP endpoint is set (the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
/// variables, read by the exporter itself); traces when an OTLP endpoint is set. With neither, no
/// provider exists, nothing listens, and every instrument is disabled: the gate pays one branch.
/// </summary>
public static class TelemetrySetup
{
    /// <summary>The activity sources the broker's traces hold besides the instrumentation's own.</summary>
    public static readonly string[] Sources = [BrokerTelemetry.SourceName, Database.Source.Name];

    private static readonly string[] OtlpVariables =
        ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"];

    public static IServiceCollection AddTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TelemetryOptions>().Bind(configuration.GetSection(TelemetryOptions.Section))
            .Validate(options => options.PrometheusPath.StartsWith('/') && options.PrometheusPath.Length > 1,
                "Telemetry:PrometheusPath must be a path such as /metrics.")
            .ValidateOnStart();
        services.AddSingleton<BrokerTelemetry>();
        // What to collect is said once, whoever turns a provider on (the exporters below, or a test's
        // in-memory exporter): these run only when a provider is built.
        services.ConfigureOpenTelemetryMeterProvider(Collect);
        services.ConfigureOpenTelemetryTracerProvider(Trace);

        var prometheus = configuration.GetValue<bool>($"{TelemetryOptions.Section}:{nameof(TelemetryOptions.Prometheus)}");
        var otlp = OtlpVariables.Any(name => !string.IsNullOrWhiteSpace(configuration[name]));
        if (!prometheus && !otlp)
        {
            return services;
        }
        var telemetry = services.AddOpenTelemetry();
        telemetry.WithMetrics(metrics =>
        {
            if (prometheus)
            {
                metrics.AddPrometheusExporter();
            }
            if (otlp)
            {
                metrics.AddOtlpExporter();
            }
        });
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing.AddOtlpExporter());
        }
        return services;
    }

    /// <summary>The broker's meter, ASP.NET Core's and Kestrel's, outgoing HTTP (the upstream), the runtime, Npgsql.</summary>
    private static void Collect(MeterProviderBuilder metrics) =>
        metrics
            .ConfigureResource(Describe)
            .AddMeter(BrokerTelemetry.MeterName)
            .AddAspNetCoreInstrumentation()
            .AddHttpClientInstrumentation()
            .AddRuntimeInstrumentation()
            .AddNpgsqlInstrumentation();

    /// <summary>
    /// Incoming requests, the broker's own spans, the database (each store operation; Npgsql's and
    /// SqlClient's commands), Redis commands and outgoing HTTP. Query strings are redacted by the
    /// instrumentation and no span of the broker's carries a secret, code, token or child key.
    /// </summary>
    private static void Trace(TracerProviderBuilder tracing) =>
        tracing
            .ConfigureResource(Describe)
            .AddSource(Sources)
            .AddAspNetCoreInstrumentation(options => options.Filter = context => !IsProbe(context))
            .AddHttpClientInstrumentation()
            .AddNpgsql()
            .AddSqlClientInstrumentation()
            .AddRedisInstrumentation()
            .ConfigureRedisInstrumentation((provider, redis) =>
            {
                var connection = provider.GetRequiredService<RedisConnection>();
                if (connection.IsConfigured)
                {
                    connection.WhenConnected(multiplexer => redis.AddConnection(multiplexer));
                }
            });

    // OTEL_SERVICE_NAME, the standard variable, names the service when set.
    private static void Describe(ResourceBuilder resource) =>
        resource.AddService(
            serviceName: Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") is { Length: > 0 } name ? name : "broker",
            serviceVersion: typeof(TelemetrySetup).Assembly.GetName().Version?.ToString());

    // Health probes and scrapes come every few seconds and say nothing about a request path.
    private static bool IsProbe(HttpContext context)
    {
        var path = context.Request.Path;
        return path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz")
            || path.StartsWithSegments(context.RequestServices.GetRequiredService<IOptions<TelemetryOptions>>().Value.PrometheusPath);
    }
}
