using Broker.Core.Accounts;
using Microsoft.AspNetCore.Identity;

namespace Broker.Hosting;

/// <summary>Site owners' accounts, created alike by the join page and by the administration (the command line, the demo seed).</summary>
public static class UserAccounts
{
    /// <summary>A new user with a hashed password.</summary>
    public static User New(string email, string password, IPasswordHasher<User> hasher, DateTimeOffset now)
    {
        var user = new User
        {
            UserId = Guid.CreateVersion7().ToString("N"),
            Email = email.Trim(),
            NormalizedEmail = AccountRules.Normalize(email),
            PasswordHash = "",
            CreatedAt = now,
        };
        return user with { PasswordHash = hasher.HashPassword(user, password) };
    }
}
