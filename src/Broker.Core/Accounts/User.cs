namespace Broker.Core.Accounts;

/// <summary>A site owner's account.</summary>
public sealed record User
{
    public required string UserId { get; init; }

    /// <summary>As typed at sign-up.</summary>
    public required string Email { get; init; }

    /// <summary>Lower-cased e-mail, unique.</summary>
    public required string NormalizedEmail { get; init; }

    /// <summary>ASP.NET Core Identity <c>PasswordHasher</c> output.</summary>
    public required string PasswordHash { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? DisabledAt { get; init; }
}

public static class AccountRules
{
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = 1024;
    public const int MaxEmailLength = 254;

    public static string Normalize(string email) => email.Trim().ToLowerInvariant();

    /// <summary>Why an e-mail address is not acceptable, or null.</summary>
    public static string? EmailProblem(string? email)
    {
        // Reject missing, over-long and obviously malformed addresses; deliverability is not checked.
        if (string.IsNullOrWhiteSpace(email))
        {
            return "Email is required.";
        }
        var trimmed = email.Trim();
        if (trimmed.Length > MaxEmailLength)
        {
            return $"Email must be at most {MaxEmailLength} characters.";
        }
        var at = trimmed.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at != trimmed.LastIndexOf('@') || at == trimmed.Length - 1
            || trimmed.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            return "Email must be an address like name@example.com.";
        }
        return null;
    }

    /// <summary>Why a new password is not acceptable, or null.</summary>
    public static string? PasswordProblem(string? password)
    {
        // Reject short passwords (NIST SP 800-63B's minimum) and absurdly long ones (hashing cost).
        if (string.IsNullOrEmpty(password) || password.Length < MinPasswordLength)
        {
            return $"Password must be at least {MinPasswordLength} characters.";
        }
        if (password.Length > MaxPasswordLength)
        {
            return $"Password must be at most {MaxPasswordLength} characters.";
        }
        return null;
    }
}
