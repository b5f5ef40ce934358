using Broker.Core.Accounts;
using Broker.Core.Platform;
using Microsoft.Extensions.Options;

namespace Broker.Console;

/// <summary>The <c>Console</c> section: who the platform team is, and how long a console session lasts.</summary>
public sealed class ConsoleOptions
{
    public const string Section = "Console";

    /// <summary>The platform team's local accounts: an account's e-mail and the admin scopes it holds in the console.</summary>
    public List<ConsoleAdministrator> Administrators { get; set; } = [];

    /// <summary>A console session ends after this long without a request.</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The scopes the account with <paramref name="normalizedEmail"/> holds (none: not of the platform team).</summary>
    public IReadOnlySet<string> ScopesOf(string normalizedEmail) =>
        Administrators.Where(administrator => AccountRules.Normalize(administrator.Email) == normalizedEmail)
            .SelectMany(administrator => administrator.Scopes)
            .ToHashSet(StringComparer.Ordinal);
}

public sealed class ConsoleAdministrator
{
    public string Email { get; set; } = "";

    public List<string> Scopes { get; set; } = [];
}

internal sealed class ConsoleOptionsValidation : IValidateOptions<ConsoleOptions>
{
    public ValidateOptionsResult Validate(string? name, ConsoleOptions options)
    {
        var failures = new List<string>();
        // A session longer than a working day left open on a shared machine is a session someone else uses.
        if (options.SessionTimeout < TimeSpan.FromMinutes(1) || options.SessionTimeout > TimeSpan.FromHours(12))
        {
            failures.Add("Console:SessionTimeout must be between 00:01:00 and 12:00:00.");
        }
        foreach (var administrator in options.Administrators)
        {
            // Reject entries that could never sign in, and unknown scopes (likely typos).
            if (AccountRules.EmailProblem(administrator.Email) is { } emailProblem)
            {
                failures.Add($"Console:Administrators: '{administrator.Email}': {emailProblem}.");
            }
            if (AdminScopes.Problem(administrator.Scopes) is { } scopeProblem)
            {
                failures.Add($"Console:Administrators: '{administrator.Email}': {scopeProblem}.");
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
