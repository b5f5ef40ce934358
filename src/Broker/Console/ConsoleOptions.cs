using Broker.Core.Platform;
using Broker.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Console;

/// <summary>The <c>Console</c> section: who the platform team is, how they sign in, and how long a console session lasts.</summary>
public sealed class ConsoleOptions
{
    public const string Section = "Console";

    /// <summary>
    /// The platform team's local accounts: an account's user id (printed by <c>users create</c>) and the admin
    /// scopes it holds in the console. Matched by user id only: anyone may join with any e-mail address.
    /// </summary>
    public List<ConsoleAdministrator> Administrators { get; set; } = [];

    /// <summary>
    /// The platform team may also sign in with Microsoft Entra ID (OpenID Connect, the <c>AzureAd</c> section's
    /// app registration with a client secret); their app roles grant the scopes, as on the admin API. Off by
    /// default: an <c>AzureAd</c> section alone only lets the admin API accept Entra bearer tokens.
    /// </summary>
    public bool EntraId { get; set; }

    /// <summary>A console session ends after this long without a request.</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The scopes the account with <paramref name="userId"/> holds (none: not of the platform team).</summary>
    public IReadOnlySet<string> ScopesOf(string userId) =>
        Administrators.Where(administrator => string.Equals(administrator.UserId?.Trim(), userId, StringComparison.Ordinal))
            .SelectMany(administrator => administrator.Scopes)
            .ToHashSet(StringComparer.Ordinal);
}

public sealed class ConsoleAdministrator
{
    /// <summary>The account's user id: the only thing an entry is matched by.</summary>
    public string UserId { get; set; } = "";

    /// <summary>A label for whoever reads the configuration; never used to match an account.</summary>
    public string? Email { get; set; }

    public List<string> Scopes { get; set; } = [];
}

internal sealed class ConsoleOptionsValidation(IConfiguration configuration) : IValidateOptions<ConsoleOptions>
{
    // Tenant values that let any organisation's users in: their own administrators could assign them our app roles.
    // The names, and the consumers tenant (personal Microsoft accounts) by its fixed id.
    private static readonly string[] SharedTenants = ["common", "organizations", "consumers", "9188040d-6c67-4c5b-b112-36a304b66dad"];

    public ValidateOptionsResult Validate(string? name, ConsoleOptions options)
    {
        var failures = new List<string>();
        // A session longer than a working day left open on a shared machine is a session someone else uses.
        if (options.SessionTimeout < TimeSpan.FromMinutes(1) || options.SessionTimeout > TimeSpan.FromHours(12))
        {
            failures.Add("Console:SessionTimeout must be between 00:01:00 and 12:00:00.");
        }
        for (var index = 0; index < options.Administrators.Count; index++)
        {
            // Reject entries that could never sign in, and unknown scopes (likely typos). An entry is an
            // account's user id: an e-mail address is whatever someone typed at /account/join.
            var administrator = options.Administrators[index];
            var entry = $"Console:Administrators:{index}" + (string.IsNullOrWhiteSpace(administrator.Email) ? "" : $" ({administrator.Email})");
            if (string.IsNullOrWhiteSpace(administrator.UserId))
            {
                failures.Add($"{entry}: UserId is required (the id `users create` prints); an e-mail address is not matched.");
            }
            if (AdminScopes.Problem(administrator.Scopes) is { } scopeProblem)
            {
                failures.Add($"{entry}: {scopeProblem}.");
            }
        }
        if (options.EntraId)
        {
            // Reject an Entra sign-in that could not redeem a code, or that a foreign tenant's users could pass.
            var entra = configuration.GetSection(AdminAuthentication.EntraSection);
            if (string.IsNullOrWhiteSpace(entra["ClientId"]) || string.IsNullOrWhiteSpace(entra["ClientSecret"]))
            {
                failures.Add($"Console:EntraId needs {AdminAuthentication.EntraSection}:ClientId and {AdminAuthentication.EntraSection}:ClientSecret (the app registration's id and a client secret).");
            }
            var tenant = entra["TenantId"];
            if (string.IsNullOrWhiteSpace(tenant) || SharedTenants.Contains(tenant.Trim(), StringComparer.OrdinalIgnoreCase))
            {
                failures.Add($"Console:EntraId needs {AdminAuthentication.EntraSection}:TenantId to name your tenant (not common, organizations or consumers).");
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
