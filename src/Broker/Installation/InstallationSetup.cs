using Broker.Hosting;
using Broker.Http;

namespace Broker.Installation;

public static class InstallationSetup
{
    /// <summary>
    /// The spends of installation tokens under way (in Redis when it is configured) and JWT access tokens; the
    /// flow's options and throttles are shared (<see cref="SharedServices"/>), its ended codes and tokens
    /// removed by the retention job.
    /// </summary>
    public static IServiceCollection AddInstallation(this IServiceCollection services)
    {
        services.AddSingleton<IInFlightSpends>(provider => provider.GetRequiredService<RedisConnection>().IsConfigured
            ? new RedisInFlightSpends(provider.GetRequiredService<RedisLimitCalls>())
            : new InProcessInFlightSpends());
        services.AddSingleton<ISignInPurposes, PendingAuthorizations>();
        services.AddSingleton<JwtAccessTokens>();
        return services;
    }

    public static IEndpointRouteBuilder MapInstallation(this IEndpointRouteBuilder routes) =>
        routes.MapAuthorize().MapToken().MapClients();
}
