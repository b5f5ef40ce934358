namespace Broker.Management;

/// <summary>The admin scopes the management routes require (the platform team's admin tokens carry them).</summary>
public static class ManagementPolicies
{
    public const string ClientsRead = "clients:read";
    public const string ClientsWrite = "clients:write";
    public const string TenantWrite = "tenant:write";

    /// <summary>One policy per scope: the caller's principal must carry it as a <c>scope</c> claim.</summary>
    public static IServiceCollection AddManagementPolicies(this IServiceCollection services)
    {
        var authorization = services.AddAuthorizationBuilder();
        foreach (var scope in new[] { ClientsRead, ClientsWrite, TenantWrite })
        {
            authorization.AddPolicy(scope, policy => policy.RequireAuthenticatedUser().RequireClaim("scope", scope));
        }
        return services;
    }
}
