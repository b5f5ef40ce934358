using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>
/// What several features use, registered once by Program.cs (and, for what it needs, the command line)
/// before the features' own Add… calls, so that no feature registers another's pieces.
/// </summary>
public static class SharedServices
{
    /// <summary>The option sections several features read, each checked at start, and the clock.</summary>
    public static IServiceCollection AddSharedOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BrokerOptions>().Bind(configuration.GetSection(BrokerOptions.Section)).ValidateOnStart();
        services.AddOptions<InstallationOptions>().Bind(configuration.GetSection(InstallationOptions.Section)).ValidateOnStart();
        services.AddOptions<AccountOptions>().Bind(configuration.GetSection(AccountOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BrokerOptions>, BrokerOptionsValidation>();
        services.AddSingleton<IValidateOptions<InstallationOptions>, BrokerOptionsValidation>();
        services.AddSingleton<IValidateOptions<AccountOptions>, BrokerOptionsValidation>();
        services.AddOptions<RegistrationOptions>().Bind(configuration.GetSection(RegistrationOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RegistrationOptions>, RegistrationOptionsValidation>();
        services.AddOptions<PlatformOptions>().Bind(configuration.GetSection(PlatformOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PlatformOptions>, PlatformOptionsValidation>();
        services.AddOptions<TokenOptions>().Bind(configuration.GetSection(TokenOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TokenOptions>, TokenOptionsValidation>();
        services.AddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary>
    /// Admin authentication, last-use recording and usage counts, the tenant's flags, the sign-in and
    /// client-authentication throttles, and the keys that sign JWT access tokens (the token endpoint
    /// signs, discovery publishes).
    /// </summary>
    public static IServiceCollection AddSharedServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddAdminAuthentication(configuration);
        services.AddSingleton<UsageRecorder>();
        services.AddHostedService(provider => provider.GetRequiredService<UsageRecorder>());
        services.AddSingleton<PasswordSignIn>();
        services.AddSingleton<UsageCounter>();
        services.AddHostedService(provider => provider.GetRequiredService<UsageCounter>());
        services.AddMemoryCache();
        services.AddSingleton<TenantSettings>();
        services.AddSingleton<SigningKeys>();
        services.AddSingleton(provider =>
        {
            var store = provider.GetRequiredService<IThrottleStore>();
            var accounts = provider.GetRequiredService<IOptions<AccountOptions>>().Value;
            var installation = provider.GetRequiredService<IOptions<InstallationOptions>>().Value;
            return new Throttles(
                store.Create("failed-logins-per-account", accounts.FailedLoginsPerAccount, accounts.FailedLoginWindow),
                store.Create("failed-logins-per-address", accounts.FailedLoginsPerAddress, accounts.FailedLoginWindow),
                store.Create("failed-client-authentications", installation.FailedClientAuthenticationsPerWindow, installation.FailedClientAuthenticationWindow));
        });
        return services;
    }
}
