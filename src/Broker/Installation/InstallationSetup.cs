using Broker.Hosting;
using Broker.Http;

namespace Broker.Installation;

public static class InstallationSetup
{
    /// <summary>
    /// The spends of installation tokens under way and the purge of expired codes and tokens; the flow's
    /// options and throttles are shared (<see cref="SharedServices"/>).
    /// </summary>
    public static IServiceCollection AddInstallation(this IServiceCollection services)
    {
        services.AddSingleton<IInFlightSpends>(provider => provider.GetRequiredService<RedisConnection>().IsConfigured
            ? new RedisInFlightSpends(provider.GetRequiredService<RedisLimitCalls>())
            : new InProcessInFlightSpends());
        services.AddSingleton<ISignInPurposes, PendingAuthorizations>();
        services.AddSingleton<ExpiredGrantCleanup>();
        services.AddHostedService(provider => provider.GetRequiredService<ExpiredGrantCleanup>());
        return services;
    }

    public static IEndpointRouteBuilder MapInstallation(this IEndpointRouteBuilder routes) =>
        routes.MapAuthorize().MapToken().MapClients();
}
