using Broker.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Gateway;

/// <summary>
/// The gateway: configured routes, gated by each child's key, whitelist and hourly quota, then
/// forwarded to the upstream API, or answered by the built-in demo API when none is configured.
/// </summary>
public static class GatewayEndpoints
{
    public static IServiceCollection AddGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GatewayOptions>().Bind(configuration.GetSection(GatewayOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidation>();
        services.AddSingleton<ClientCache>();
        services.AddHostedService<HotKeyRefresher>();
        // What a whitelist may offer, for the pages that edit one.
        services.AddSingleton(provider => new GatewayRoutes(provider.GetRequiredService<IOptions<GatewayOptions>>().Value.EffectiveRoutes));
        services.AddSingleton<Gate>();
        services.AddSingleton<QuotaLimiter>(provider => provider.GetRequiredService<IOptions<GatewayOptions>>().Value.UsesRedis
            ? ActivatorUtilities.CreateInstance<RedisQuotaLimiter>(provider)
            : ActivatorUtilities.CreateInstance<MemoryQuotaLimiter>(provider));
        services.AddHttpForwarder();
        services.AddSingleton<GatewayForwarding>();
        return services;
    }

    private const string GateInPipeline = "Broker.Gateway.GateInPipeline";

    /// <summary>
    /// The gate: for a gateway route it decides the call and, when admitted, runs the route's endpoint
    /// itself. Put it after the pipeline-wide protections and before authentication: a gated call is
    /// authenticated by its key and needs nothing that serves the broker's own pages and APIs.
    /// </summary>
    public static WebApplication UseGate(this WebApplication app)
    {
        app.UseMiddleware<GateMiddleware>();
        ((IApplicationBuilder)app).Properties[GateInPipeline] = true;
        return app;
    }

    /// <summary>The routes: forwarded when an upstream is set, the demo API otherwise.</summary>
    public static WebApplication MapGateway(this WebApplication app)
    {
        // Refuse to map ungated routes: without the gate they would be open to anyone.
        if (!((IApplicationBuilder)app).Properties.ContainsKey(GateInPipeline))
        {
            throw new InvalidOperationException("app.UseGate() must come before app.MapGateway()");
        }
        var options = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var patterns = GatewayForwarding.Patterns(options);
        if (string.IsNullOrWhiteSpace(options.Upstream))
        {
            app.MapDemoApi(patterns, gated: true);
        }
        else
        {
            var forwarding = app.Services.GetRequiredService<GatewayForwarding>();
            foreach (var pattern in patterns)
            {
                app.MapMethods(GatewayForwarding.Template(pattern), GatewayForwarding.Methods(pattern), (RequestDelegate)forwarding.ForwardAsync)
                    .WithMetadata(GatedEndpoint.Instance);
            }
        }
        if (!string.IsNullOrEmpty(options.UngatedDemoPrefix))
        {
            app.MapGroup(options.UngatedDemoPrefix).MapDemoApi(patterns, gated: false);
        }
        return app;
    }
}
