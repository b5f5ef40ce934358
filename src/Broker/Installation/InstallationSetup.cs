using Broker.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Installation;

public static class InstallationSetup
{
    /// <summary>Options, throttles and time for the installation flow.</summary>
    public static IServiceCollection AddInstallation(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BrokerOptions>().Bind(configuration.GetSection(BrokerOptions.Section)).ValidateOnStart();
        services.AddOptions<InstallationOptions>().Bind(configuration.GetSection(InstallationOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BrokerOptions>, BrokerOptionsValidation>();
        services.AddSingleton<IValidateOptions<InstallationOptions>, BrokerOptionsValidation>();
        services.AddSingleton<IValidateOptions<AccountOptions>, BrokerOptionsValidation>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(provider =>
        {
            var accounts = provider.GetRequiredService<IOptions<AccountOptions>>().Value;
            var installation = provider.GetRequiredService<IOptions<InstallationOptions>>().Value;
            return new Throttles(
                new KeyedThrottle(accounts.FailedLoginsPerAccount, accounts.FailedLoginWindow),
                new KeyedThrottle(accounts.FailedLoginsPerAddress, accounts.FailedLoginWindow),
                new KeyedThrottle(installation.FailedClientAuthenticationsPerWindow, installation.FailedClientAuthenticationWindow));
        });
        services.AddSingleton<Pages.ISignInPurposes, PendingAuthorizations>();
        services.AddSingleton<ExpiredGrantCleanup>();
        services.AddHostedService(provider => provider.GetRequiredService<ExpiredGrantCleanup>());
        return services;
    }

    public static IEndpointRouteBuilder MapInstallation(this IEndpointRouteBuilder routes) =>
        routes.MapAuthorize().MapToken().MapClients();
}
